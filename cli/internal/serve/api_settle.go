package serve

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/fedmeter/fedmeter/chaincode/model"
	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/fedmeter/fedmeter/cli/internal/statementdoc"
)

// Settlement: statements, payments, credit notes and prepaid allocations
// (chaincode/README.md, "Settlement"). As on the rest of the write side,
// each handler reads its arguments, calls one method of cli/client and
// leaves the decision to the contract: which side may act (the consumer
// acknowledges and disputes, either side records a payment, the payee
// confirms it, the provider voids and credits) and the refusal code when it
// may not. A statement is read with client.StatementBills, which checks its
// bills against its header (hash of the IDs, count, total): a mismatch is
// reported (check.ok false and why), never hidden.

// settleOperations documents the routes of this file in /openapi.json.
var settleOperations = []operation{
	{method: "GET", path: "/api/v1/statements", id: "listStatements", summary: "the caller's org's statements (issued as provider first, then received as consumer), by period end",
		params: []param{roleP, {name: "status", in: "query", desc: "one status", enum: []string{model.StatementOpen, model.StatementAcknowledged,
			model.StatementDisputed, model.StatementPaid, model.StatementVoid}}, pageSize, pageTokenP},
		resp: reflect.TypeFor[model.Statement](), page: true},
	{method: "GET", path: "/api/v1/statements/{id}", id: "getStatement", summary: "a statement with its bills, checked against its header (check.ok false: the bills listed are not the ones it states)",
		params: []param{pathID}, resp: reflect.TypeFor[StatementView]()},
	{method: "GET", path: "/api/v1/statements/{id}/export.csv", id: "exportStatement", summary: "a statement's bills as CSV, one row per bill (what fedmeter statement export writes); refused when the bills do not match the statement",
		params: []param{pathID}, csv: true},
	{method: "POST", path: "/api/v1/statements", id: "issueStatement", summary: "issue a statement to a consumer of the caller's org's bills in a currency whose period ends in [from, to) (a provider admin)",
		body: reflect.TypeFor[StatementIssueBody](), bodyRequired: true, status: 201, resp: reflect.TypeFor[model.Statement]()},
	{method: "POST", path: "/api/v1/statements/{id}/acknowledge", id: "acknowledgeStatement", summary: "the consumer accepts the statement (a consumer admin)",
		params: []param{pathID}, resp: reflect.TypeFor[model.Statement]()},
	{method: "POST", path: "/api/v1/statements/{id}/dispute", id: "disputeStatement", summary: "the consumer disputes the statement, with a reason (a consumer admin)",
		params: []param{pathID}, body: reflect.TypeFor[ReasonBody](), bodyRequired: true, resp: reflect.TypeFor[model.Statement]()},
	{method: "POST", path: "/api/v1/statements/{id}/payments", id: "recordPayment", summary: "record a payment against the statement (an admin of either org); the provider confirms it",
		params: []param{pathID}, body: reflect.TypeFor[PaymentBody](), bodyRequired: true, status: 201, resp: reflect.TypeFor[model.Statement]()},
	{method: "POST", path: "/api/v1/statements/{id}/payments/{reference}/confirm", id: "confirmPayment", summary: "the payee (a provider admin) confirms receipt of a payment; the statement is paid once confirmed payments cover its total",
		params: []param{pathID, {name: "reference", in: "path"}}, resp: reflect.TypeFor[model.Statement]()},
	{method: "POST", path: "/api/v1/statements/{id}/void", id: "voidStatement", summary: "withdraw a statement issued in error, with a reason (a provider admin; no payment recorded): its bills go on the next statement",
		params: []param{pathID}, body: reflect.TypeFor[ReasonBody](), bodyRequired: true, resp: reflect.TypeFor[model.Statement]()},
	{method: "POST", path: "/api/v1/bills/{id}/credits", id: "creditBill", summary: "issue a credit note against a bill (a provider admin): a bill of kind credit whose amount is minus the amount",
		params: []param{pathID}, body: reflect.TypeFor[CreditBody](), bodyRequired: true, status: 201, resp: typeBill},
	{method: "GET", path: "/api/v1/allocations", id: "listAllocations", summary: "the prepaid allocations a provider granted a consumer, with their balances (the caller's org is one of the two)",
		params: []param{{name: "provider", in: "query", desc: "the provider's MSP ID (default the caller's org)"},
			{name: "consumer", in: "query", desc: "the consumer's MSP ID (default the caller's org)"}},
		resp: reflect.TypeFor[model.Allocations]()},
}

func init() { operations = append(operations, settleOperations...) }

// StatementView is a statement with its bills in statement order, the
// result of checking them against it, and what is still to pay.
type StatementView struct {
	Statement *model.Statement `json:"statement"`
	Bills     []model.Bill     `json:"bills"`
	Check     StatementCheck   `json:"check"`
	// Outstanding is the total less every recorded payment, confirmed or
	// not (never below zero), in minor units.
	Outstanding int64 `json:"outstanding"`
}

// StatementCheck is whether the bills listed for a statement are the ones
// it states: the SHA-256 of their IDs is its bills_hash, their count its
// bills and their amounts sum to its total.
type StatementCheck struct {
	OK bool `json:"ok"`
	// Error says what differs when OK is false.
	Error string `json:"error,omitempty"`
}

// statementView reads statement id with its bills through
// client.StatementBills. On a mismatch the view holds the header, the
// bills as listed and the mismatch; any other error is returned.
func statementView(r *http.Request, c *client.Client, id string) (*StatementView, error) {
	st, bills, err := c.StatementBills(r.Context(), id)
	if err == nil {
		return &StatementView{Statement: st, Bills: bills, Check: StatementCheck{OK: true}, Outstanding: st.Outstanding()}, nil
	}
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Kind != client.KindMismatch {
		return nil, err
	}
	st, rerr := c.Statement(r.Context(), id)
	if rerr != nil {
		return nil, rerr
	}
	v := &StatementView{Statement: st, Bills: []model.Bill{}, Check: StatementCheck{Error: sentence(ce.Msg)}, Outstanding: st.Outstanding()}
	// The bills as listed, so that the difference can be seen.
	for bookmark, n := "", 0; n < 100; n++ {
		items, next, lerr := evalPage[model.Bill](r, c, "StatementBills", id, "500", bookmark)
		if lerr != nil {
			return nil, lerr
		}
		v.Bills = append(v.Bills, items...)
		if next == "" || next == bookmark {
			break
		}
		bookmark = next
	}
	return v, nil
}

func (s *Server) listStatements(r *http.Request, c *client.Client) (int, any, error) {
	role, err := oneOf(r, "role", "provider", "consumer")
	if err != nil {
		return 0, nil, err
	}
	status, err := oneOf(r, "status", model.StatementOpen, model.StatementAcknowledged, model.StatementDisputed, model.StatementPaid, model.StatementVoid)
	if err != nil {
		return 0, nil, err
	}
	phases := [][]string{{"StatementList", "provider", status}, {"StatementList", "consumer", status}}
	switch role {
	case "provider":
		phases = phases[:1]
	case "consumer":
		phases = phases[1:]
	}
	p, err := phasedPage[model.Statement](r, c, phases...)
	return 200, p, err
}

func (s *Server) getStatement(r *http.Request, c *client.Client) (int, any, error) {
	v, err := statementView(r, c, r.PathValue("id"))
	return 200, v, err
}

// exportStatement writes a statement's CSV (statementdoc.WriteCSV, what
// fedmeter statement export writes), refusing a statement whose bills do
// not match it: an export's lines are the bills on the ledger.
func (s *Server) exportStatement(w http.ResponseWriter, r *http.Request) {
	writeStatementCSV(w, r, callerOf(r).c, r.PathValue("id"))
}

func writeStatementCSV(w http.ResponseWriter, r *http.Request, c *client.Client, id string) {
	st, bills, err := c.StatementBills(r.Context(), id)
	if err != nil {
		writeProblem(w, r, problemOf(err, r.URL.Path))
		return
	}
	var b bytes.Buffer
	if err := statementdoc.WriteCSV(&b, st, bills); err != nil {
		writeProblem(w, r, problemOf(err, r.URL.Path))
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+csvName(st.ID)+`"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	w.Write(b.Bytes())
}

// csvName is a file name for statement id's CSV: the ID with anything but
// letters, digits, dot, dash and underscore replaced.
func csvName(id string) string {
	return "statement-" + strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '_'
	}, id) + ".csv"
}

// dayOrTime reads a time a person or a program sends: RFC 3339, a day
// (YYYY-MM-DD, its midnight UTC) or Unix seconds. Empty is the zero time.
func dayOrTime(field, v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, nil
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Unix(n, 0).UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, badArg("%s %q is not a time: it must be RFC 3339 (2026-01-01T00:00:00Z), a day (2026-01-01) or Unix seconds", field, v)
	}
	return t.UTC(), nil
}

// StatementIssueBody is POST /api/v1/statements's body: the statement's ID,
// the consumer, the currency and the period [from, to) (RFC 3339, a day
// YYYY-MM-DD or Unix seconds).
type StatementIssueBody struct {
	ID       string `json:"id"`
	Consumer string `json:"consumer"`
	Currency string `json:"currency"`
	From     string `json:"from"`
	To       string `json:"to"`
}

func issueStatement(r *http.Request, c *client.Client, b StatementIssueBody) (*model.Statement, error) {
	from, err := dayOrTime("from", b.From)
	if err != nil {
		return nil, err
	}
	to, err := dayOrTime("to", b.To)
	if err != nil {
		return nil, err
	}
	if from.IsZero() || to.IsZero() {
		return nil, badArg("from and to are required: a statement covers the bills whose period ends in [from, to)")
	}
	return c.IssueStatement(r.Context(), client.StatementRequest{ID: b.ID, Consumer: b.Consumer, Currency: b.Currency, From: from, To: to})
}

func (s *Server) issueStatement(r *http.Request, c *client.Client) (int, any, error) {
	var b StatementIssueBody
	if err := readJSON(r, &b); err != nil {
		return 0, nil, err
	}
	st, err := issueStatement(r, c, b)
	return http.StatusCreated, st, err
}

func (s *Server) acknowledgeStatement(r *http.Request, c *client.Client) (int, any, error) {
	st, err := c.AcknowledgeStatement(r.Context(), r.PathValue("id"))
	return 200, st, err
}

// ReasonBody is the body of a dispute or a void: why.
type ReasonBody struct {
	Reason string `json:"reason"`
}

func (s *Server) disputeStatement(r *http.Request, c *client.Client) (int, any, error) {
	var b ReasonBody
	if err := readJSON(r, &b); err != nil {
		return 0, nil, err
	}
	st, err := c.DisputeStatement(r.Context(), r.PathValue("id"), b.Reason)
	return 200, st, err
}

func (s *Server) voidStatement(r *http.Request, c *client.Client) (int, any, error) {
	var b ReasonBody
	if err := readJSON(r, &b); err != nil {
		return 0, nil, err
	}
	st, err := c.VoidStatement(r.Context(), r.PathValue("id"), b.Reason)
	return 200, st, err
}

// PaymentBody is POST /api/v1/statements/{id}/payments's body: the payer's
// reference, the amount (one of amount, in minor units, or
// amount_decimal, in the currency's units as a string: "1250.50"; never a
// float) and the date it was paid (RFC 3339, a day or Unix seconds; empty:
// now).
type PaymentBody struct {
	Reference     string `json:"reference"`
	Amount        int64  `json:"amount,omitempty"`
	AmountDecimal string `json:"amount_decimal,omitempty"`
	Date          string `json:"date,omitempty"`
}

// CreditBody is POST /api/v1/bills/{id}/credits's body: the credit's
// amount (amount in minor units, or amount_decimal in the currency's units
// as a string) and the reason.
type CreditBody struct {
	Amount        int64  `json:"amount,omitempty"`
	AmountDecimal string `json:"amount_decimal,omitempty"`
	Reason        string `json:"reason"`
}

// amountOf is the minor units of an amount sent as amount (minor units) or
// amount_decimal (currency units at scale, read exactly by
// statementdoc.ParseAmount): exactly one, more than zero. scale is called
// only for a decimal.
func amountOf(minor int64, decimal string, scale func() (int, error)) (int64, error) {
	switch {
	case minor != 0 && decimal != "":
		return 0, badArg("amount and amount_decimal are both set: send one (amount in minor units, or amount_decimal in the currency's units)")
	case decimal != "":
		sc, err := scale()
		if err != nil {
			return 0, err
		}
		v, err := statementdoc.ParseAmount("amount_decimal", strings.TrimSpace(decimal), sc)
		if err == nil && v == 0 {
			return 0, badArg("amount_decimal %q is zero: an amount is more than zero", decimal)
		}
		return v, err
	case minor <= 0:
		return 0, badArg("amount %d is not valid: it is minor units of the currency, more than zero (or send amount_decimal)", minor)
	}
	return minor, nil
}

func recordPayment(r *http.Request, c *client.Client, id string, b PaymentBody) (*model.Statement, error) {
	amount, err := amountOf(b.Amount, b.AmountDecimal, func() (int, error) {
		st, err := c.Statement(r.Context(), id)
		if err != nil {
			return 0, err
		}
		return st.Scale, nil
	})
	if err != nil {
		return nil, err
	}
	date, err := dayOrTime("date", b.Date)
	if err != nil {
		return nil, err
	}
	return c.RecordPayment(r.Context(), id, client.PaymentRecord{Reference: b.Reference, Amount: amount, Date: date})
}

func (s *Server) recordPayment(r *http.Request, c *client.Client) (int, any, error) {
	var b PaymentBody
	if err := readJSON(r, &b); err != nil {
		return 0, nil, err
	}
	st, err := recordPayment(r, c, r.PathValue("id"), b)
	return http.StatusCreated, st, err
}

func (s *Server) confirmPayment(r *http.Request, c *client.Client) (int, any, error) {
	st, err := c.ConfirmPayment(r.Context(), r.PathValue("id"), r.PathValue("reference"))
	return 200, st, err
}

func creditBill(r *http.Request, c *client.Client, id string, b CreditBody) (*model.Bill, error) {
	amount, err := amountOf(b.Amount, b.AmountDecimal, func() (int, error) {
		bill, err := c.Bill(r.Context(), id)
		if err != nil {
			return 0, err
		}
		return bill.Scale, nil
	})
	if err != nil {
		return nil, err
	}
	return c.CreditBill(r.Context(), id, amount, b.Reason)
}

func (s *Server) creditBill(r *http.Request, c *client.Client) (int, any, error) {
	var b CreditBody
	if err := readJSON(r, &b); err != nil {
		return 0, nil, err
	}
	bill, err := creditBill(r, c, r.PathValue("id"), b)
	return http.StatusCreated, bill, err
}

func (s *Server) listAllocations(r *http.Request, c *client.Client) (int, any, error) {
	q := r.URL.Query()
	provider, consumer := q.Get("provider"), q.Get("consumer")
	if provider == "" {
		provider = c.MSPID()
	}
	if consumer == "" {
		consumer = c.MSPID()
	}
	if provider == consumer {
		return 0, nil, badArg("provider and consumer are both %s: name the other org (?provider= or ?consumer=)", provider)
	}
	a, err := c.Allocations(r.Context(), provider, consumer)
	return 200, a, err
}

// statementPath is the console's or the API's path of statement id.
func statementPath(prefix, id string) string { return prefix + "/statements/" + url.PathEscape(id) }
