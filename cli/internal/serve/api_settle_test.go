package serve

import (
	"bytes"
	"context"
	"encoding/csv"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fedmeter/fedmeter/chaincode/model"
	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/fedmeter/fedmeter/cli/internal/statementdoc"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// wantRefused is a refusal of a non-party: 403 or 404, as the contract
// answers for a bill (never the document).
func wantRefused(t *testing.T, r resp, what string) {
	t.Helper()
	if r.status != 403 && r.status != 404 {
		t.Fatalf("%s: %d, want 403 or 404:\n%s", what, r.status, r.body)
	}
	r.problem(t)
}

// settleEnv is newEnv with Org1's two January bills to Org2 and the clock
// in February.
func settleEnv(t *testing.T) (*env, []string) {
	e := newEnv(t)
	bills := e.story(t, 2)
	e.at(35 * 24 * time.Hour)
	return e, bills
}

func TestSettlementRoutes(t *testing.T) {
	e, bills := settleEnv(t)
	jan := StatementIssueBody{ID: "st-2026-01", Consumer: "Org2MSP", Currency: "CNY", From: "2026-01-01", To: "2026-02-01T00:00:00Z"}

	// Who may issue: a provider's admin, of its own bills.
	wantCode(t, e.post("Org1/Agent1", "/api/v1/statements", jan), 403, "denied")
	back := jan
	back.Consumer = "Org1MSP" // Org2 has billed Org1 nothing
	wantCode(t, e.post("Org2/Admin", "/api/v1/statements", back), 409, "conflict")
	bad := jan
	bad.From = "January"
	p := wantCode(t, e.post("Org1/Admin", "/api/v1/statements", bad), 400, "")
	if !strings.Contains(p.Detail, "from") {
		t.Fatalf("a bad from: %+v", p)
	}
	r := e.post("Org1/Admin", "/api/v1/statements", jan)
	want(t, r, 201)
	var st model.Statement
	r.json(t, &st)
	var b1, b2 model.Bill
	e.get("Org1/Admin", "/api/v1/bills/"+bills[0]).json(t, &b1)
	e.get("Org1/Admin", "/api/v1/bills/"+bills[1]).json(t, &b2)
	if st.Bills != 2 || st.Total != b1.Amount+b2.Amount || st.Status != model.StatementOpen || st.Period.Start != day.Unix() {
		t.Fatalf("issued: %s", r.body)
	}
	wantCode(t, e.post("Org1/Admin", "/api/v1/statements", jan), 409, "conflict") // the same ID again

	// Lists: each side sees it in its role.
	var pg Page[model.Statement]
	e.get("Org2/User1", "/api/v1/statements?role=consumer").json(t, &pg)
	if len(pg.Items) != 1 || pg.Items[0].ID != st.ID {
		t.Fatalf("Org2's statements: %+v", pg)
	}
	e.get("Org2/User1", "/api/v1/statements?role=provider").json(t, &pg)
	if len(pg.Items) != 0 {
		t.Fatalf("Org2 issued no statement: %+v", pg)
	}
	e.get("Org1/Admin", "/api/v1/statements?status=open").json(t, &pg)
	if len(pg.Items) != 1 {
		t.Fatalf("Org1's open statements: %+v", pg)
	}
	e.get("Org1/Admin", "/api/v1/statements?status=paid").json(t, &pg)
	if len(pg.Items) != 0 {
		t.Fatalf("Org1's paid statements: %+v", pg)
	}
	want(t, e.get("Org1/Admin", "/api/v1/statements?status=settled"), 400)

	// One statement, checked; a non-party is refused.
	var v StatementView
	e.get("Org2/User1", "/api/v1/statements/st-2026-01").json(t, &v)
	if !v.Check.OK || len(v.Bills) != 2 || v.Bills[0].ID != bills[0] || v.Outstanding != st.Total {
		t.Fatalf("statement view: %+v", v)
	}
	wantRefused(t, e.get("Org3/Admin", "/api/v1/statements/st-2026-01"), "Org3 reads Org1's statement to Org2")
	wantRefused(t, e.get("Org3/Admin", "/api/v1/statements/st-2026-01/export.csv"), "Org3 exports it")
	wantCode(t, e.get("Org2/User1", "/api/v1/statements/nope"), 404, "not_found")

	// The CSV is the command's, byte for byte.
	r = e.get("Org2/User1", "/api/v1/statements/st-2026-01/export.csv")
	want(t, r, 200)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") || !strings.Contains(r.header.Get("Content-Disposition"), "statement-st-2026-01.csv") {
		t.Fatalf("CSV headers: %v", r.header)
	}
	var wantCSV bytes.Buffer
	if err := statementdoc.WriteCSV(&wantCSV, v.Statement, v.Bills); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.body, wantCSV.Bytes()) {
		t.Fatalf("CSV:\n%s\nwant:\n%s", r.body, wantCSV.Bytes())
	}
	rows, err := csv.NewReader(bytes.NewReader(r.body)).ReadAll()
	if err != nil || len(rows) != 3 || !slices.Equal(rows[0], statementdoc.CSVHeader) || rows[1][3] != bills[0] {
		t.Fatalf("CSV rows %v (%v)", rows, err)
	}

	// Acknowledge and dispute: the consumer's admins only.
	wantCode(t, e.post("Org1/Admin", "/api/v1/statements/st-2026-01/acknowledge", nil), 403, "denied")
	wantCode(t, e.post("Org2/User1", "/api/v1/statements/st-2026-01/acknowledge", nil), 403, "denied")
	wantCode(t, e.post("Org2/Admin", "/api/v1/statements/st-2026-01/dispute", ReasonBody{}), 400, "bad_argument")
	r = e.post("Org2/Admin", "/api/v1/statements/st-2026-01/dispute", ReasonBody{Reason: "ecs-2 ran one hour less"})
	want(t, r, 200)
	r.json(t, &st)
	if st.Status != model.StatementDisputed || st.Dispute == nil || st.Dispute.Reason != "ecs-2 ran one hour less" {
		t.Fatalf("disputed: %s", r.body)
	}
	r = e.post("Org2/Admin", "/api/v1/statements/st-2026-01/acknowledge", nil)
	want(t, r, 200)
	r.json(t, &st)
	if st.Status != model.StatementAcknowledged {
		t.Fatalf("acknowledged: %s", r.body)
	}

	// Payments: bad amounts never reach the ledger.
	pay := "/api/v1/statements/st-2026-01/payments"
	for _, b := range []PaymentBody{
		{Reference: "x"},                         // no amount
		{Reference: "x", Amount: -5},             // negative
		{Reference: "x", AmountDecimal: "1.234"}, // more decimals than the scale
		{Reference: "x", AmountDecimal: "-1"},    // a sign
		{Reference: "x", AmountDecimal: "0"},     // zero
		{Reference: "x", AmountDecimal: "1e3"},   // not digits
		{Reference: "x", Amount: 5, AmountDecimal: "0.05"},
		{Reference: "x", Amount: 5, Date: "yesterday"},
	} {
		p := wantCode(t, e.post("Org2/Admin", pay, b), 400, "")
		if p.Kind != "invalid" {
			t.Fatalf("payment %+v: %+v", b, p)
		}
	}
	want(t, e.do("Org2/Admin", "POST", pay, "application/json", []byte(`{"reference":"x","amount":12.5}`)), 400) // a float
	wantCode(t, e.post("Org2/Admin", pay, PaymentBody{Reference: "x", Amount: st.Total + 1}), 409, "conflict")   // more than outstanding
	wantCode(t, e.post("Org3/Admin", pay, PaymentBody{Reference: "x", Amount: 1}), 403, "denied")
	// Part in minor units, the rest as a decimal string.
	r = e.post("Org2/Admin", pay, PaymentBody{Reference: "wire-1", Amount: 100, Date: "2026-02-03"})
	want(t, r, 201)
	r = e.post("Org2/Admin", pay, PaymentBody{Reference: "wire-2", AmountDecimal: client.FormatMoney(st.Total-100, 2)})
	want(t, r, 201)
	r.json(t, &st)
	if len(st.Payments) != 2 || st.Payments[0].Date != day.Add(33*24*time.Hour).Unix() || st.Payments[1].Amount != st.Total-100 || st.Outstanding() != 0 {
		t.Fatalf("payments: %s", r.body)
	}
	// Confirm: the payee only, once.
	wantCode(t, e.post("Org2/Admin", pay+"/wire-1/confirm", nil), 403, "denied")
	wantCode(t, e.post("Org1/Admin", pay+"/wire-9/confirm", nil), 404, "not_found")
	want(t, e.post("Org1/Admin", pay+"/wire-1/confirm", nil), 200)
	wantCode(t, e.post("Org1/Admin", pay+"/wire-1/confirm", nil), 409, "conflict")
	r = e.post("Org1/Admin", pay+"/wire-2/confirm", nil)
	want(t, r, 200)
	r.json(t, &st)
	if st.Status != model.StatementPaid || st.Confirmed != st.Total || st.Paid == nil {
		t.Fatalf("paid: %s", r.body)
	}
	// Money moved: no void.
	wantCode(t, e.post("Org1/Admin", "/api/v1/statements/st-2026-01/void", ReasonBody{Reason: "wrong period"}), 409, "conflict")

	// A credit note: the provider's admins, a positive amount.
	credit := "/api/v1/bills/" + bills[0] + "/credits"
	wantCode(t, e.post("Org2/Admin", credit, CreditBody{Amount: 100, Reason: "goodwill"}), 403, "denied")
	wantCode(t, e.post("Org1/Admin", credit, CreditBody{AmountDecimal: "1.001", Reason: "goodwill"}), 400, "")
	wantCode(t, e.post("Org1/Admin", credit, CreditBody{Amount: 100}), 400, "bad_argument") // no reason
	r = e.post("Org1/Admin", credit, CreditBody{AmountDecimal: "1.50", Reason: "goodwill"})
	want(t, r, 201)
	var cr model.Bill
	r.json(t, &cr)
	if cr.Amount != -150 || cr.Adjusts != bills[0] || cr.Reason != "goodwill" {
		t.Fatalf("credit note: %s", r.body)
	}

	// The credit goes on the next statement, which the provider voids.
	e.at(37 * 24 * time.Hour)
	feb := StatementIssueBody{ID: "st-2026-02", Consumer: "Org2MSP", Currency: "CNY", From: "2026-02-01", To: "2026-02-07"}
	want(t, e.post("Org1/Admin", "/api/v1/statements", feb), 201)
	e.get("Org2/User1", "/api/v1/statements/st-2026-02").json(t, &v)
	if !v.Check.OK || len(v.Bills) != 1 || v.Bills[0].ID != cr.ID || v.Statement.Total != -150 {
		t.Fatalf("February: %+v", v)
	}
	wantCode(t, e.post("Org2/Admin", "/api/v1/statements/st-2026-02/void", ReasonBody{Reason: "mine"}), 403, "denied")
	wantCode(t, e.post("Org1/Admin", "/api/v1/statements/st-2026-02/void", ReasonBody{}), 400, "bad_argument")
	r = e.post("Org1/Admin", "/api/v1/statements/st-2026-02/void", ReasonBody{Reason: "issued before the month ended"})
	want(t, r, 200)
	r.json(t, &st)
	if st.Status != model.StatementVoid || st.Voided == nil {
		t.Fatalf("void: %s", r.body)
	}

	// Allocations: the pair's, the caller's org being one of the two.
	r = e.get("Org1/Admin", "/api/v1/allocations?consumer=Org2MSP")
	want(t, r, 200)
	var al model.Allocations
	r.json(t, &al)
	if al.Provider != "Org1MSP" || al.Consumer != "Org2MSP" {
		t.Fatalf("allocations: %s", r.body)
	}
	want(t, e.get("Org1/Admin", "/api/v1/allocations"), 400)
	wantRefused(t, e.get("Org3/Admin", "/api/v1/allocations?provider=Org1MSP&consumer=Org2MSP"), "Org3 reads Org1's allocations to Org2")
}

// settleFake is a gateway whose ledger lists for statement st-1 other
// bills than it states: the check must say so.
type settleFake struct{ fakeGateway }

func (f settleFake) Evaluate(ctx context.Context, fn string, args ...string) ([]byte, error) {
	switch fn {
	case "StatementGet":
		return []byte(`{"id":"st-1","provider":"Org1MSP","consumer":"Org2MSP","currency":"CNY","scale":2,"period":{"start":1767225600,"end":1769904000},
			"bills":1,"bills_hash":"` + model.StatementBillsHash([]string{"ecs-1:000001"}) + `","charges":4904,"credits":0,"total":4904,"status":"open",
			"payments":[],"confirmed":0,"issued_by":{"msp":"Org1MSP","id":"x"},"issued":{"tx":"t","time":1769904000},"updated":{"tx":"t","time":1769904000}}`), nil
	case "StatementBills":
		return []byte(`{"items":[{"id":"ecs-1:000002","kind":"release","provider":"Org1MSP","consumer":"Org2MSP","resource":"ecs-1","resource_type":"ecs",
			"period":{"start":1,"end":2},"rule":{"name":"ecs","version":"1.0.0","hash":"h","prepared_hash":"p","profile":"x"},"gas_used":1,"input_hash":"i",
			"amount":4904,"currency":"CNY","scale":2,"lines":[],"tx":"t","issued_at":2,"issued_by":{"msp":"Org1MSP","id":"x"}}],"count":1,"bookmark":""}`), nil
	}
	return f.fakeGateway.Evaluate(ctx, fn, args...)
}

func TestStatementMismatchShown(t *testing.T) {
	tokens := filepath.Join(t.TempDir(), "p.tokens.json")
	srv, err := New(context.Background(), Options{Backend: settleFake{fakeGateway{"Org1MSP"}}, Tokens: tokens})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ts := httptest.NewServer(srv)
	defer ts.Close()
	tok, _, _ := CreateToken(tokens, "Org1MSP", "Org1MSP", "")
	e := &env{t: t, ts: ts, tokens: map[string]string{"ours": tok}}
	loader := openapi3.NewLoader()
	if e.doc, err = loader.LoadFromData(OpenAPI()); err != nil {
		t.Fatal(err)
	}
	e.doc.Servers = openapi3.Servers{{URL: ts.URL}}
	if e.router, err = legacy.NewRouter(e.doc); err != nil {
		t.Fatal(err)
	}
	r := e.get("ours", "/api/v1/statements/st-1")
	want(t, r, 200)
	var v StatementView
	r.json(t, &v)
	if v.Check.OK || !strings.Contains(v.Check.Error, "hashing to") || len(v.Bills) != 1 || v.Bills[0].ID != "ecs-1:000002" {
		t.Fatalf("a mismatched statement: %s", r.body)
	}
	// No export of bills that are not the statement's.
	r = e.get("ours", "/api/v1/statements/st-1/export.csv")
	if p := r.problem(t); p.Kind != "mismatch" {
		t.Fatalf("export of a mismatched statement: %+v", p)
	}
	// The console says so, as an error.
	req, _ := newCookieRequest(ts.URL+"/statements/st-1", tok)
	res, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body bytes.Buffer
	body.ReadFrom(res.Body)
	if res.StatusCode != 200 || !strings.Contains(body.String(), `class="error" id="check"`) || !strings.Contains(body.String(), "hashing to") ||
		strings.Contains(body.String(), `id="check-ok"`) {
		t.Fatalf("the console's page of a mismatched statement: %d\n%s", res.StatusCode, body.String())
	}
}

// FuzzDayOrTime: a time from a body or a form never panics the server;
// what it accepts is in UTC, and a day is its midnight.
func FuzzDayOrTime(f *testing.F) {
	for _, s := range []string{"2026-01-01", "2026-01-01T10:00:00+08:00", "1767225600", "", "January", "2026-13-01", "-1", "9999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := dayOrTime("from", s)
		if err != nil {
			return
		}
		if !tm.IsZero() && tm.Location() != time.UTC {
			t.Fatalf("dayOrTime(%q) = %v, not UTC", s, tm)
		}
		if len(strings.TrimSpace(s)) == 10 && strings.Count(s, "-") == 2 && (tm.Hour() != 0 || tm.Minute() != 0) {
			t.Fatalf("dayOrTime(%q) = %v, not midnight", s, tm)
		}
	})
}
