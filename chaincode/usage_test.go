package chaincode

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/fedmeter/fedmeter/chaincode/model"
)

// TestUsageLayout: a period's records share one key, derived IDs write no
// marker and are deduplicated through that key, chosen IDs keep theirs, and
// billing and UsageList read the packed records back.
func TestUsageLayout(t *testing.T) {
	e := usageEnv(t, 10*time.Hour)
	s, n := t0.Unix(), t0.Unix()+10*3600
	mid := s + 5*3600
	rec := func(id, metric string, q, start, end int64) map[string]any {
		m := map[string]any{"resource": "r1", "metric": metric, "quantity": q, "start": start, "end": end}
		if id != "" {
			m["id"] = id
		}
		return m
	}
	batch := func(recs ...map[string]any) string { return js(recs) }
	usageKeys := func() []string {
		var ks []string
		for k := range e.snapshot() {
			if strings.HasPrefix(k, "usage") && !strings.HasPrefix(k, pfxUsageTotal) {
				ks = append(ks, k)
			}
		}
		sort.Strings(ks)
		return ks
	}

	ur := decode[UsageResult](t, e.ok("org1.agent", "UsageSubmit", batch(
		rec("", "cpu_seconds", 3600, s, mid), rec("", "egress_gib", 2, s, mid),
		rec("", "cpu_seconds", 1800, mid, n), rec("", "egress_gib", 1, mid, n))))
	if ur.Accepted != 4 || len(ur.Duplicates) != 0 {
		t.Fatalf("first batch: %+v", ur)
	}
	want := []string{usageKey("r1", s, mid), usageKey("r1", mid, n)}
	if got := usageKeys(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("usage keys %v, want one per period %v", got, want)
	}
	if v := e.snapshot()[want[0]]; v != `{"cpu_seconds":3600,"egress_gib":2}` {
		t.Fatalf("stored period %s", v)
	}

	// Resubmitted, with or without the derived ID spelled out: no change.
	before := e.snapshot()
	derived := DeriveUsageID(UsageRecord{Resource: "r1", Metric: "cpu_seconds", Start: s, End: mid})
	ur = decode[UsageResult](t, e.ok("org1.agent", "UsageSubmit", batch(rec("", "cpu_seconds", 3600, s, mid), rec(derived, "cpu_seconds", 3600, s, mid))))
	if ur.Accepted != 0 || strings.Join(ur.Duplicates, ",") != derived+","+derived {
		t.Fatalf("resubmission: %+v (derived %s)", ur, derived)
	}
	if js(e.snapshot()) != js(before) {
		t.Fatal("a resubmission changed the state")
	}
	// A changed quantity for a recorded period is refused.
	e.fail("records[0].id "+derived+" was already submitted with quantity 3600, not 3601", "org1.agent", "UsageSubmit", batch(rec("", "cpu_seconds", 3601, s, mid)))

	// A chosen ID joins its period's value and keeps a marker; a record
	// with a chosen ID is not a duplicate of a derived one.
	res, err := e.led.Submit(e.id("org1.agent"), "UsageSubmit", batch(rec("agent-7", "cpu_seconds", 3600, s, mid)))
	if err != nil {
		t.Fatal(err)
	}
	if ur = decode[UsageResult](t, string(res.Payload)); ur.Accepted != 1 {
		t.Fatalf("chosen id: %+v", ur)
	}
	if strings.Contains(strings.Join(res.Reads, " "), pfxUsageDay) {
		t.Fatalf("a chosen ID's record read its period: %v", res.Reads)
	}
	chosenKey := want[0] + "/" + res.TxID
	markerKey := "usage-id-end/" + org1 + "/" + usagePad(mid) + "/agent-7"
	if got := usageKeys(); strings.Join(got, " ") != strings.Join([]string{want[0], chosenKey, want[1], markerKey}, " ") {
		t.Fatalf("usage keys after a chosen ID: %v", got)
	}
	var marker usageMarker
	if err := json.Unmarshal([]byte(e.snapshot()[markerKey]), &marker); err != nil || len(marker.Digest) != 64 || marker.Tx == "" {
		t.Fatalf("marker %+v (%v)", marker, err)
	}
	e.fail("records[0].id agent-7 was already submitted (transaction", "org1.agent", "UsageSubmit", batch(rec("agent-7", "cpu_seconds", 1, s, mid)))

	// UsageList: by end, then start, then submission, IDs filled in; a
	// period is never split across pages.
	all := decode[Page[UsageRecord]](t, e.eval("org2.user", "UsageList", "r1", "", ""))
	var ids []string
	for _, u := range all.Items {
		ids = append(ids, u.ID+":"+u.Metric)
		if u.Resource != "r1" || (u.ID != "agent-7" && u.ID != DeriveUsageID(UsageRecord{Resource: u.Resource, Metric: u.Metric, Start: u.Start, End: u.End})) {
			t.Fatalf("listed record %+v", u)
		}
	}
	if all.Count != 5 || all.Items[2].ID != "agent-7" || all.Items[4].End != n {
		t.Fatalf("usage list %v", ids)
	}
	var pages []string
	for bm := ""; ; {
		p := decode[Page[UsageRecord]](t, e.eval("org2.user", "UsageList", "r1", "1", bm))
		pages = append(pages, fmt.Sprintf("%d@%s", p.Count, p.Bookmark))
		if bm = p.Bookmark; bm == "" {
			break
		}
	}
	if got := strings.Join(pages, " "); got != "2@"+want[0]+" 1@"+chosenKey+" 2@" {
		t.Fatalf("pages of 1: %s", got)
	}

	// The bill sums every packed record of its period.
	e.activeRule("ecs", "1.0.0", wasmFile(t, "ecs_hourly.wasm"))
	rel := decode[releaseResult](t, e.ok("org2.user", "ResourceRelease", "r1"))
	if rel.Bill == nil {
		t.Fatal("release issued no bill")
	}
	bill := decode[Bill](t, e.eval("org2.user", "BillGet", rel.Bill.ID))
	egress := int64(-1)
	for _, l := range bill.Lines {
		if l.Item == "egress" {
			egress = l.Quantity
		}
	}
	if egress != 3 {
		t.Fatalf("billed egress %d, want 2+1 from two periods: %s", egress, js(bill))
	}
}

// TestUsageDerivedIDBatch: within one batch, the same derived record twice
// is one record; with different quantities it is refused.
func TestUsageDerivedIDBatch(t *testing.T) {
	e := usageEnv(t, time.Hour)
	r := map[string]any{"resource": "r1", "metric": "egress_gib", "quantity": 1, "start": t0.Unix(), "end": t0.Unix() + 60}
	r2 := map[string]any{"resource": "r1", "metric": "egress_gib", "quantity": 2, "start": t0.Unix(), "end": t0.Unix() + 60}
	e.fail("records[1].id u-", "org1.agent", "UsageSubmit", js([]any{r, r2}))
	ur := decode[UsageResult](t, e.ok("org1.agent", "UsageSubmit", js([]any{r, r})))
	if ur.Accepted != 1 || len(ur.Duplicates) != 1 {
		t.Fatalf("%+v", ur)
	}
}

// TestUsageRows: records may be rows [resource, metric, quantity, start,
// end(, id)], mixed with objects; they mean what the objects mean.
func TestUsageRows(t *testing.T) {
	e := usageEnv(t, time.Hour)
	s := t0.Unix()
	rows := fmt.Sprintf(`[["r1","cpu_seconds",60,%d,%d],["r1","egress_gib",2,%d,%d,"agent-1"],{"resource":"r1","metric":"egress_gib","quantity":1,"start":%d,"end":%d}]`,
		s, s+60, s, s+60, s, s+60)
	ur := decode[UsageResult](t, e.ok("org1.agent", "UsageSubmit", rows))
	if ur.Accepted != 3 {
		t.Fatalf("rows: %+v", ur)
	}
	list := decode[Page[UsageRecord]](t, e.eval("org1.user", "UsageList", "r1", "", ""))
	want := []UsageRecord{
		{Resource: "r1", Metric: "cpu_seconds", Quantity: 60, Start: s, End: s + 60},
		{Resource: "r1", Metric: "egress_gib", Quantity: 1, Start: s, End: s + 60},
		{ID: "agent-1", Resource: "r1", Metric: "egress_gib", Quantity: 2, Start: s, End: s + 60},
	}
	for i := range want[:2] {
		want[i].ID = DeriveUsageID(want[i])
	}
	if js(list.Items) != js(want) {
		t.Fatalf("listed %s\nwant %s", js(list.Items), js(want))
	}
	// A period row is every metric of a resource over a period: the same
	// records (IDs derived) as one row per metric, so resending them as rows
	// finds them all duplicates.
	period := fmt.Sprintf(`[["r1",%d,%d,{"egress_gib":4,"cpu_seconds":120}]]`, s+60, s+120)
	if ur := decode[UsageResult](t, e.ok("org1.agent", "UsageSubmit", period)); ur.Accepted != 2 {
		t.Fatalf("period row: %+v", ur)
	}
	again := fmt.Sprintf(`[["r1","cpu_seconds",120,%d,%d],["r1","egress_gib",4,%d,%d]]`, s+60, s+120, s+60, s+120)
	if ur := decode[UsageResult](t, e.ok("org1.agent", "UsageSubmit", again)); ur.Accepted != 0 || len(ur.Duplicates) != 2 {
		t.Fatalf("the period row's records sent again as rows: %+v", ur)
	}
	for _, c := range []struct{ rows, want string }{
		{`[["r1","cpu_seconds",1,1]]`, "a period row's fourth element must be an object"},
		{`[["r1","cpu_seconds",1]]`, "a record row is [resource, metric, quantity, start, end], [resource, metric, quantity, start, end, id] or [resource, start, end, {metric: quantity, ...}], not 3 elements"},
		{fmt.Sprintf(`[["r1",%d,%d,{}]]`, s, s+3), "records[0] is a period row without metrics"},
		{"[" + strings.Repeat(fmt.Sprintf(`["r1",%d,%d,{"cpu_seconds":1,"egress_gib":1}],`, s, s+3), 500) + fmt.Sprintf(`["r1",%d,%d,{"cpu_seconds":1}]]`, s, s+4),
			"records holds 1001 records; at most 1000 are allowed per batch"}, // a period row counts its records
		{fmt.Sprintf(`[["r1",%d,%d,{"cpu_seconds":1,"egress_gib":-2}]]`, s, s+3), `records[0]["egress_gib"].quantity must not be negative, got -2`},
		{fmt.Sprintf(`[["r1",%d,%d,{"cpu_seconds":1,"gpu_hours":1}]]`, s, s+3), `records[0]["gpu_hours"].metric gpu_hours is not a metric of type ecs`},
		{`[[7,"cpu_seconds",1,1,2]]`, "a record row's resource must be a string, got 7"},
		{fmt.Sprintf(`[["r1","cpu_seconds",1.5,%d,%d]]`, s, s+1), "records[0].quantity must be an integer, got 1.5"},
		{fmt.Sprintf(`[["r1","cpu_seconds",1,%d,%d,""]]`, s, s+2), "accepted"},
	} {
		if c.want == "accepted" {
			e.ok("org1.agent", "UsageSubmit", c.rows) // an empty id is a derived one
			continue
		}
		e.fail(c.want, "org1.agent", "UsageSubmit", c.rows)
	}
}

// TestUsageTable: a period table stores the same records as period rows
// (a resubmission as rows finds them all duplicates), counts its records
// against the batch limit before expanding them, and names a refused
// record by row and metric.
func TestUsageTable(t *testing.T) {
	e := usageEnv(t, time.Hour)
	e.ok("org1.admin", "QuotaSet", org2, `{"max_days":365,"vcpu":10,"memory_gib":40,"system_disk_gib":80,"public_ips":2}`)
	e.activeResource("r2")
	e.advance(time.Hour)
	s := e.now.Unix() - 600
	table := fmt.Sprintf(`[{"start":%d,"end":%d,"metrics":["egress_gib","cpu_seconds"],"rows":[["r1",4,120],["r2",0,30]]}]`, s, s+60)
	before := e.snapshot()
	if ur := decode[UsageResult](t, e.ok("org1.agent", "UsageSubmit", table)); ur.Accepted != 4 {
		t.Fatalf("table: %+v", ur)
	}
	var written []string
	for k, v := range e.snapshot() {
		if before[k] != v {
			written = append(written, k+"="+v)
		}
	}
	sort.Strings(written)
	want := []string{
		usageKey("r1", s, s+60) + `={"cpu_seconds":120,"egress_gib":4}`,
		usageKey("r2", s, s+60) + `={"cpu_seconds":30,"egress_gib":0}`,
		// the resources' unbilled usage, summed since their activation
		fmt.Sprintf(`usage-total/r1={"from":%d,"sums":{"cpu_seconds":120,"egress_gib":4}}`, t0.Unix()),
		fmt.Sprintf(`usage-total/r2={"from":%d,"sums":{"cpu_seconds":30,"egress_gib":0}}`, t0.Unix()+3600),
	}
	if strings.Join(written, " ") != strings.Join(want, " ") {
		t.Fatalf("a table wrote %v\nwant %v", written, want)
	}
	rows := fmt.Sprintf(`[["r1",%d,%d,{"cpu_seconds":120,"egress_gib":4}],["r2",%d,%d,{"cpu_seconds":30,"egress_gib":0}]]`, s, s+60, s, s+60)
	if ur := decode[UsageResult](t, e.ok("org1.agent", "UsageSubmit", rows)); ur.Accepted != 0 || len(ur.Duplicates) != 4 {
		t.Fatalf("the table's records sent again as period rows: %+v", ur)
	}
	tbl := func(metrics, rows string) string {
		return fmt.Sprintf(`[{"start":%d,"end":%d,"metrics":%s,"rows":%s}]`, s+60, s+120, metrics, rows)
	}
	many := "[" + strings.Repeat(`["r1",1,1],`, 500) + `["r2",1,1]]`
	for _, c := range []struct{ arg, want string }{
		{tbl(`["cpu_seconds"]`, `[["r1",1],["r2",-1]]`), `records[0].rows[1]["cpu_seconds"].quantity must not be negative, got -1`},
		{tbl(`["cpu_seconds","gpu_hours"]`, `[["r1",1,1]]`), `records[0].rows[0]["gpu_hours"].metric gpu_hours is not a metric of type ecs`},
		{tbl(`["cpu_seconds","cpu_seconds"]`, `[["r1",1,1]]`), "records[0].metrics names cpu_seconds twice"},
		{tbl(`[]`, `[["r1"]]`), "records[0].metrics must name at least one metric"},
		{tbl(`["cpu_seconds"]`, `[]`), "records[0].rows must hold at least one row"},
		{tbl(`["cpu_seconds"]`, `[["r1",1,2]]`), "records[0].rows[0] has 3 elements; a row of this table is [resource, cpu_seconds] (2 elements)"},
		{tbl(`["cpu_seconds"]`, `[[7,1]]`), "records[0].rows[0]'s first element, the resource, must be a string, got 7"},
		{tbl(`["cpu_seconds","egress_gib"]`, many), "records holds 1002 records; at most 1000 are allowed per batch"},
		{fmt.Sprintf(`[{"resource":"r1","start":%d,"end":%d,"metrics":["cpu_seconds"],"rows":[["r1",1]]}]`, s, s+60), "not both"},
		{fmt.Sprintf(`[{"start":%d,"end":%d,"metrics":["cpu_seconds"],"rows":[["r1",1]],"id":"x"}]`, s, s+60), "not both"},
	} {
		e.fail(c.want, "org1.agent", "UsageSubmit", c.arg)
	}
}

// usageEnv is a ledger with Org1's resource r1, requested by Org2, active
// for held.
// TestChosenIDScope: a chosen record ID is unique per provider and end
// time (layout 5; chaincode/README.md, "Rationale: usage by day and usage
// totals"). Resubmitted, a record is a duplicate; the ID with other content
// and the same end is refused, whatever field differs; with another end it
// is another record, and the ledger holds both.
func TestChosenIDScope(t *testing.T) {
	e := newEnv(t)
	e.initConsortium()
	e.market()
	e.agentResources(2)
	e.advance(10 * time.Hour)
	s := t0.Unix()
	row := func(id, metric string, q, start, end int64) []any { return []any{"res-0", metric, q, start, end, id} }
	submit := func(rows ...[]any) UsageResult {
		return decode[UsageResult](t, e.ok("org1.agent", "UsageSubmit", js(rows)))
	}
	if ur := submit(row("apel-1", "cpu_seconds", 60, s, s+3600)); ur.Accepted != 1 {
		t.Fatalf("first: %+v", ur)
	}
	if ur := submit(row("apel-1", "cpu_seconds", 60, s, s+3600)); ur.Accepted != 0 || len(ur.Duplicates) != 1 {
		t.Fatalf("resubmitted: %+v", ur)
	}
	for _, other := range [][]any{
		row("apel-1", "cpu_seconds", 61, s, s+3600),         // quantity
		row("apel-1", "egress_gib", 60, s, s+3600),          // metric
		row("apel-1", "cpu_seconds", 60, s+1, s+3600),       // start
		{"res-1", "cpu_seconds", 60, s, s + 3600, "apel-1"}, // resource
	} {
		e.refused(model.CodeConflict, &model.Element{Record: 0, Row: -1}, "org1.agent", "UsageSubmit", js([][]any{other}))
	}
	if ur := submit(row("apel-1", "cpu_seconds", 60, s+3600, s+7200)); ur.Accepted != 1 {
		t.Fatalf("the ID with another end: %+v", ur)
	}
	list := decode[Page[UsageRecord]](t, e.eval("org2.user", "UsageList", "res-0", "", ""))
	if list.Count != 2 || list.Items[0].ID != "apel-1" || list.Items[1].ID != "apel-1" || list.Items[1].End != s+7200 {
		t.Fatalf("records: %s", js(list))
	}
}

func usageEnv(t *testing.T, held time.Duration) *env {
	e := newEnv(t)
	e.initConsortium()
	e.market()
	e.activeResource("r1")
	e.advance(held)
	return e
}

// TestDeriveUsageIDStable: derived IDs are recomputed from stored records
// and by every client, so the function must never change: the SHA-256 of
// "resource\nmetric\nstart\nend", as first defined (the oracle below).
func TestDeriveUsageIDStable(t *testing.T) {
	oracle := func(u UsageRecord) string {
		sum := sha256.Sum256([]byte(fmt.Sprintf("%s\n%s\n%d\n%d", u.Resource, u.Metric, u.Start, u.End)))
		return "u-" + hex.EncodeToString(sum[:20])
	}
	for _, u := range []UsageRecord{
		{Resource: "202202150002", Metric: "egress_gib", Start: 1767225600, End: 1767261600},
		{Resource: "r", Metric: "m", Start: 0, End: 1},
		{Resource: "bench-e55255e5-123", Metric: "cpu_seconds", Start: -5, End: 9223372036854775807, Quantity: 7},
	} {
		if got, want := DeriveUsageID(u), oracle(u); got != want {
			t.Errorf("DeriveUsageID(%+v) = %s, want %s", u, got, want)
		}
	}
	if got := DeriveUsageID(UsageRecord{Resource: "202202150002", Metric: "egress_gib", Start: 1767225600, End: 1767261600}); got != "u-46996146bde21624f56e862ce53fec95b958fc44" {
		t.Fatalf("DeriveUsageID = %s, the ID the demo's records have always had is u-46996146bde21624f56e862ce53fec95b958fc44", got)
	}
}

// TestUsageSeesResourceChanges: UsageSubmit keeps decoded resources by
// their stored bytes (decodedResources); a resource that changed after a
// batch used it (billed, then released) must be checked as it is now.
func TestUsageSeesResourceChanges(t *testing.T) {
	e := usageEnv(t, time.Hour)
	e.activeRule("ecs", "1.0.0", wasmFile(t, "ecs_hourly.wasm"))
	s := t0.Unix()
	row := func(start, end int64) string {
		return fmt.Sprintf(`[["r1",%d,%d,{"cpu_seconds":1,"egress_gib":1}]]`, start, end)
	}
	e.ok("org1.agent", "UsageSubmit", row(s, s+60))
	e.ok("org1.agent", "UsageSubmit", row(s+60, s+120)) // the cached decode
	e.ok("org1.user", "BillClose", "r1", "")            // billed up to now
	e.fail("is not after the end of resource r1's last bill", "org1.agent", "UsageSubmit", row(s+120, s+180))
	e.ok("org2.user", "ResourceRelease", "r1")
	e.fail("resource r1 was released; its usage is closed", "org1.agent", "UsageSubmit", row(s+1800, s+1860))
}

// TestUsagePadOrder: usage keys sort by time, including range bounds past
// the last storable time, which sort after every stored key.
func TestUsagePadOrder(t *testing.T) {
	times := []int64{0, 1, 9, 10, 1767225600, 9_999_999_999, 10_000_000_000, maxUsageTime - 1, maxUsageTime, 1 << 62}
	for i := 1; i < len(times); i++ {
		a, b := usagePad(times[i-1]), usagePad(times[i])
		if a > b {
			t.Errorf("usagePad(%d) = %q sorts after usagePad(%d) = %q", times[i-1], a, times[i], b)
		}
		if times[i] < maxUsageTime && (len(b) != 11 || a == b) {
			t.Errorf("usagePad(%d) = %q: want 11 digits, distinct from usagePad(%d)", times[i], b, times[i-1])
		}
	}
	last := usageKey("r1", maxUsageTime-2, maxUsageTime-1)
	if _, bound := usageMarkersByEnd.resourceRange("r1", dayOf(maxUsageTime-1), 0, 1<<62); bound <= last {
		t.Errorf("the bound %q does not sort after the last storable key %q", bound, last)
	}
	if got, want := usageKey("r1", 1767225600, 1767229200), "usage-day/0020454/r1/01767229200/01767225600"; got != want {
		t.Errorf("usageKey = %q, want %q", got, want)
	}
}

// TestUsageTimeLimit: times that do not fit a usage key are refused with a
// message that says why, not stored out of order.
func TestUsageTimeLimit(t *testing.T) {
	e := usageEnv(t, time.Hour)
	e.fail("records[0].end 100000000000 is not a time fedmeter stores: usage times are Unix seconds below 100000000000",
		"org1.agent", "UsageSubmit", js([][]any{{"r1", "cpu_seconds", 1, t0.Unix(), maxUsageTime}}))
}

// TestLedgerLayoutRefused: a ledger whose consortium records no layout or
// another one (written by another version of the contract) is refused by
// every transaction that reads the consortium, instead of being read with
// keys it does not hold (its usage would bill as zero).
func TestLedgerLayoutRefused(t *testing.T) {
	e := usageEnv(t, time.Hour)
	if c := decode[Consortium](t, e.eval("org1.user", "ConsortiumGet")); c.Layout != LedgerLayout {
		t.Fatalf("ConsortiumInit recorded layout %d, want %d", c.Layout, LedgerLayout)
	}
	for _, layout := range []string{`,"layout":0`, `,"layout":1`, `,"layout":2`, fmt.Sprintf(`,"layout":%d`, LedgerLayout+1), ``} {
		var c map[string]json.RawMessage
		if err := json.Unmarshal([]byte(e.snapshot()[keyConsortium]), &c); err != nil {
			t.Fatal(err)
		}
		delete(c, "layout")
		b, _ := json.Marshal(c)
		old := strings.TrimSuffix(string(b), "}") + layout + "}"
		e.l.Put(keyConsortium, []byte(old))
		for _, tx := range [][]string{
			{"UsageSubmit", js([][]any{{"r1", "cpu_seconds", 1, t0.Unix(), t0.Unix() + 60}})},
			{"ResourceRelease", "r1"},
			{"BillListByProvider", org1, "", "", "", ""},
		} {
			_, _, err := e.submit("org1.admin", tx[0], tx[1:]...)
			if err == nil || !strings.Contains(err.Error(), "it was made by another version of fedmeter") {
				t.Errorf("%s on a ledger with %q: %v, want the layout refused", tx[0], layout, err)
			}
		}
	}
}
