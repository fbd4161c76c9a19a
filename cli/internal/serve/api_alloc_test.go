package serve

import (
	"testing"
	"time"

	"github.com/fedmeter/fedmeter/chaincode/model"
)

// allocBody is a grant of 100.00 CNY to Org2 for February.
func allocBody(id string) AllocationGrantBody {
	return AllocationGrantBody{Consumer: "Org2MSP", ID: id, AmountDecimal: "100.00", Currency: "CNY", From: "2026-02-01", To: "2026-03-01"}
}

// febBill has Org2 request, and Org1 activate and release, a server in
// February: a bill of Org1 to Org2 whose period ends on day 36.
func (e *env) febBill(t *testing.T, id string) model.Bill {
	t.Helper()
	e.at(36 * 24 * time.Hour)
	want(t, e.post("Org2/User1", "/api/v1/resources", ecsRequest(id)), 201)
	want(t, e.post("Org1/Agent1", "/api/v1/resources/"+id+"/activate", nil), 200)
	e.at(36*24*time.Hour + 5*time.Hour)
	r := e.post("Org2/User1", "/api/v1/resources/"+id+"/release", nil)
	want(t, r, 200)
	var rel struct{ Bill *model.Bill }
	r.json(t, &rel)
	if rel.Bill == nil || rel.Bill.Amount <= 0 {
		t.Fatalf("release of %s: %s", id, r.body)
	}
	return *rel.Bill
}

func TestAllocationRoutes(t *testing.T) {
	e, _ := settleEnv(t)
	const grant = "/api/v1/allocations"

	// Who may grant: a provider's admin; bad input never reaches the ledger.
	wantCode(t, e.post("Org1/Agent1", grant, allocBody("feb")), 403, "denied")
	want(t, e.do("Org1/Admin", "POST", grant, "application/json", []byte(`{"consumer":"Org2MSP","id":"feb","amount":100.5,"currency":"CNY","to":"2026-03-01"}`)), 400) // a float
	for _, b := range []AllocationGrantBody{
		{Consumer: "Org2MSP", ID: "feb", AmountDecimal: "100.001", Currency: "CNY", To: "2026-03-01"}, // more decimals than the scale
		{Consumer: "Org2MSP", ID: "feb", AmountDecimal: "1e3", Currency: "CNY", To: "2026-03-01"},
		{Consumer: "Org2MSP", ID: "feb", Amount: -5, Currency: "CNY", To: "2026-03-01"},
		{Consumer: "Org2MSP", ID: "feb", Amount: 5, AmountDecimal: "0.05", Currency: "CNY", To: "2026-03-01"},
		{Consumer: "Org2MSP", ID: "feb", Amount: 5, Currency: "CNY"},              // no end
		{Consumer: "Org2MSP", ID: "feb", Amount: 5, Currency: "CNY", To: "March"}, // not a time
	} {
		if p := wantCode(t, e.post("Org1/Admin", grant, b), 400, ""); p.Kind != "invalid" {
			t.Fatalf("grant %+v: %+v", b, p)
		}
	}
	bad := allocBody("feb")
	bad.Scale = new(int)
	*bad.Scale = 19
	wantCode(t, e.post("Org1/Admin", grant, bad), 400, "")

	r := e.post("Org1/Admin", grant, allocBody("feb"))
	want(t, r, 201)
	var a model.Allocation
	r.json(t, &a)
	if a.ID != "feb" || a.Provider != "Org1MSP" || a.Consumer != "Org2MSP" || a.Amount != 10000 || a.Scale != 2 || a.Balance != 10000 ||
		a.ValidFrom != day.Add(31*24*time.Hour).Unix() || a.ValidTo != day.Add(59*24*time.Hour).Unix() || a.HardStop {
		t.Fatalf("granted: %s", r.body)
	}
	wantCode(t, e.post("Org1/Admin", grant, allocBody("feb")), 409, "conflict") // the same ID again

	// Top-ups: the provider's admins, of their own org's allocations.
	top := grant + "/Org1MSP/Org2MSP/feb/topups"
	wantCode(t, e.post("Org2/Admin", top, AmountBody{Amount: 100}), 403, "denied") // the path names another org than the caller's
	wantCode(t, e.post("Org1/Agent1", top, AmountBody{Amount: 100}), 403, "denied")
	wantCode(t, e.post("Org1/Admin", grant+"/Org1MSP/Org2MSP/nope/topups", AmountBody{AmountDecimal: "1"}), 404, "not_found")
	wantCode(t, e.post("Org1/Admin", top, AmountBody{AmountDecimal: "0.001"}), 400, "")
	want(t, e.do("Org1/Admin", "POST", top, "application/json", []byte(`{"amount":0.5}`)), 400)
	r = e.post("Org1/Admin", top, AmountBody{AmountDecimal: "50"})
	want(t, r, 200)
	r.json(t, &a)
	if a.Amount != 15000 || a.Balance != 15000 || len(a.TopUps) != 1 || a.TopUps[0].Amount != 5000 {
		t.Fatalf("topped up: %s", r.body)
	}

	// A February bill draws on it; both sides read the balance.
	b := e.febBill(t, "ecs-feb")
	var al model.Allocations
	e.get("Org2/User1", "/api/v1/allocations?provider=Org1MSP").json(t, &al)
	if len(al.Entries) != 1 || al.Entries[0].Used != b.Amount || al.Entries[0].Balance != 15000-b.Amount || al.Entries[0].Bills != 1 {
		t.Fatalf("after a February bill of %d: %+v", b.Amount, al)
	}
}

func TestUsageCorrectionRoute(t *testing.T) {
	e, bills := settleEnv(t)
	const path = "/api/v1/resources/ecs-1/usage/corrections"
	five := int64(5)
	fix := UsageCorrectionBody{Metric: "egress_gib", Start: "2026-01-01T01:00:00Z", End: "2026-01-01T11:00:00Z", Quantity: &five, Reason: "the agent double-counted"}

	// The provider's identities only: the consumer is refused with the
	// contract's code.
	wantCode(t, e.post("Org2/Admin", path, fix), 403, "denied")
	wantCode(t, e.post("Org3/Admin", path, fix), 403, "denied")
	// Unknown record; bad input.
	other := fix
	other.Start = "2026-01-01T02:00:00Z"
	wantCode(t, e.post("Org1/Agent1", path, other), 404, "not_found")
	wantCode(t, e.post("Org1/Agent1", "/api/v1/resources/nope/usage/corrections", fix), 404, "not_found")
	noQty := fix
	noQty.Quantity = nil
	wantCode(t, e.post("Org1/Agent1", path, noQty), 400, "")
	noReason := fix
	noReason.Reason = ""
	wantCode(t, e.post("Org1/Agent1", path, noReason), 400, "bad_argument")
	noEnd := fix
	noEnd.End = ""
	wantCode(t, e.post("Org1/Agent1", path, noEnd), 400, "")
	want(t, e.do("Org1/Agent1", "POST", path, "application/json",
		[]byte(`{"metric":"egress_gib","start":"2026-01-01T01:00:00Z","end":"2026-01-01T11:00:00Z","quantity":4.5,"reason":"x"}`)), 400) // a float

	r := e.post("Org1/Agent1", path, fix)
	want(t, r, 200)
	var adj model.UsageAdjustment
	r.json(t, &adj)
	if adj.Before != 3 || adj.After != 5 || !adj.Billed || adj.Correction == nil || adj.Correction.Quantity != 2 || adj.Correction.Reason != fix.Reason {
		t.Fatalf("correction: %s", r.body)
	}
	// The same quantity again writes nothing.
	r = e.post("Org1/Agent1", path, fix)
	want(t, r, 200)
	adj = model.UsageAdjustment{}
	r.json(t, &adj)
	if adj.Before != 5 || adj.After != 5 || adj.Correction != nil {
		t.Fatalf("the same correction again: %s", r.body)
	}
	// The usage lists the correction after the record.
	var pg Page[model.UsageRecord]
	e.get("Org2/User1", "/api/v1/resources/ecs-1/usage").json(t, &pg)
	if len(pg.Items) != 2 || pg.Items[1].Adjusts != pg.Items[0].ID || pg.Items[1].Quantity != 2 {
		t.Fatalf("usage after the correction: %+v", pg.Items)
	}

	// The bill is re-rated for the difference: the provider's admins.
	var bill model.Bill
	e.get("Org1/Admin", "/api/v1/bills/"+bills[0]).json(t, &bill)
	end := time.Unix(bill.Period.End, 0).UTC()
	rr := RerateBody{Resource: "ecs-1", From: end.Format(time.RFC3339), To: end.Add(time.Second).Format(time.RFC3339), Reason: "egress corrected"}
	wantCode(t, e.post("Org2/Admin", "/api/v1/rerates", rr), 403, "denied")
	wantCode(t, e.post("Org1/Agent1", "/api/v1/rerates", rr), 403, "denied")
	noTo := rr
	noTo.To = ""
	wantCode(t, e.post("Org1/Admin", "/api/v1/rerates", noTo), 400, "")
	noWhy := rr
	noWhy.Reason = ""
	wantCode(t, e.post("Org1/Admin", "/api/v1/rerates", noWhy), 400, "bad_argument")
	r = e.post("Org1/Admin", "/api/v1/rerates", rr)
	want(t, r, 200)
	var res model.RerateResult
	r.json(t, &res)
	if res.Examined != 1 || len(res.Adjustments) != 1 || res.Adjustments[0].Adjusts != bills[0] || res.Adjustments[0].Amount != 2*80 {
		t.Fatalf("re-rated: %s", r.body)
	}
	// Idempotent: nothing more to adjust.
	r = e.post("Org1/Admin", "/api/v1/rerates", rr)
	want(t, r, 200)
	res = model.RerateResult{}
	r.json(t, &res)
	if res.Examined != 1 || res.Unchanged != 1 || len(res.Adjustments) != 0 {
		t.Fatalf("re-rated again: %s", r.body)
	}
}
