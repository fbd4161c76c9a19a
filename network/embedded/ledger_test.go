package embedded_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fedmeter/fedmeter/network/embedded"
	"github.com/fedmeter/fedmeter/network/msp"
	"github.com/hyperledger/fabric-chaincode-go/v2/pkg/cid"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"
)

// testContract is a tiny contractapi contract exercising the stub.
type testContract struct {
	contractapi.Contract
}

func (c *testContract) Put(ctx contractapi.TransactionContextInterface, key, value string) error {
	return ctx.GetStub().PutState(key, []byte(value))
}

func (c *testContract) Get(ctx contractapi.TransactionContextInterface, key string) (string, error) {
	v, err := ctx.GetStub().GetState(key)
	return string(v), err
}

func (c *testContract) Del(ctx contractapi.TransactionContextInterface, key string) error {
	return ctx.GetStub().DelState(key)
}

// PutPair writes two keys; the crash test relies on them appearing together.
func (c *testContract) PutPair(ctx contractapi.TransactionContextInterface, k1, k2, value string) error {
	if err := ctx.GetStub().PutState(k1, []byte(value)); err != nil {
		return err
	}
	return ctx.GetStub().PutState(k2, []byte(value))
}

func (c *testContract) PutThenFail(ctx contractapi.TransactionContextInterface, key, value string) error {
	if err := ctx.GetStub().PutState(key, []byte(value)); err != nil {
		return err
	}
	return fmt.Errorf("refusing %s", key)
}

func (c *testContract) Boom(ctx contractapi.TransactionContextInterface) error {
	_ = ctx.GetStub().PutState("boom", []byte("x"))
	panic("kaboom")
}

// ReadOwnWrite writes key then reads it back in the same transaction.
func (c *testContract) ReadOwnWrite(ctx contractapi.TransactionContextInterface, key, value string) (string, error) {
	if err := ctx.GetStub().PutState(key, []byte(value)); err != nil {
		return "", err
	}
	v, err := ctx.GetStub().GetState(key)
	return "saw:" + string(v), err
}

func (c *testContract) Range(ctx contractapi.TransactionContextInterface, start, end string) ([]string, error) {
	it, err := ctx.GetStub().GetStateByRange(start, end)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	out := []string{}
	for it.HasNext() {
		kv, err := it.Next()
		if err != nil {
			return nil, err
		}
		out = append(out, kv.Key+"="+string(kv.Value))
	}
	return out, nil
}

type Page struct {
	Keys     []string `json:"keys"`
	Bookmark string   `json:"bookmark"`
	Count    int32    `json:"count"`
}

func (c *testContract) RangePage(ctx contractapi.TransactionContextInterface, start, end string, size int, bookmark string) (*Page, error) {
	it, md, err := ctx.GetStub().GetStateByRangeWithPagination(start, end, int32(size), bookmark)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	p := &Page{Keys: []string{}, Bookmark: md.Bookmark, Count: md.FetchedRecordsCount}
	for it.HasNext() {
		kv, err := it.Next()
		if err != nil {
			return nil, err
		}
		p.Keys = append(p.Keys, kv.Key)
	}
	return p, nil
}

// PageThenPut tries a paginated query then a write: Fabric refuses this.
func (c *testContract) PageThenPut(ctx contractapi.TransactionContextInterface) error {
	if _, _, err := ctx.GetStub().GetStateByRangeWithPagination("", "", 1, ""); err != nil {
		return err
	}
	return ctx.GetStub().PutState("x", []byte("y"))
}

func (c *testContract) PutComposite(ctx contractapi.TransactionContextInterface, objectType, a, b, value string) error {
	k, err := ctx.GetStub().CreateCompositeKey(objectType, []string{a, b})
	if err != nil {
		return err
	}
	return ctx.GetStub().PutState(k, []byte(value))
}

func (c *testContract) ByPartial(ctx contractapi.TransactionContextInterface, objectType, a string) ([]string, error) {
	attrs := []string{}
	if a != "" {
		attrs = append(attrs, a)
	}
	it, err := ctx.GetStub().GetStateByPartialCompositeKey(objectType, attrs)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	out := []string{}
	for it.HasNext() {
		kv, err := it.Next()
		if err != nil {
			return nil, err
		}
		ot, parts, err := ctx.GetStub().SplitCompositeKey(kv.Key)
		if err != nil {
			return nil, err
		}
		out = append(out, ot+"/"+strings.Join(parts, "/")+"="+string(kv.Value))
	}
	return out, nil
}

func (c *testContract) PartialPage(ctx contractapi.TransactionContextInterface, objectType string, size int, bookmark string) (*Page, error) {
	it, md, err := ctx.GetStub().GetStateByPartialCompositeKeyWithPagination(objectType, []string{}, int32(size), bookmark)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	p := &Page{Keys: []string{}, Bookmark: md.Bookmark, Count: md.FetchedRecordsCount}
	for it.HasNext() {
		kv, err := it.Next()
		if err != nil {
			return nil, err
		}
		_, parts, _ := ctx.GetStub().SplitCompositeKey(kv.Key)
		p.Keys = append(p.Keys, strings.Join(parts, "/"))
	}
	return p, nil
}

type HistItem struct {
	TxID     string `json:"txid"`
	Value    string `json:"value"`
	IsDelete bool   `json:"isDelete"`
	Seconds  int64  `json:"seconds"`
}

func (c *testContract) History(ctx contractapi.TransactionContextInterface, key string) ([]HistItem, error) {
	it, err := ctx.GetStub().GetHistoryForKey(key)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	out := []HistItem{}
	for it.HasNext() {
		m, err := it.Next()
		if err != nil {
			return nil, err
		}
		out = append(out, HistItem{TxID: m.TxId, Value: string(m.Value), IsDelete: m.IsDelete, Seconds: m.Timestamp.GetSeconds()})
	}
	return out, nil
}

func (c *testContract) Emit(ctx contractapi.TransactionContextInterface, name, payload string) error {
	if err := ctx.GetStub().SetEvent("ignored", []byte("replaced")); err != nil {
		return err
	}
	return ctx.GetStub().SetEvent(name, []byte(payload))
}

// WhoAmI reports the caller as the contract's identity code sees it, both
// through contractapi's ClientIdentity and the cid package directly.
func (c *testContract) WhoAmI(ctx contractapi.TransactionContextInterface) (string, error) {
	mspID, err := ctx.GetClientIdentity().GetMSPID()
	if err != nil {
		return "", err
	}
	admin, err := cid.HasOUValue(ctx.GetStub(), "admin")
	if err != nil {
		return "", err
	}
	role, _, err := ctx.GetClientIdentity().GetAttributeValue(msp.RoleAttribute)
	if err != nil {
		return "", err
	}
	id, err := cid.GetID(ctx.GetStub())
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s admin=%v role=%s id=%t", mspID, admin, role, id != ""), nil
}

// TxInfo returns the tx ID, the timestamp, and what the signed proposal says.
func (c *testContract) TxInfo(ctx contractapi.TransactionContextInterface) (string, error) {
	stub := ctx.GetStub()
	// A write, so that the transaction gets a block (one that changes
	// nothing gets none).
	if err := stub.PutState("txinfo", []byte(stub.GetTxID())); err != nil {
		return "", err
	}
	ts, err := stub.GetTxTimestamp()
	if err != nil {
		return "", err
	}
	sp, err := stub.GetSignedProposal()
	if err != nil {
		return "", err
	}
	var prop peer.Proposal
	var hdr common.Header
	var chdr common.ChannelHeader
	if err := proto.Unmarshal(sp.ProposalBytes, &prop); err != nil {
		return "", err
	}
	if err := proto.Unmarshal(prop.Header, &hdr); err != nil {
		return "", err
	}
	if err := proto.Unmarshal(hdr.ChannelHeader, &chdr); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s %d %s %s %s", stub.GetTxID(), ts.AsTime().UnixNano(), chdr.TxId, chdr.ChannelId, stub.GetChannelID()), nil
}

func (c *testContract) Incr(ctx contractapi.TransactionContextInterface, key string) (int, error) {
	v, err := ctx.GetStub().GetState(key)
	if err != nil {
		return 0, err
	}
	n := 0
	if v != nil {
		if n, err = strconv.Atoi(string(v)); err != nil {
			return 0, err
		}
	}
	n++
	return n, ctx.GetStub().PutState(key, []byte(strconv.Itoa(n)))
}

func (c *testContract) Private(ctx contractapi.TransactionContextInterface) error {
	_, err := ctx.GetStub().GetPrivateData("coll", "k")
	return err
}

func newChaincode(t testing.TB) *contractapi.ContractChaincode {
	t.Helper()
	cc, err := contractapi.NewChaincode(&testContract{})
	if err != nil {
		t.Fatalf("NewChaincode: %v", err)
	}
	return cc
}

type fixture struct {
	l            *embedded.Ledger
	dir          string
	admin, agent *msp.Identity
	other        *msp.Identity
}

func newFixture(t testing.TB, opts embedded.Options) *fixture {
	t.Helper()
	ca, err := msp.NewCA("Org1MSP", "org1.example.com")
	if err != nil {
		t.Fatal(err)
	}
	admin, err := ca.Issue(msp.UserSpec{Name: "Admin", Role: msp.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	agent, err := ca.Issue(msp.UserSpec{Name: "agent1", Role: msp.RoleAgent})
	if err != nil {
		t.Fatal(err)
	}
	ca2, err := msp.NewCA("Org2MSP", "org2.example.com")
	if err != nil {
		t.Fatal(err)
	}
	other, err := ca2.Issue(msp.UserSpec{Name: "User1", Role: msp.RoleMember})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	opts.NoSync = true
	l, err := embedded.Open(dir, newChaincode(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return &fixture{l: l, dir: dir, admin: admin, agent: agent, other: other}
}

func (f *fixture) submit(t *testing.T, fn string, args ...string) *embedded.Result {
	t.Helper()
	r, err := f.l.Submit(context.Background(), f.admin, fn, args...)
	if err != nil {
		t.Fatalf("Submit %s %v: %v", fn, args, err)
	}
	return r
}

func (f *fixture) eval(t *testing.T, fn string, args ...string) string {
	t.Helper()
	b, err := f.l.Evaluate(context.Background(), f.admin, fn, args...)
	if err != nil {
		t.Fatalf("Evaluate %s %v: %v", fn, args, err)
	}
	return string(b)
}

func TestStub(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, f *fixture)
	}{
		{"put get delete", func(t *testing.T, f *fixture) {
			f.submit(t, "Put", "a", "1")
			if got := f.eval(t, "Get", "a"); got != "1" {
				t.Fatalf("Get a = %q", got)
			}
			f.submit(t, "Del", "a")
			if got := f.eval(t, "Get", "a"); got != "" {
				t.Fatalf("after delete Get a = %q", got)
			}
		}},
		{"empty value is a delete", func(t *testing.T, f *fixture) {
			f.submit(t, "Put", "a", "1")
			r := f.submit(t, "Put", "a", "")
			blk, err := f.l.Block(r.Block)
			if err != nil || len(blk.Writes) != 1 || !blk.Writes[0].IsDelete {
				t.Fatalf("block %+v err %v", blk, err)
			}
		}},
		{"error status rolls back", func(t *testing.T, f *fixture) {
			h0, _, _ := f.l.Height()
			_, err := f.l.Submit(context.Background(), f.admin, "PutThenFail", "x", "1")
			var ce *embedded.ChaincodeError
			if !errors.As(err, &ce) || !strings.Contains(ce.Message, "refusing x") || ce.Status != 500 {
				t.Fatalf("err = %v", err)
			}
			if got := f.eval(t, "Get", "x"); got != "" {
				t.Fatalf("failed tx wrote x=%q", got)
			}
			if h, _, _ := f.l.Height(); h != h0 {
				t.Fatalf("failed tx appended a block: %d -> %d", h0, h)
			}
		}},
		{"panic is an error, not a crash", func(t *testing.T, f *fixture) {
			_, err := f.l.Submit(context.Background(), f.admin, "Boom")
			if err == nil || !strings.Contains(err.Error(), "kaboom") {
				t.Fatalf("err = %v", err)
			}
			if got := f.eval(t, "Get", "boom"); got != "" {
				t.Fatal("panicking tx wrote state")
			}
		}},
		{"unknown function", func(t *testing.T, f *fixture) {
			if _, err := f.l.Submit(context.Background(), f.admin, "Nope"); err == nil {
				t.Fatal("expected error")
			}
		}},
		{"reads do not see own writes", func(t *testing.T, f *fixture) {
			f.submit(t, "Put", "k", "old")
			r := f.submit(t, "ReadOwnWrite", "k", "new")
			if string(r.Payload) != "saw:old" {
				t.Fatalf("payload %q, want saw:old (Fabric semantics)", r.Payload)
			}
			if got := f.eval(t, "Get", "k"); got != "new" {
				t.Fatalf("k = %q", got)
			}
		}},
		{"evaluate discards writes", func(t *testing.T, f *fixture) {
			f.eval(t, "Put", "q", "1")
			if got := f.eval(t, "Get", "q"); got != "" {
				t.Fatalf("evaluate wrote q=%q", got)
			}
		}},
		{"range", func(t *testing.T, f *fixture) {
			for _, k := range []string{"b", "a", "c", "d"} {
				f.submit(t, "Put", k, k+k)
			}
			f.submit(t, "PutComposite", "obj", "x", "y", "v")
			var got []string
			json.Unmarshal([]byte(f.eval(t, "Range", "b", "d")), &got)
			if strings.Join(got, ",") != "b=bb,c=cc" {
				t.Fatalf("range b..d = %v", got)
			}
			json.Unmarshal([]byte(f.eval(t, "Range", "", "")), &got)
			if strings.Join(got, ",") != "a=aa,b=bb,c=cc,d=dd" {
				t.Fatalf("full range = %v (composite keys must be excluded)", got)
			}
		}},
		{"range pagination bookmarks", func(t *testing.T, f *fixture) {
			for i := 0; i < 7; i++ {
				f.submit(t, "Put", fmt.Sprintf("k%d", i), "v")
			}
			var all []string
			bookmark := ""
			for pages := 0; ; pages++ {
				var p Page
				if err := json.Unmarshal([]byte(f.eval(t, "RangePage", "k", "l", "3", bookmark)), &p); err != nil {
					t.Fatal(err)
				}
				if int(p.Count) != len(p.Keys) {
					t.Fatalf("count %d != %d keys", p.Count, len(p.Keys))
				}
				all = append(all, p.Keys...)
				if p.Bookmark == "" {
					break
				}
				if pages > 5 {
					t.Fatal("pagination does not terminate")
				}
				bookmark = p.Bookmark
			}
			if strings.Join(all, ",") != "k0,k1,k2,k3,k4,k5,k6" {
				t.Fatalf("pages = %v", all)
			}
		}},
		{"paginated query then write refused", func(t *testing.T, f *fixture) {
			_, err := f.l.Submit(context.Background(), f.admin, "PageThenPut")
			if err == nil || !strings.Contains(err.Error(), "paginated") {
				t.Fatalf("err = %v", err)
			}
		}},
		{"composite keys", func(t *testing.T, f *fixture) {
			f.submit(t, "PutComposite", "usage", "org1", "r1", "10")
			f.submit(t, "PutComposite", "usage", "org1", "r2", "20")
			f.submit(t, "PutComposite", "usage", "org2", "r1", "30")
			f.submit(t, "PutComposite", "usagex", "org1", "r1", "40")
			var got []string
			json.Unmarshal([]byte(f.eval(t, "ByPartial", "usage", "org1")), &got)
			if strings.Join(got, ",") != "usage/org1/r1=10,usage/org1/r2=20" {
				t.Fatalf("partial usage/org1 = %v", got)
			}
			json.Unmarshal([]byte(f.eval(t, "ByPartial", "usage", "")), &got)
			if len(got) != 3 {
				t.Fatalf("partial usage = %v", got)
			}
			var p Page
			json.Unmarshal([]byte(f.eval(t, "PartialPage", "usage", "2", "")), &p)
			if strings.Join(p.Keys, ",") != "org1/r1,org1/r2" || p.Bookmark == "" {
				t.Fatalf("page 1 = %+v", p)
			}
			json.Unmarshal([]byte(f.eval(t, "PartialPage", "usage", "2", p.Bookmark)), &p)
			if strings.Join(p.Keys, ",") != "org2/r1" || p.Bookmark != "" {
				t.Fatalf("page 2 = %+v", p)
			}
		}},
		{"history newest first", func(t *testing.T, f *fixture) {
			r1 := f.submit(t, "Put", "h", "1")
			r2 := f.submit(t, "Put", "h", "2")
			r3 := f.submit(t, "Del", "h")
			f.submit(t, "Put", "hh", "other key")
			var got []HistItem
			if err := json.Unmarshal([]byte(f.eval(t, "History", "h")), &got); err != nil {
				t.Fatal(err)
			}
			if len(got) != 3 || got[0].TxID != r3.TxID || !got[0].IsDelete || got[1].TxID != r2.TxID || got[1].Value != "2" || got[2].TxID != r1.TxID || got[2].Value != "1" {
				t.Fatalf("history = %+v", got)
			}
			hist, err := f.l.History("h")
			if err != nil || len(hist) != 3 || hist[2].Block != r1.Block {
				t.Fatalf("ledger history = %+v, %v", hist, err)
			}
			if hist, _ := f.l.History("nope"); len(hist) != 0 {
				t.Fatalf("history of absent key = %+v", hist)
			}
		}},
		{"one event per tx, last wins", func(t *testing.T, f *fixture) {
			r := f.submit(t, "Emit", "UsageRecorded", `{"n":1}`)
			if len(r.Events) != 1 || r.Events[0].Name != "UsageRecorded" || string(r.Events[0].Payload) != `{"n":1}` {
				t.Fatalf("events = %+v", r.Events)
			}
			blk, _ := f.l.Block(r.Block)
			if len(blk.Events) != 1 || blk.Events[0].Name != "UsageRecorded" {
				t.Fatalf("block events = %+v", blk.Events)
			}
		}},
		{"creator identity via cid", func(t *testing.T, f *fixture) {
			if got := f.eval(t, "WhoAmI"); got != "Org1MSP admin=true role=admin id=true" {
				t.Fatalf("admin WhoAmI = %q", got)
			}
			b, err := f.l.Evaluate(context.Background(), f.agent, "WhoAmI")
			if err != nil || string(b) != "Org1MSP admin=false role=agent id=true" {
				t.Fatalf("agent WhoAmI = %q, %v", b, err)
			}
			r, err := f.l.Submit(context.Background(), f.other, "WhoAmI")
			if err != nil || string(r.Payload) != "Org2MSP admin=false role=member id=true" {
				t.Fatalf("other WhoAmI = %q, %v", r.Payload, err)
			}
			if !r.Unchanged {
				t.Fatalf("a submit that writes nothing appended block %d", r.Block)
			}
			if r, err = f.l.Submit(context.Background(), f.other, "Put", "who", "org2"); err != nil || r.Unchanged {
				t.Fatalf("put as Org2: %+v, %v", r, err)
			}
			blk, _ := f.l.Block(r.Block)
			if blk.CreatorMSP != "Org2MSP" {
				t.Fatalf("block creator %q", blk.CreatorMSP)
			}
			ser, _ := f.other.Serialize()
			if got, err := f.l.Identity(blk.CreatorHash); err != nil || string(got) != string(ser) {
				t.Fatalf("stored identity mismatch: %v", err)
			}
		}},
		{"tx id, timestamp, signed proposal", func(t *testing.T, f *fixture) {
			r1 := f.submit(t, "TxInfo")
			r2 := f.submit(t, "TxInfo")
			p1, p2 := strings.Fields(string(r1.Payload)), strings.Fields(string(r2.Payload))
			if p1[0] != r1.TxID || p1[2] != r1.TxID || p1[3] != "channelall" || p1[4] != "channelall" {
				t.Fatalf("tx info %v (tx %s)", p1, r1.TxID)
			}
			if len(r1.TxID) != 64 || r1.TxID == r2.TxID {
				t.Fatalf("tx IDs %s %s", r1.TxID, r2.TxID)
			}
			t1, _ := strconv.ParseInt(p1[1], 10, 64)
			t2, _ := strconv.ParseInt(p2[1], 10, 64)
			if t2 < t1 {
				t.Fatalf("timestamps decrease: %d then %d", t1, t2)
			}
			blk, _ := f.l.Block(r1.Block)
			if blk.Timestamp.UnixNano() != t1 {
				t.Fatalf("block timestamp %v != tx timestamp %d", blk.Timestamp, t1)
			}
			if n, err := f.l.FindTx(r2.TxID); err != nil || n != r2.Block {
				t.Fatalf("FindTx = %d, %v", n, err)
			}
			if _, err := f.l.FindTx("nope"); !errors.Is(err, embedded.ErrNotFound) {
				t.Fatalf("FindTx(nope) = %v", err)
			}
		}},
		{"private data unsupported", func(t *testing.T, f *fixture) {
			_, err := f.l.Evaluate(context.Background(), f.admin, "Private")
			if err == nil || !strings.Contains(err.Error(), "not supported on the embedded ledger") {
				t.Fatalf("err = %v", err)
			}
		}},
		{"bad input", func(t *testing.T, f *fixture) {
			if _, err := f.l.Submit(context.Background(), nil, "Put", "a", "b"); err == nil {
				t.Fatal("nil identity accepted")
			}
			if _, err := f.l.Submit(context.Background(), f.admin, "Put", "", "b"); err == nil {
				t.Fatal("empty key accepted")
			}
			if _, err := f.l.Submit(context.Background(), f.admin, "Put", "\xff", "b"); err == nil {
				t.Fatal("non-UTF-8 key accepted")
			}
			if _, err := f.l.Submit(context.Background(), f.admin, "Put", "a"); err == nil {
				t.Fatal("missing arg accepted")
			}
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if _, err := f.l.Submit(ctx, f.admin, "Put", "a", "b"); !errors.Is(err, context.Canceled) {
				t.Fatalf("canceled ctx: %v", err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, embedded.Options{})
			tc.run(t, f)
			if err := f.l.Verify(); err != nil {
				t.Fatalf("Verify after test: %v", err)
			}
		})
	}
}

// TestConcurrentIncrement: N goroutines increment one counter through
// Submit; serialization must lose no update.
func TestConcurrentIncrement(t *testing.T) {
	f := newFixture(t, embedded.Options{})
	const workers, each = 8, 50
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if _, err := f.l.Submit(context.Background(), f.agent, "Incr", "counter"); err != nil {
					errs <- err
				}
				if _, err := f.l.Evaluate(context.Background(), f.agent, "Get", "counter"); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := f.eval(t, "Get", "counter"); got != strconv.Itoa(workers*each) {
		t.Fatalf("counter = %s, want %d", got, workers*each)
	}
	if h, _, _ := f.l.Height(); h != workers*each {
		t.Fatalf("height %d", h)
	}
	if err := f.l.Verify(); err != nil {
		t.Fatal(err)
	}
}

func TestReopenAndClock(t *testing.T) {
	dir := t.TempDir()
	ca, _ := msp.NewCA("Org1MSP", "org1")
	id, _ := ca.Issue(msp.UserSpec{Name: "u", Role: msp.RoleMember})
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	l, err := embedded.Open(dir, newChaincode(t), embedded.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	r1, err := l.Submit(context.Background(), id, "Put", "a", "1")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Submit(context.Background(), id, "Put", "a", "2"); !errors.Is(err, embedded.ErrClosed) {
		t.Fatalf("submit after close: %v", err)
	}
	if _, err := embedded.Open(dir, newChaincode(t), embedded.Options{ChannelID: "other"}); err == nil {
		t.Fatal("opened a store with the wrong channel")
	}
	// The clock goes backwards across the restart: timestamps must not.
	now = now.Add(-time.Hour)
	l, err = embedded.Open(dir, newChaincode(t), embedded.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	r2, err := l.Submit(context.Background(), id, "Put", "a", "2")
	if err != nil {
		t.Fatal(err)
	}
	b1, _ := l.Block(r1.Block)
	b2, _ := l.Block(r2.Block)
	if r2.Block != 1 || b2.Timestamp.Before(b1.Timestamp) || !b1.Timestamp.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("blocks %d %v, %d %v", r1.Block, b1.Timestamp, r2.Block, b2.Timestamp)
	}
	if v, _ := l.GetState("a"); string(v) != "2" {
		t.Fatalf("a = %q", v)
	}
	if err := l.Verify(); err != nil {
		t.Fatal(err)
	}
}

func Example() {
	dir, _ := os.MkdirTemp("", "ledger")
	defer os.RemoveAll(dir)

	// Identities: an org CA and an agent (msp.GenerateOrg writes the same
	// to MSP folders; msp.LoadIdentity reads them back).
	ca, _ := msp.NewCA("Org1MSP", "org1.example.com")
	agent, _ := ca.Issue(msp.UserSpec{Name: "agent1", Role: msp.RoleAgent})

	cc, _ := contractapi.NewChaincode(&testContract{})
	l, err := embedded.Open(dir, cc, embedded.Options{})
	if err != nil {
		panic(err)
	}
	defer l.Close()

	res, err := l.Submit(context.Background(), agent, "Put", "greeting", "hello")
	if err != nil {
		panic(err)
	}
	out, _ := l.Evaluate(context.Background(), agent, "Get", "greeting")
	who, _ := l.Evaluate(context.Background(), agent, "WhoAmI")
	_, err = l.Submit(context.Background(), agent, "PutThenFail", "greeting", "bye")
	fmt.Println(res.Block, string(out), string(who))
	fmt.Println(err != nil, l.Verify())
	// Output:
	// 0 hello Org1MSP admin=false role=agent id=true
	// true <nil>
}
