package serve

import (
	"net/url"
	"strings"
	"testing"

	"github.com/fedmeter/fedmeter/chaincode/model"
	"github.com/fedmeter/fedmeter/cli/client"
)

func TestConsoleAllocations(t *testing.T) {
	e, _ := settleEnv(t)
	origin := e.ts.URL

	// The page and the grant form: a provider admin sees the form, a
	// non-admin does not.
	code, _, body := e.page("Org1/Admin", "GET", "/allocations", nil, "")
	if code != 200 {
		t.Fatalf("/allocations: %d\n%s", code, body)
	}
	pageHas(t, "allocations", body, `<a href="/allocations" class="on">`, `<form method="post" action="/allocations"`, `<option value="Org2MSP">`, "None.")
	if _, _, body := e.page("Org1/Agent1", "GET", "/allocations", nil, ""); strings.Contains(body, `id="grant"`) {
		t.Fatalf("a non-admin is offered the grant form:\n%s", body)
	}
	grant := url.Values{"consumer": {"Org2MSP"}, "id": {"feb"}, "amount": {"100"}, "currency": {"CNY"}, "scale": {"2"}, "from": {"2026-02-01"}, "to": {"2026-03-01"}}
	if code, _, _ := e.page("Org1/Admin", "POST", "/allocations", grant, "https://evil.example"); code != 403 {
		t.Fatalf("a cross-site grant: %d", code)
	}
	// Refusals come back on the page, the form as sent: a non-admin (the
	// contract's code), an amount with more decimals than the scale, an
	// empty amount.
	code, _, body = e.page("Org1/Agent1", "POST", "/allocations", grant, origin)
	if code != 403 {
		t.Fatalf("a non-admin granting: %d\n%s", code, body)
	}
	pageHas(t, "refused grant", body, "(refusal code: denied)", `<h1>Prepaid allocations</h1>`)
	bad := url.Values{}
	for k, v := range grant {
		bad[k] = v
	}
	bad.Set("amount", "12.345")
	code, _, body = e.page("Org1/Admin", "POST", "/allocations", bad, origin)
	if code != 400 || !strings.Contains(body, "decimals") {
		t.Fatalf("a bad amount: %d\n%s", code, body)
	}
	pageHas(t, "the form kept", body, `value="feb"`, `value="12.345"`)
	bad.Set("amount", "")
	if code, _, _ := e.page("Org1/Admin", "POST", "/allocations", bad, origin); code != 400 {
		t.Fatalf("an empty amount: %d", code)
	}
	bad.Set("amount", "1")
	bad.Set("scale", "two")
	if code, _, _ := e.page("Org1/Admin", "POST", "/allocations", bad, origin); code != 400 {
		t.Fatalf("a bad scale: %d", code)
	}
	code, h, body := e.page("Org1/Admin", "POST", "/allocations", grant, origin)
	wantRedirect(t, "grant", code, h, body, "/allocations?done=granted")
	code, _, _ = e.page("Org1/Admin", "POST", "/allocations", grant, origin)
	if code != 409 {
		t.Fatalf("the same grant again: %d", code)
	}

	_, _, body = e.page("Org1/Admin", "GET", "/allocations?done=granted", nil, "")
	pageHas(t, "granted", body, "Allocation granted.", "To Org2MSP", `<tr data-id="feb">`, "100.00 CNY", `action="/allocations/Org2MSP/feb/topups"`, "0%")
	_, _, body = e.page("Org2/Admin", "GET", "/allocations", nil, "")
	pageHas(t, "the consumer's", body, "From Org1MSP", `<tr data-id="feb">`, "100.00 CNY")
	if strings.Contains(body, "/topups") {
		t.Fatalf("the consumer is offered a top-up:\n%s", body)
	}

	// Top-ups: the provider's admins.
	top := "/allocations/Org2MSP/feb/topups"
	if code, _, body := e.page("Org1/Agent1", "POST", top, url.Values{"amount": {"1"}}, origin); code != 403 || !strings.Contains(body, "(refusal code: denied)") {
		t.Fatalf("a non-admin topping up: %d\n%s", code, body)
	}
	if code, _, _ := e.page("Org1/Admin", "POST", top, url.Values{"amount": {"1"}}, "https://evil.example"); code != 403 {
		t.Fatalf("a cross-site top-up: %d", code)
	}
	if code, _, _ := e.page("Org1/Admin", "POST", top, url.Values{"amount": {"0.5e1"}}, origin); code != 400 {
		t.Fatalf("a bad top-up: %d", code)
	}
	if code, _, body := e.page("Org1/Admin", "POST", "/allocations/Org2MSP/nope/topups", url.Values{"amount": {"1"}}, origin); code != 404 || !strings.Contains(body, "(refusal code: not_found)") {
		t.Fatalf("an unknown allocation: %d\n%s", code, body)
	}
	code, h, body = e.page("Org1/Admin", "POST", top, url.Values{"amount": {"50.00"}}, origin)
	wantRedirect(t, "top-up", code, h, body, "/allocations?done=topped")

	// A February bill draws on it: the consumer sees the balance drop.
	b := e.febBill(t, "ecs-feb")
	_, _, body = e.page("Org2/User1", "GET", "/allocations", nil, "")
	pageHas(t, "after a bill", body, "150.00 CNY", client.FormatMoney(b.Amount, 2)+" CNY", client.FormatMoney(15000-b.Amount, 2)+" CNY")
}

func TestAllocRow(t *testing.T) {
	r := allocRowOf(model.Allocation{Amount: 1000, Used: 1250, HardStop: true, Reached: []int64{80, 100}})
	if r.Pct != 125 || !r.PctOK || !r.Stopped || r.Reached != "80%, 100%" {
		t.Fatalf("overspent: %+v", r)
	}
	r = allocRowOf(model.Allocation{Amount: 3, Used: 2})
	if r.Pct != 66 || r.Stopped || r.Reached != "" {
		t.Fatalf("two thirds: %+v", r)
	}
	if r := allocRowOf(model.Allocation{Amount: 0, Used: 5}); r.PctOK {
		t.Fatalf("nothing granted: %+v", r)
	}
	// Exact near int64's end: no overflow.
	if r := allocRowOf(model.Allocation{Amount: 1 << 62, Used: 1 << 61}); r.Pct != 50 {
		t.Fatalf("large: %+v", r)
	}
}

func TestConsoleCorrectAndRerate(t *testing.T) {
	e, bills := settleEnv(t)
	origin := e.ts.URL
	usage := "/usage?resource=ecs-1"
	var recs Page[model.UsageRecord]
	e.get("Org1/Agent1", "/api/v1/resources/ecs-1/usage").json(t, &recs)
	rec := recs.Items[0]

	// The correction forms: the provider's identities.
	_, _, body := e.page("Org1/Agent1", "GET", usage, nil, "")
	pageHas(t, "provider's usage", body, `<tr data-id="`+rec.ID+`">`, `action="/usage/ecs-1/corrections"`)
	_, _, body = e.page("Org2/User1", "GET", usage, nil, "")
	if strings.Contains(body, "/corrections") {
		t.Fatalf("the consumer is offered a correction:\n%s", body)
	}
	fix := url.Values{"metric": {rec.Metric}, "start": {"1767229200"}, "end": {"1767265200"}, "id": {rec.ID}, "quantity": {"5"}, "reason": {"the agent double-counted"}}
	post := "/usage/ecs-1/corrections"
	if code, _, body := e.page("Org2/Admin", "POST", post, fix, origin); code != 403 || !strings.Contains(body, "(refusal code: denied)") {
		t.Fatalf("the consumer correcting: %d\n%s", code, body)
	}
	if code, _, _ := e.page("Org1/Agent1", "POST", post, fix, "https://evil.example"); code != 403 {
		t.Fatalf("a cross-site correction: %d", code)
	}
	float := url.Values{}
	for k, v := range fix {
		float[k] = v
	}
	float.Set("quantity", "4.5")
	if code, _, _ := e.page("Org1/Agent1", "POST", post, float, origin); code != 400 {
		t.Fatalf("a fractional quantity: %d", code)
	}
	float.Set("quantity", "5")
	float.Set("start", "1767229201")
	float.Set("id", "") // the derived record of another period: none
	if code, _, body := e.page("Org1/Agent1", "POST", post, float, origin); code != 404 || !strings.Contains(body, "(refusal code: not_found)") || !strings.Contains(body, "<h1>Usage</h1>") {
		t.Fatalf("an unknown record: %d\n%s", code, body)
	}
	code, h, body := e.page("Org1/Agent1", "POST", post, fix, origin)
	wantRedirect(t, "correction", code, h, body, usage+"&done=corrected")
	code, h, body = e.page("Org1/Agent1", "POST", post, fix, origin)
	wantRedirect(t, "the same correction", code, h, body, usage+"&done=same")
	_, _, body = e.page("Org2/User1", "GET", usage+"&done=corrected", nil, "")
	pageHas(t, "corrected usage", body, "Correction recorded.", "<code>"+rec.ID+"</code>: the agent double-counted")

	// Re-rating from the bill's page: its provider's admins.
	bill := "/bills/" + bills[0]
	_, _, body = e.page("Org1/Admin", "GET", bill, nil, "")
	pageHas(t, "provider's bill", body, `id="rerate"`)
	for _, who := range []string{"Org2/Admin", "Org1/Agent1"} {
		if _, _, body := e.page(who, "GET", bill, nil, ""); strings.Contains(body, `id="rerate"`) {
			t.Fatalf("%s is offered the re-rating:\n%s", who, body)
		}
	}
	why := url.Values{"reason": {"egress corrected"}}
	if code, _, body := e.page("Org2/Admin", "POST", bill+"/rerate", why, origin); code != 403 || !strings.Contains(body, "(refusal code: denied)") {
		t.Fatalf("the consumer re-rating: %d\n%s", code, body)
	}
	if code, _, _ := e.page("Org1/Admin", "POST", bill+"/rerate", why, "https://evil.example"); code != 403 {
		t.Fatalf("a cross-site re-rating: %d", code)
	}
	if code, _, _ := e.page("Org1/Admin", "POST", bill+"/rerate", url.Values{"reason": {" "}}, origin); code != 400 {
		t.Fatalf("a re-rating without a reason: %d", code)
	}
	code, h, body = e.page("Org1/Admin", "POST", bill+"/rerate", why, origin)
	loc := h.Get("Location")
	if code != 303 || !strings.HasPrefix(loc, bill+"?done=rerated&adjustment=") {
		t.Fatalf("re-rating: %d %q\n%s", code, loc, body)
	}
	adj, err := url.QueryUnescape(strings.TrimPrefix(loc, bill+"?done=rerated&adjustment="))
	if err != nil || !strings.HasPrefix(adj, "ecs-1:") {
		t.Fatalf("the adjustment named %q (%v)", adj, err)
	}
	_, _, body = e.page("Org2/User1", "GET", loc, nil, "")
	pageHas(t, "re-rated bill", body, "Re-rated: an adjustment bill", `id="adjustment"`, `<a href="/bills/`+url.PathEscape(adj)+`">`, "1.60 CNY", "egress corrected")
	// Nothing more to adjust; an adjustment named by a link that is not
	// this bill's is not shown.
	code, h, body = e.page("Org1/Admin", "POST", bill+"/rerate", why, origin)
	wantRedirect(t, "re-rating again", code, h, body, bill+"?done=unchanged")
	_, _, body = e.page("Org1/Admin", "GET", "/bills/"+bills[1]+"?done=rerated&adjustment="+url.QueryEscape(adj), nil, "")
	if strings.Contains(body, `id="adjustment"`) {
		t.Fatalf("another bill's adjustment shown:\n%s", body)
	}
	// An adjustment is not re-rated from its page.
	if _, _, body := e.page("Org1/Admin", "GET", "/bills/"+url.PathEscape(adj), nil, ""); strings.Contains(body, `id="rerate"`) {
		t.Fatalf("an adjustment offers re-rating:\n%s", body)
	}
}
