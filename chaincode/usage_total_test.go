package chaincode

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/fedmeter/fedmeter/chaincode/model"
)

// TestUsageOverflowAcrossBatches: two batches of 9223372036854775807
// cpu_seconds for one resource (issue 19, item 1). Each alone fits, so the
// first is accepted; the second would make the resource's unbilled usage
// overflow and is refused at submit time with a conflict naming the
// record, the resource and the metric, writing nothing. The resource can
// then be released and billed: its bill is issued, not left pending. (The
// contract used to accept both, and its release then failed, or left the
// bill pending, for ever.)
func TestUsageOverflowAcrossBatches(t *testing.T) {
	forLedgers(t, "overflow", func(t *testing.T, e *env) {
		e.initConsortium()
		e.market()
		e.activeRule("ecs", "1.0.0", wasmFile(t, "ecs_hourly.wasm")) // bills egress, not cpu_seconds
		e.activeResource("r1")
		e.advance(time.Hour)
		s := e.now.Unix() - 600
		maxQ := int64(math.MaxInt64)
		e.ok("org1.agent", "UsageSubmit", js([][]any{{"r1", "cpu_seconds", maxQ, s, s + 60}}))
		second := js([][]any{{"r1", "egress_gib", 1, s + 60, s + 120}, {"r1", "cpu_seconds", maxQ, s + 60, s + 120}})
		e.refused(model.CodeConflict, &model.Element{Record: 1, Row: -1}, "org1.agent", "UsageSubmit", second)
		_, _, err := e.submit("org1.agent", "UsageSubmit", second)
		if err == nil || !strings.Contains(err.Error(), "[conflict record=1] records[1].quantity 9223372036854775807: resource r1's cpu_seconds records not billed yet sum to 9223372036854775807") {
			t.Fatalf("second batch: %v", err)
		}
		// A quantity that still fits is accepted.
		e.ok("org1.agent", "UsageSubmit", js([][]any{{"r1", "cpu_seconds", 0, s + 60, s + 120}}))
		rel := decode[releaseResult](t, e.ok("org2.user", "ResourceRelease", "r1"))
		if rel.Bill == nil || rel.Pending != nil {
			t.Fatalf("release after the refusal: %s, want a bill", js(rel))
		}
	})
}

// TestUsageTotalsFollowBills: a bill closes the usage it summed, so the
// totals start again after it (read as stale and summed from the records
// that end after the bill), while usage before a bill still counts until
// it is billed; the release deletes them.
func TestUsageTotalsFollowBills(t *testing.T) {
	e := newEnv(t)
	e.initConsortium()
	e.market()
	e.activeRule("ecs", "1.0.0", wasmFile(t, "ecs_hourly.wasm"))
	e.activeResource("r1")
	e.advance(time.Hour)
	s := e.now.Unix() - 600
	maxQ := int64(math.MaxInt64)
	e.ok("org1.agent", "UsageSubmit", js([][]any{{"r1", "cpu_seconds", maxQ - 5, s, s + 60}, {"r1", "cpu_seconds", 2, s + 120, s + 180}}))
	e.ok("org1.agent", "BillClose", "r1", fmt.Sprint(s+60)) // bills the first record only
	// Unbilled: 2. 2 + (maxQ-2) fits; one more does not.
	e.ok("org1.agent", "UsageSubmit", js([][]any{{"r1", "cpu_seconds", maxQ - 2, s + 60, s + 120}}))
	e.refused(model.CodeConflict, &model.Element{Record: 0, Row: -1}, "org1.agent", "UsageSubmit", js([][]any{{"r1", "cpu_seconds", 1, s + 180, s + 240}}))
	if v := e.snapshot()[key(pfxUsageTotal, "r1")]; v != fmt.Sprintf(`{"from":%d,"sums":{"cpu_seconds":%d}}`, s+60, maxQ) {
		t.Fatalf("totals after the bill: %s", v)
	}
	// Released, the resource takes no more usage: its totals are deleted.
	e.ok("org2.user", "ResourceRelease", "r1")
	if v, ok := e.snapshot()[key(pfxUsageTotal, "r1")]; ok {
		t.Fatalf("totals after the release: %s", v)
	}
	e.refused(model.CodeConflict, &model.Element{Record: 0, Row: -1}, "org1.agent", "UsageSubmit", js([][]any{{"r1", "cpu_seconds", 1, s + 180, s + 240}}))
}

// TestUsageOldLayout: a ledger of an older layout is still read and
// written in its own layout. Layout 3 keeps usage keys by resource
// (usage/<resource>/..., usage-id/<provider>/<id>) and had no usage totals;
// layout 4 keeps chosen-ID markers by day and ID
// (usage-id-day/<provider>/<day>/<id>). In both, duplicates are found in
// the old keys (a marker written before the upgrade still refuses its ID
// with other content), a resource's first totals are summed from the
// records already on the ledger (so an overflow across the upgrade is
// refused), and listing and billing read them.
func TestUsageOldLayout(t *testing.T) {
	for _, layout := range []int{ledgerLayoutUsageByResource, ledgerLayoutMarkersByDay} {
		t.Run(fmt.Sprintf("layout=%d", layout), func(t *testing.T) {
			e := newEnv(t)
			e.initConsortium()
			e.market()
			e.activeRule("ecs", "1.0.0", wasmFile(t, "ecs_hourly.wasm"))
			e.activeResource("r1")
			e.advance(time.Hour)
			cons := strings.Replace(e.snapshot()[keyConsortium], fmt.Sprintf(`"layout":%d`, LedgerLayout), fmt.Sprintf(`"layout":%d`, layout), 1)
			e.l.Put(keyConsortium, []byte(cons))
			s := e.now.Unix() - 600
			maxQ := int64(math.MaxInt64)
			e.ok("org1.agent", "UsageSubmit", js([][]any{{"r1", "cpu_seconds", maxQ, s, s + 60}, {"r1", "egress_gib", 3, s, s + 60, "rec-1"}}))
			var keys []string
			for k := range e.snapshot() {
				if strings.HasPrefix(k, "usage") {
					keys = append(keys, k)
				}
			}
			sort.Strings(keys)
			per := fmt.Sprintf("usage/r1/%s/%s", usagePad(s+60), usagePad(s))
			marker := "usage-id/" + org1 + "/rec-1"
			if layout == ledgerLayoutMarkersByDay {
				per = fmt.Sprintf("usage-day/%s/r1/%s/%s", usageDay(s+60), usagePad(s+60), usagePad(s))
				marker = "usage-id-day/" + org1 + "/" + usageDay(s+60) + "/rec-1"
			}
			want := []string{per, per + "/", marker, "usage-total/r1"}
			sort.Slice(want, func(i, j int) bool { return want[i] < want[j] })
			if len(keys) != 4 {
				t.Fatalf("layout-%d keys: %v", layout, keys)
			}
			for i, k := range keys {
				if k != want[i] && !(strings.HasSuffix(want[i], "/") && strings.HasPrefix(k, want[i])) {
					t.Fatalf("layout-%d keys: %v, want %v (the chosen record's key ends with its transaction)", layout, keys, want)
				}
			}
			// A ledger written before the totals existed: none for r1.
			e.l.Put(key(pfxUsageTotal, "r1"), nil)
			ur := decode[UsageResult](t, e.ok("org1.agent", "UsageSubmit", js([][]any{{"r1", "cpu_seconds", maxQ, s, s + 60}, {"r1", "egress_gib", 3, s, s + 60, "rec-1"}})))
			if ur.Accepted != 0 || len(ur.Duplicates) != 2 {
				t.Fatalf("resubmission on a layout-%d ledger: %+v", layout, ur)
			}
			e.refused(model.CodeConflict, &model.Element{Record: 0, Row: -1}, "org1.agent", "UsageSubmit", js([][]any{{"r1", "cpu_seconds", 1, s + 60, s + 120}}))
			e.fail("records[0].id rec-1 was already submitted", "org1.agent", "UsageSubmit", js([][]any{{"r1", "egress_gib", 4, s, s + 60, "rec-1"}}))
			list := decode[Page[UsageRecord]](t, e.eval("org2.user", "UsageList", "r1", "", ""))
			if list.Count != 2 {
				t.Fatalf("UsageList on a layout-%d ledger: %s", layout, js(list))
			}
			rel := decode[releaseResult](t, e.ok("org2.user", "ResourceRelease", "r1"))
			if rel.Bill == nil || rel.Bill.Amount == 0 {
				t.Fatalf("release on a layout-%d ledger: %s", layout, js(rel))
			}
			bill := decode[Bill](t, e.eval("org2.user", "BillGet", rel.Bill.ID))
			found := false
			for _, l := range bill.Lines {
				found = found || (l.Item == "egress" && l.Quantity == 3)
			}
			if !found {
				t.Fatalf("the bill did not read the layout-%d usage: %s", layout, js(bill))
			}
		})
	}
}

// TestUsageListAcrossDays: UsageList pages through a resource's periods
// in time order across the days of layout 4's keys, and a bookmark from
// another resource or a made-up day is refused.
func TestUsageListAcrossDays(t *testing.T) {
	e := usageEnv(t, 3*24*time.Hour)
	s := t0.Unix()
	var rows [][]any
	for i := int64(0); i < 6; i++ {
		start := s + i*12*3600
		rows = append(rows, []any{"r1", "cpu_seconds", i, start, start + 3600})
	}
	e.ok("org1.agent", "UsageSubmit", js(rows))
	var got []int64
	bookmark := ""
	for pages := 0; ; pages++ {
		p := decode[Page[UsageRecord]](t, e.eval("org2.user", "UsageList", "r1", "1", bookmark))
		for _, u := range p.Items {
			got = append(got, u.Quantity)
		}
		if p.Bookmark == "" {
			break
		}
		if pages > 10 {
			t.Fatal("UsageList does not end")
		}
		bookmark = p.Bookmark
	}
	if fmt.Sprint(got) != "[0 1 2 3 4 5]" {
		t.Fatalf("UsageList across days: %v", got)
	}
	days := map[string]bool{}
	for k := range e.snapshot() {
		if strings.HasPrefix(k, pfxUsageDay) {
			days[strings.Split(k, "/")[1]] = true
		}
	}
	if len(days) < 3 {
		t.Fatalf("the records span %d days of keys, want 3 or more", len(days))
	}
	e.fail("is not from this query", "org2.user", "UsageList", "r1", "1", "usage-day/9999999/r1/x")
	e.fail("is not from this query", "org2.user", "UsageList", "r1", "1", "usage/r1/x")
}

// TestUsageKeysAllLayouts: a period key of any layout decodes back to
// its records (resource and times from the key, the day skipped), and its
// derived/chosen form is told by the key alone.
func TestUsageKeysAllLayouts(t *testing.T) {
	start, end := int64(1767225600), int64(1767229200)
	for _, l := range []usageLayout{usageMarkersByEnd, usageMarkersByDay, usageByResource} {
		for _, chosen := range []bool{false, true} {
			k, e := l.periodKey("r-1", start, end), usageEntry{Metric: "cpu_seconds", Quantity: 7}
			if chosen {
				k, e.ID = k+"/0123456789abcdef", "rec-1"
			}
			if derivedKey(k) == chosen {
				t.Errorf("%s: derivedKey = %v", k, !chosen)
			}
			got, err := decodePeriod(k, encodeEntries(k, []usageEntry{e}))
			want := UsageRecord{ID: e.ID, Resource: "r-1", Metric: "cpu_seconds", Quantity: 7, Start: start, End: end}
			if !chosen {
				want.ID = DeriveUsageID(want)
			}
			if err != nil || len(got) != 1 || got[0] != want {
				t.Errorf("%s: decoded %+v (%v), want %+v", k, got, err, want)
			}
		}
	}
	if k := usageMarkersByEnd.periodKey("r-1", start, end); !strings.HasPrefix(k, pfxUsageDay+usageDay(end)+"/r-1/") {
		t.Errorf("layout 5 key %s does not lead with the day of the end", k)
	}
}
