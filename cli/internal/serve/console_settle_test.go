package serve

import (
	"bytes"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/fedmeter/fedmeter/chaincode/model"
	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/fedmeter/fedmeter/cli/internal/statementdoc"
)

func newCookieRequest(u, tok string) (*http.Request, error) {
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		return nil, err
	}
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: tok})
	return req, nil
}

// wantRedirect is a form's answer: 303 to a page with its flash.
func wantRedirect(t *testing.T, what string, code int, h http.Header, body, to string) {
	t.Helper()
	if code != http.StatusSeeOther || h.Get("Location") != to {
		t.Fatalf("%s: %d to %q, want 303 to %q\n%s", what, code, h.Get("Location"), to, body)
	}
}

func TestConsoleSettlement(t *testing.T) {
	e, bills := settleEnv(t)
	origin := e.ts.URL
	stmt := "/statements/st-jan"

	// The page and the issue form: a provider admin sees the form, a
	// non-admin does not.
	code, _, body := e.page("Org1/Admin", "GET", "/statements", nil, "")
	if code != 200 {
		t.Fatalf("/statements: %d\n%s", code, body)
	}
	pageHas(t, "statements", body, `<a href="/statements" class="on">`, `<form method="post" action="/statements"`, `<option value="Org2MSP">`)
	if _, _, body := e.page("Org1/Agent1", "GET", "/statements", nil, ""); strings.Contains(body, `action="/statements"`) {
		t.Fatalf("a non-admin is offered the issue form:\n%s", body)
	}
	issue := url.Values{"id": {"st-jan"}, "consumer": {"Org2MSP"}, "currency": {"CNY"}, "from": {"2026-01-01"}, "to": {"2026-02-01"}}
	// Another site's form; the consumer issuing (nothing of Org2's to
	// state): refused on the page, with the code, the form kept.
	if code, _, _ := e.page("Org1/Admin", "POST", "/statements", issue, "https://evil.example"); code != 403 {
		t.Fatalf("a cross-site issue: %d", code)
	}
	back := url.Values{"id": {"st-back"}, "consumer": {"Org1MSP"}, "currency": {"CNY"}, "from": {"2026-01-01"}, "to": {"2026-02-01"}}
	code, _, body = e.page("Org2/Admin", "POST", "/statements", back, origin)
	if code != 409 {
		t.Fatalf("Org2 issuing to Org1: %d\n%s", code, body)
	}
	pageHas(t, "refused issue", body, `<p class="error">`, "(refusal code: conflict)", `value="st-back"`)
	code, h, body := e.page("Org1/Admin", "POST", "/statements", issue, origin)
	wantRedirect(t, "issue", code, h, body, stmt+"?done=issued")

	// The statement as the consumer's admin: checked, the consumer's forms.
	var v StatementView
	e.get("Org2/Admin", "/api/v1/statements/st-jan").json(t, &v)
	total := client.FormatMoney(v.Statement.Total, 2) + " CNY"
	code, _, body = e.page("Org2/Admin", "GET", stmt+"?done=issued", nil, "")
	if code != 200 {
		t.Fatalf("statement: %d\n%s", code, body)
	}
	pageHas(t, "statement", body, "Statement issued.", `id="check-ok"`, total, `<a href="/bills/`+bills[0]+`">`, `id="acknowledge"`, `id="dispute"`, `id="pay"`,
		`href="/statements/st-jan/print"`, `href="/statements/st-jan/export.csv"`, `<time datetime="2026-01-01T00:00:00Z"`)
	if strings.Contains(body, `id="void"`) || strings.Contains(body, "ZgotmplZ") {
		t.Fatalf("the consumer is offered void, or a value was refused:\n%s", body)
	}
	// The provider's admin: void and pay, not acknowledge; a non-admin of
	// the consumer: no forms; another org: refused.
	_, _, body = e.page("Org1/Admin", "GET", stmt, nil, "")
	pageHas(t, "provider's statement", body, `id="void"`, `id="pay"`)
	if strings.Contains(body, `id="acknowledge"`) || strings.Contains(body, `id="dispute"`) {
		t.Fatalf("the provider is offered the consumer's forms:\n%s", body)
	}
	_, _, body = e.page("Org2/User1", "GET", stmt, nil, "")
	if strings.Contains(body, "<form method=\"post\" action=\"/statements/") {
		t.Fatalf("a non-admin is offered forms:\n%s", body)
	}
	if code, _, body := e.page("Org3/Admin", "GET", stmt, nil, ""); (code != 403 && code != 404) || strings.Contains(body, total) {
		t.Fatalf("Org3 reads the statement: %d\n%s", code, body)
	}
	for _, p := range []string{stmt + "/print", stmt + "/export.csv"} {
		if code, _, _ := e.page("Org3/Admin", "GET", p, nil, ""); code != 403 && code != 404 {
			t.Fatalf("Org3 reads %s: %d", p, code)
		}
	}
	// The print page and the CSV are the command's.
	var wantHTML, wantCSV bytes.Buffer
	statementdoc.WriteHTML(&wantHTML, v.Statement, v.Bills)
	statementdoc.WriteCSV(&wantCSV, v.Statement, v.Bills)
	if code, _, body := e.page("Org2/User1", "GET", stmt+"/print", nil, ""); code != 200 || body != wantHTML.String() {
		t.Fatalf("print page: %d\n%s", code, body)
	}
	if code, h, body := e.page("Org2/User1", "GET", stmt+"/export.csv", nil, ""); code != 200 || body != wantCSV.String() || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") {
		t.Fatalf("CSV: %d %v\n%s", code, h, body)
	}

	// Refusals come back on the page with their code: the provider
	// acknowledging; a bad amount; an empty dispute.
	code, _, body = e.page("Org1/Admin", "POST", stmt+"/acknowledge", url.Values{}, origin)
	if code != 403 {
		t.Fatalf("the provider acknowledging: %d", code)
	}
	pageHas(t, "refused acknowledgment", body, "(refusal code: denied)", `<h1>Statement st-jan</h1>`)
	code, _, body = e.page("Org2/Admin", "POST", stmt+"/payments", url.Values{"reference": {"w1"}, "amount": {"12.345"}}, origin)
	if code != 400 || !strings.Contains(body, "decimals") {
		t.Fatalf("a bad amount: %d\n%s", code, body)
	}
	if code, _, _ := e.page("Org2/Admin", "POST", stmt+"/dispute", url.Values{"reason": {""}}, origin); code != 400 {
		t.Fatalf("an empty dispute: %d", code)
	}
	if code, _, _ := e.page("Org2/Admin", "POST", stmt+"/acknowledge", url.Values{}, "https://evil.example"); code != 403 {
		t.Fatalf("a cross-site acknowledgment: %d", code)
	}
	if code, h, _ := e.page("", "POST", stmt+"/acknowledge", url.Values{}, origin); code != 303 || h.Get("Location") != "/login" {
		t.Fatalf("no session: %d %v", code, h)
	}

	// The story: dispute, acknowledge, pay in two parts, confirm.
	code, h, body = e.page("Org2/Admin", "POST", stmt+"/dispute", url.Values{"reason": {"one hour too many"}}, origin)
	wantRedirect(t, "dispute", code, h, body, stmt+"?done=disputed")
	code, h, body = e.page("Org2/Admin", "POST", stmt+"/acknowledge", url.Values{}, origin)
	wantRedirect(t, "acknowledge", code, h, body, stmt+"?done=acknowledged")
	code, h, body = e.page("Org2/Admin", "POST", stmt+"/payments", url.Values{"reference": {"w1"}, "amount": {"1"}, "date": {"2026-02-02"}}, origin)
	wantRedirect(t, "payment", code, h, body, stmt+"?done=paid")
	code, h, body = e.page("Org1/Admin", "POST", stmt+"/payments", url.Values{"reference": {"w2"}, "amount": {client.FormatMoney(v.Statement.Total-100, 2)}}, origin)
	wantRedirect(t, "payment by the provider", code, h, body, stmt+"?done=paid")
	_, _, body = e.page("Org2/Admin", "GET", stmt, nil, "")
	pageHas(t, "after the payments", body, "one hour too many", `data-ref="w1"`, `data-ref="w2"`, "not yet")
	if strings.Contains(body, `/confirm"`) || strings.Contains(body, `id="pay"`) {
		t.Fatalf("the consumer is offered confirm, or a payment beyond the total:\n%s", body)
	}
	_, _, body = e.page("Org1/Admin", "GET", stmt, nil, "")
	pageHas(t, "provider after the payments", body, `action="/statements/st-jan/payments/w1/confirm"`)
	if strings.Contains(body, `id="void"`) {
		t.Fatalf("void offered after a payment:\n%s", body)
	}
	if code, _, body := e.page("Org2/Admin", "POST", stmt+"/payments/w1/confirm", url.Values{}, origin); code != 403 || !strings.Contains(body, "(refusal code: denied)") {
		t.Fatalf("the payer confirming: %d\n%s", code, body)
	}
	for _, ref := range []string{"w1", "w2"} {
		code, h, body = e.page("Org1/Admin", "POST", stmt+"/payments/"+ref+"/confirm", url.Values{}, origin)
		wantRedirect(t, "confirm "+ref, code, h, body, stmt+"?done=confirmed")
	}
	if code, _, body := e.page("Org1/Admin", "POST", stmt+"/payments/w1/confirm", url.Values{}, origin); code != 409 || !strings.Contains(body, "(refusal code: conflict)") {
		t.Fatalf("a second confirmation: %d\n%s", code, body)
	}
	_, _, body = e.page("Org2/Admin", "GET", stmt+"?done=confirmed", nil, "")
	pageHas(t, "paid", body, "Payment confirmed.", `id="status">paid<`, `<td id="outstanding">0.00 CNY</td>`)

	// A credit note from the bill's page: the provider's admins only.
	bill := "/bills/" + bills[0]
	_, _, body = e.page("Org2/Admin", "GET", bill, nil, "")
	if strings.Contains(body, `id="credit"`) {
		t.Fatalf("the consumer is offered the credit form:\n%s", body)
	}
	if code, _, body := e.page("Org2/Admin", "POST", bill+"/credits", url.Values{"amount": {"1"}, "reason": {"x"}}, origin); code != 403 || !strings.Contains(body, "(refusal code: denied)") {
		t.Fatalf("the consumer crediting: %d\n%s", code, body)
	}
	_, _, body = e.page("Org1/Admin", "GET", bill, nil, "")
	pageHas(t, "provider's bill", body, `id="credit"`)
	if code, _, _ := e.page("Org1/Admin", "POST", bill+"/credits", url.Values{"amount": {"abc"}, "reason": {"x"}}, origin); code != 400 {
		t.Fatalf("a bad credit amount: %d", code)
	}
	code, h, body = e.page("Org1/Admin", "POST", bill+"/credits", url.Values{"amount": {"2.50"}, "reason": {"an outage"}}, origin)
	wantRedirect(t, "credit", code, h, body, bill+"?done=credited")
	_, _, body = e.page("Org2/User1", "GET", bill+"?done=credited", nil, "")
	pageHas(t, "credited bill", body, "Credit note issued", "Credit notes and adjustments", "an outage", "-2.50 CNY")

	// The list: paid, nothing outstanding; as the consumer, under received.
	_, _, body = e.page("Org2/User1", "GET", "/statements", nil, "")
	pageHas(t, "Org2's statements", body, `<tr data-id="st-jan">`, `<span class="tag paid">paid</span>`, total)
	var st model.Statement
	e.get("Org2/User1", "/api/v1/statements/st-jan").json(t, &v)
	st = *v.Statement
	if st.Status != model.StatementPaid || len(st.Payments) != 2 {
		t.Fatalf("after the console: %+v", st)
	}
}

// The history is by time: a dispute after an acknowledgment comes after
// it, whatever field holds it.
func TestStatementHistoryOrder(t *testing.T) {
	st := &model.Statement{Provider: "P", Currency: "CNY", Scale: 2, IssuedBy: model.Actor{MSP: "P"}, Issued: model.Stamp{Time: 10},
		Acknowledged: &model.StatementAct{By: model.Actor{MSP: "C"}, Stamp: model.Stamp{Time: 20}},
		Dispute:      &model.StatementAct{By: model.Actor{MSP: "C"}, Reason: "why", Stamp: model.Stamp{Time: 30}},
		Payments:     []model.Payment{{Reference: "w", Amount: 150, RecordedBy: model.Actor{MSP: "C"}, Recorded: model.Stamp{Time: 25}}}}
	var got []string
	for _, h := range historyOf(st) {
		got = append(got, h.What+"@"+strconv.FormatInt(h.At, 10))
	}
	if want := "issued@10 acknowledged@20 payment w recorded@25 disputed@30"; strings.Join(got, " ") != want {
		t.Fatalf("history %q, want %q", strings.Join(got, " "), want)
	}
}
