package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"

	"github.com/fedmeter/fedmeter/chaincode/model"
)

// pagedBackend serves list transactions from tables, two items a page (the
// contract may return fewer than asked), with the page's index as its
// bookmark, and counts the pages it served. failAt makes the page of that
// function and bookmark fail.
type pagedBackend struct {
	lists  map[string][]model.Bill
	calls  map[string]int
	failAt map[string]string
}

func (p *pagedBackend) Submit(ctx context.Context, fn string, args ...string) ([]byte, error) {
	return nil, errors.New("read only")
}

func (p *pagedBackend) Evaluate(_ context.Context, fn string, args ...string) ([]byte, error) {
	p.calls[fn]++
	bookmark := args[len(args)-1]
	if at, ok := p.failAt[fn]; ok && at == bookmark {
		return nil, Errorf(KindLedger, "%s: the peer went away", fn)
	}
	i := 0
	if bookmark != "" {
		i, _ = strconv.Atoi(bookmark)
	}
	items := p.lists[fn]
	page := model.Page[model.Bill]{Items: items[i:min(i+2, len(items))]}
	if i+2 < len(items) {
		page.Bookmark = strconv.Itoa(i + 2)
	}
	page.Count = len(page.Items)
	return json.Marshal(page)
}

func (*pagedBackend) MSPID() string { return "Org1MSP" }
func (*pagedBackend) Close() error  { return nil }

func bill(id string, end int64) model.Bill {
	return model.Bill{ID: id, Period: model.Period{Start: end - 3600, End: end}}
}

func ids(bills []model.Bill) []string {
	var out []string
	for _, b := range bills {
		out = append(out, fmt.Sprintf("%s@%d", b.ID, b.Period.End))
	}
	return out
}

// TestBillsSeq: BillsSeq yields the bills an org issued and received merged
// by period end and then bill ID (ties across the two lists included),
// exactly as Bills returns them; it reads a page only when the loop asks
// for more, and an error ends it after the bills before it.
func TestBillsSeq(t *testing.T) {
	issued := []model.Bill{bill("a:000001", 100), bill("c:000001", 200), bill("a:000002", 300), bill("e:000001", 300), bill("a:000003", 500)}
	received := []model.Bill{bill("b:000001", 100), bill("d:000001", 300), bill("b:000002", 400)}
	want := []string{"a:000001@100", "b:000001@100", "c:000001@200", "a:000002@300", "d:000001@300", "e:000001@300", "b:000002@400", "a:000003@500"}
	newBackend := func() *pagedBackend {
		return &pagedBackend{lists: map[string][]model.Bill{"BillListByProvider": issued, "BillListByConsumer": received},
			calls: map[string]int{}, failAt: map[string]string{}}
	}
	ctx := context.Background()

	b := newBackend()
	c := New(b)
	got, err := c.Bills(ctx, BillFilter{})
	if err != nil || !slices.Equal(ids(got), want) {
		t.Fatalf("Bills = %v (%v), want %v", ids(got), err, want)
	}
	if b.calls["BillListByProvider"] != 3 || b.calls["BillListByConsumer"] != 2 {
		t.Fatalf("pages read: %v, want 3 and 2", b.calls)
	}
	for _, role := range []string{"provider", "consumer"} {
		got, err := c.Bills(ctx, BillFilter{Role: role})
		wantRole := issued
		if role == "consumer" {
			wantRole = received
		}
		if err != nil || !slices.Equal(ids(got), ids(wantRole)) {
			t.Errorf("Bills(%s) = %v (%v)", role, ids(got), err)
		}
	}

	// Stopping after four bills reads the first page of each list and
	// the second of the issued one, no more.
	b = newBackend()
	n := 0
	for _, err := range New(b).BillsSeq(ctx, BillFilter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 4 {
			break
		}
	}
	if b.calls["BillListByProvider"] != 2 || b.calls["BillListByConsumer"] != 1 {
		t.Fatalf("pages read after four bills: %v, want 2 and 1", b.calls)
	}

	// The received list's second page fails: the bills before it come
	// first, then the error, and Bills returns the error alone.
	b = newBackend()
	b.failAt["BillListByConsumer"] = "2"
	var before []model.Bill
	var last error
	for v, err := range New(b).BillsSeq(ctx, BillFilter{}) {
		if err != nil {
			last = err
			break
		}
		before = append(before, v)
	}
	if !slices.Equal(ids(before), want[:5]) || KindOf(last) != KindLedger {
		t.Fatalf("before the failure: %v, then %v", ids(before), last)
	}
	if got, err := New(b).Bills(ctx, BillFilter{}); got != nil || KindOf(err) != KindLedger {
		t.Fatalf("Bills with a failing page = %v, %v", ids(got), err)
	}

	if _, err := New(newBackend()).Bills(ctx, BillFilter{Role: "payer"}); KindOf(err) != KindInvalid {
		t.Fatalf("role payer: %v", err)
	}
}
