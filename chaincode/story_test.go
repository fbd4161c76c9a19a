package chaincode

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/fedmeter/fedmeter/host"
)

// TestSeedStory is the seed prototype's story on fedmeter: three orgs, a
// price book, a quota, an ECS request, usage, the ECS rule uploaded and
// approved by 2 of 3, release, the bill, the provider's bills and totals.
func TestSeedStory(t *testing.T) {
	t.Run("stub", func(t *testing.T) { seedStory(t, newEnv(t)) })
	t.Run("embedded", func(t *testing.T) { seedStory(t, newEmbeddedEnv(t)) })
}

func seedStory(t *testing.T, e *env) {
	e.initConsortium()

	// initPrice / initInitialQuota, by their seed names.
	e.ok("org1.admin", "initPrice", "ecs", ecsPrices)
	e.ok("org1.admin", "initInitialQuota", org2, ecsQuota)
	prices := decode[pricedEntry](t, e.eval("org3.user", "readResource", "price", org1+"/ecs"))
	if prices.Entry.UnitPrices["vcpu_hour"] != 12 || prices.Entry.Currency != "CNY" {
		t.Fatalf("Org3 reads Org1's prices: %+v", prices)
	}

	// initECSResource: Org2 asks Org1 for a server; Org1 provisions it.
	res := decode[Resource](t, e.ok("org2.user", "initECSResource", "202202150002", org1, ecsSpec, "30"))
	if res.Status != StatusRequested || res.Consumer != org2 {
		t.Fatalf("requested resource %+v", res)
	}
	q := decode[Quota](t, e.eval("org2.user", "readResource", "quota", org1+"/"+org2))
	if q.Used["vcpu"] != 2 || q.Used["memory_gib"] != 4 {
		t.Fatalf("quota use after request: %+v", q.Used)
	}
	e.ok("org1.agent", "ResourceActivate", "202202150002")

	// Usage from Org1's metering agent; a resubmission is a no-op.
	e.advance(20 * time.Hour)
	batch := js([]map[string]any{
		{"id": "u-1", "resource": "202202150002", "metric": "egress_gib", "quantity": 3, "start": t0.Unix(), "end": t0.Unix() + 36000},
		{"id": "u-2", "resource": "202202150002", "metric": "egress_gib", "quantity": 2, "start": t0.Unix() + 36000, "end": t0.Unix() + 72000},
	})
	ur := decode[UsageResult](t, e.ok("org1.agent", "UsageSubmit", batch))
	if ur.Accepted != 2 || len(ur.Duplicates) != 0 {
		t.Fatalf("usage: %+v", ur)
	}
	ur = decode[UsageResult](t, e.ok("org1.agent", "UsageSubmit", batch))
	if ur.Accepted != 0 || len(ur.Duplicates) != 2 {
		t.Fatalf("usage resubmitted: %+v", ur)
	}

	// The ECS rule: uploaded by Org1, approved by Org1 and Org2 (2 of 3).
	code := wasmFile(t, "ecs_hourly.wasm")
	hash := e.uploadRule("ecs", "1.0.0", code)
	e.approveRule("ecs", "1.0.0", hash)
	e.fail("already approved", "org3.admin", "RuleVote", "ecs", "1.0.0", hash, "reject")
	e.okEvent("RuleActivated", "org1.admin", "RuleActivate", "ecs", hash, "")

	// billedECS: Org2 releases 47.5 hours after activation.
	e.setTime(t0.Add(47*time.Hour + 30*time.Minute))
	out, ev, err := e.submit("org2.user", "billedECS", "202202150002")
	if err != nil {
		t.Fatalf("billedECS: %v", err)
	}
	if ev == nil || ev.Name != "BillIssued" {
		t.Fatalf("release event %+v", ev)
	}
	rel := decode[releaseResult](t, out)
	if rel.Bill == nil || rel.Resource.Status != StatusReleased {
		t.Fatalf("release: %s", out)
	}
	// The result names the bill and its amount; the bill itself is read.
	bill := decode[Bill](t, e.eval("org2.user", "BillGet", rel.Bill.ID))
	b := &bill
	if *b.Summary() != *rel.Bill || strings.Contains(out, `"lines"`) {
		t.Fatalf("release returned %s; the bill is %s", out, js(b))
	}
	// hours = ceil(47.5) = 48; vcpu 2*48*12 + memory 4*48*3 + system disk
	// 40*48*1 + public ip 1*48*5 + egress 5*80.
	wantLines := []BillLine{
		{Item: "vcpu", Quantity: 96, Unit: "vcpu_hour", UnitPrice: 12, Amount: 1152},
		{Item: "memory", Quantity: 192, Unit: "memory_gib_hour", UnitPrice: 3, Amount: 576},
		{Item: "system_disk", Quantity: 1920, Unit: "disk_gib_hour", UnitPrice: 1, Amount: 1920},
		{Item: "public_ip", Quantity: 48, Unit: "public_ip_hour", UnitPrice: 5, Amount: 240},
		{Item: "egress", Quantity: 5, Unit: "egress_gib", UnitPrice: 80, Amount: 400},
	}
	if b.Amount != 4288 || b.Currency != "CNY" || b.Scale != 2 || js(b.Lines) != js(wantLines) {
		t.Fatalf("bill %s", js(b))
	}
	if b.ID != "202202150002:000001" || b.Provider != org1 || b.Consumer != org2 || b.Kind != "release" ||
		b.Period.Start != t0.Unix() || b.Period.End != t0.Unix()+47*3600+1800 ||
		b.Rule.Name != "ecs" || b.Rule.Version != "1.0.0" || b.Rule.Hash != hash || b.Rule.PreparedHash == "" ||
		b.Rule.Profile != host.ProfileV1().Version || b.GasUsed == 0 || len(b.InputHash) != 64 || b.Tx == "" {
		t.Fatalf("bill record %s", js(b))
	}
	if q := decode[Quota](t, e.eval("org1.user", "QuotaGet", org1, org2)); q.Used["vcpu"] != 0 || q.Used["public_ips"] != 0 {
		t.Fatalf("quota not returned on release: %+v", q.Used)
	}

	// queryProviderBill / queryProviderTotalCost.
	page := decode[Page[Bill]](t, e.eval("org1.admin", "queryProviderBill", org1, "", ""))
	if page.Count != 1 || page.Items[0].ID != b.ID {
		t.Fatalf("provider bills %+v", page)
	}
	tot := decode[Totals](t, e.eval("org1.admin", "queryProviderTotalCost", org1))
	if js(tot.Receivable) != js([]Total{{Counterparty: org2, Currency: "CNY", Scale: 2, Amount: 4288, Bills: 1}}) {
		t.Fatalf("provider totals %+v", tot)
	}
	tot = decode[Totals](t, e.eval("org2.user", "BillTotals", "", ""))
	if len(tot.Receivable) != 0 || js(tot.Payable) != js([]Total{{Counterparty: org1, Currency: "CNY", Scale: 2, Amount: 4288, Bills: 1}}) {
		t.Fatalf("consumer totals %+v", tot)
	}
	if _, err := e.led.Evaluate(e.id("org3.admin"), "BillGet", b.ID); err == nil {
		t.Fatalf("Org3 read a bill between Org1 and Org2")
	}

	// Any party can recompute the bill offline from what the ledger holds.
	recompute(t, e, "org2.user", b)
}

// recompute rebuilds a bill's input from queries and runs the rule's code
// with package host, as a member would offline.
func recompute(t *testing.T, e *env, who string, b *Bill) {
	t.Helper()
	res := decode[Resource](t, e.eval(who, "ResourceGet", b.Resource))
	price := decode[pricedEntry](t, e.eval(who, "PriceGet", b.Provider, b.ResourceType, js(b.Period.Start)))
	q := decode[Quota](t, e.eval(who, "QuotaGet", b.Provider, b.Consumer))
	usage := map[string]int64{}
	page := decode[Page[UsageRecord]](t, e.eval(who, "UsageList", b.Resource, "500", ""))
	for _, u := range page.Items {
		if u.End > b.Period.Start && u.End <= b.Period.End {
			usage[u.Metric] += u.Quantity
		}
	}
	in, err := EncodeInput(&res, &price.Entry, q.Limits, usage, b.Period.Start, b.Period.End, b.Tx, b.IssuedAt)
	if err != nil {
		t.Fatal(err)
	}
	if got := hashOf(in); got != b.InputHash {
		t.Fatalf("recomputed input hash %s, bill says %s; input %s", got, b.InputHash, in)
	}
	code := decode[map[string]string](t, e.eval(who, "RuleCode", b.Rule.Hash))
	raw, err := b64dec(code["module"])
	if err != nil {
		t.Fatal(err)
	}
	p, err := host.Prepare(raw)
	if err != nil {
		t.Fatal(err)
	}
	h, err := host.New(context.Background(), host.Config{Engine: host.Interpreter})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(context.Background())
	m, err := h.Load(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	r, err := m.Bill(context.Background(), host.Call{Input: in, GasLimit: BillGasLimit, TxTime: time.Unix(b.IssuedAt, 0), TxID: b.Tx})
	if err != nil {
		t.Fatal(err)
	}
	if r.Bill.Total != b.Amount || js(BillLines(r.Bill)) != js(b.Lines) || r.GasUsed != b.GasUsed {
		t.Fatalf("recomputed %+v (gas %d), bill %+v (gas %d)", r.Bill, r.GasUsed, b, b.GasUsed)
	}
}

func b64dec(s string) ([]byte, error) {
	var b []byte
	err := json.Unmarshal([]byte(js(s)), &b) // encoding/json decodes base64 into []byte
	return b, err
}
