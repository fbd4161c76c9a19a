package chaincode

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/fedmeter/fedmeter/chaincode/model"
)

// TestUsageAdjust: a record sent wrong is corrected by a compensating
// record, never edited. Before the bill: a derived record voided and a
// chosen one lowered and raised; the corrections are listed with the
// records, move the usage totals and are what the bill sums. A correction
// to the quantity a record already has writes nothing. After the bill:
// the bill stays as it was, and re-rating the period bills the difference.
func TestUsageAdjust(t *testing.T) {
	e := newEnv(t)
	e.initConsortium()
	e.market()
	e.activeRule("ecs", "1.0.0", wasmFile(t, "ecs_hourly.wasm"))
	e.activeResource("r1")
	e.advance(2 * time.Hour)
	s := e.now.Unix() - 3600
	sec := func(v int64) string { return fmt.Sprint(v) }
	e.ok("org1.agent", "UsageSubmit", js([][]any{{"r1", "egress_gib", 3, s, s + 600}, {"r1", "egress_gib", 5, s + 600, s + 1200, "apel-1"}}))
	adjust := func(start, end int64, id, q string) model.UsageAdjustment {
		t.Helper()
		return decode[model.UsageAdjustment](t, e.ok("org1.agent", "UsageAdjust", "r1", "egress_gib", sec(start), sec(end), id, q, "double-counted by the exporter"))
	}
	total := func() string { return e.snapshot()[key(pfxUsageTotal, "r1")] }

	derived := DeriveUsageID(UsageRecord{Resource: "r1", Metric: "egress_gib", Start: s, End: s + 600})
	res := decode[model.UsageAdjustment](t, e.okEvent("UsageAdjusted", "org1.agent", "UsageAdjust", "r1", "egress_gib", sec(s), sec(s+600), "", "0", "double-counted by the exporter"))
	if res.Record != derived || res.Before != 3 || res.After != 0 || res.Billed || res.Correction == nil ||
		res.Correction.Quantity != -3 || res.Correction.Adjusts != derived || res.Correction.Reason == "" {
		t.Fatalf("void of the derived record: %s", js(res))
	}
	before := e.snapshot()
	out, ev, err := e.submit("org1.agent", "UsageAdjust", "r1", "egress_gib", sec(s), sec(s+600), "", "0", "double-counted by the exporter")
	if again := decode[model.UsageAdjustment](t, out); err != nil || ev != nil || again.Before != 0 || again.After != 0 || again.Correction != nil {
		t.Fatalf("the same void again: %s, event %v (%v)", out, ev, err)
	}
	if js(e.snapshot()) != js(before) {
		t.Fatal("a correction to the quantity the record has changed the state")
	}
	if res := adjust(s+600, s+1200, "apel-1", "1"); res.Before != 5 || res.Correction.Quantity != -4 {
		t.Fatalf("lowering the chosen record: %s", js(res))
	}
	if res := adjust(s+600, s+1200, "apel-1", "2"); res.Before != 1 || res.Correction.Quantity != 1 {
		t.Fatalf("raising it: %s", js(res))
	}
	if got, want := total(), fmt.Sprintf(`{"from":%d,"sums":{"egress_gib":2}}`, s-3600); got != want {
		t.Fatalf("usage totals %s, want %s", got, want)
	}
	// The resubmitted original is still a duplicate: it does not come back.
	if ur := decode[UsageResult](t, e.ok("org1.agent", "UsageSubmit", js([][]any{{"r1", "egress_gib", 3, s, s + 600}}))); ur.Accepted != 0 {
		t.Fatalf("the voided record resubmitted: %+v", ur)
	}
	list := decode[Page[UsageRecord]](t, e.eval("org2.user", "UsageList", "r1", "", ""))
	var net int64
	corrections := 0
	for _, u := range list.Items {
		net += u.Quantity
		if u.Adjusts != "" {
			corrections++
		}
	}
	if list.Count != 5 || corrections != 3 || net != 2 {
		t.Fatalf("usage list (%d records, %d corrections, net %d): %s", list.Count, corrections, net, js(list))
	}

	// The bill sums the corrected usage: egress 2 GiB.
	rel := decode[releaseResult](t, e.ok("org2.user", "ResourceRelease", "r1"))
	bill := decode[Bill](t, e.eval("org2.user", "BillGet", rel.Bill.ID))
	if q := egress(bill); q != 2 {
		t.Fatalf("bill egress %d, want 2 (5 and 3 sent, 3 voided, 5 lowered to 1 and raised to 2): %s", q, js(bill))
	}
	if len(bill.Corrections) != 3 {
		t.Fatalf("the bill lists corrections %v, want the 3 it read", bill.Corrections)
	}

	// After the bill: the correction is on the ledger, the bill is not
	// rewritten, and re-rating bills the difference (5 GiB at 0.80).
	e.advance(time.Minute)
	res = adjust(s+600, s+1200, "apel-1", "7")
	if !res.Billed || res.Before != 2 || res.Correction.Quantity != 5 {
		t.Fatalf("a billed period: %s", js(res))
	}
	if got := decode[Bill](t, e.eval("org2.user", "BillGet", rel.Bill.ID)); js(got) != js(bill) {
		t.Fatalf("the bill changed: %s", js(got))
	}
	e.advance(time.Minute)
	rr := decode[model.RerateResult](t, e.ok("org1.admin", "BillRerate", "", "r1", sec(s-3600), sec(e.now.Unix()), "apel-1 under-reported"))
	if len(rr.Adjustments) != 1 || rr.Adjustments[0].Adjusts != bill.ID || rr.Adjustments[0].Amount != 5*80 {
		t.Fatalf("re-rating after the correction: %s", js(rr))
	}
	adjBill := decode[Bill](t, e.eval("org2.user", "BillGet", rr.Adjustments[0].ID))
	if q := egress(adjBill); q != 7 || len(adjBill.Corrections) != 4 || !slices.Contains(adjBill.Corrections, res.Correction.ID) {
		t.Fatalf("the adjustment's egress %d (want 7), corrections %v (want the 4, %s among them)", q, adjBill.Corrections, res.Correction.ID)
	}
	// The consumer cannot correct the provider's records.
	e.refused(model.CodeDenied, nil, "org2.admin", "UsageAdjust", "r1", "egress_gib", sec(s+600), sec(s+1200), "apel-1", "0", "not ours")
}

// egress is the quantity of a bill's egress line (0 without one).
func egress(b Bill) int64 {
	for _, l := range b.Lines {
		if l.Item == "egress" {
			return l.Quantity
		}
	}
	return 0
}

// TestUsageAdjustRaiseOverflow: a raise that would make a resource's
// unbilled usage of a metric pass int64 is refused, as the record itself
// would have been; lowering the same record is not.
func TestUsageAdjustRaiseOverflow(t *testing.T) {
	e := usageEnv(t, time.Hour)
	s := e.now.Unix() - 600
	e.ok("org1.agent", "UsageSubmit", js([][]any{{"r1", "cpu_seconds", math.MaxInt64 - 5, s, s + 60}, {"r1", "cpu_seconds", 3, s + 60, s + 120, "rec-1"}}))
	e.refused(model.CodeConflict, nil, "org1.agent", "UsageAdjust", "r1", "cpu_seconds", fmt.Sprint(s+60), fmt.Sprint(s+120), "rec-1", "10", "more")
	e.ok("org1.agent", "UsageAdjust", "r1", "cpu_seconds", fmt.Sprint(s+60), fmt.Sprint(s+120), "rec-1", "5", "the last two seconds were idle")
	e.ok("org1.agent", "UsageAdjust", "r1", "cpu_seconds", fmt.Sprint(s), fmt.Sprint(s+60), "", "0", "a counter reset read as a huge value")
	e.ok("org1.agent", "UsageAdjust", "r1", "cpu_seconds", fmt.Sprint(s+60), fmt.Sprint(s+120), "rec-1", "1000", "now it fits")
}
