package serve

import (
	"bytes"
	"cmp"
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/fedmeter/fedmeter/chaincode/model"
	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/fedmeter/fedmeter/cli/internal/statementdoc"
)

// The console's settlement pages: the statements of the caller's org as
// provider and as consumer, a statement with its bills checked against it
// (client.StatementBills: a mismatch is an error on the page, never
// hidden), its printable page and CSV (cli/internal/statementdoc, what
// fedmeter statement export writes), and the forms of each side: the
// consumer acknowledges or disputes, either side records a payment, the
// payee (the provider) confirms it, the provider voids a statement,
// issues one, or credits a bill. Forms are shown only to the side that may
// act; the contract decides in every case, and a refusal comes back on the
// page with its refusal code. Every form is protected as the rule vote is
// (sameOrigin on top of the SameSite=Strict session cookie).

// flashes are the messages a form's redirect asks for (?done=KEY): fixed
// texts, so that a link cannot put words on the page.
var flashes = map[string]string{
	"issued":       "Statement issued.",
	"acknowledged": "Statement acknowledged.",
	"disputed":     "Dispute recorded.",
	"paid":         "Payment recorded; the provider confirms it.",
	"confirmed":    "Payment confirmed.",
	"voided":       "Statement voided: its bills go on the next statement.",
	"credited":     "Credit note issued: it goes on the next statement.",
}

func flashOf(r *http.Request) string { return flashes[r.URL.Query().Get("done")] }

// refusal is an error as the console says it: the detail, and the
// contract's refusal code when it refused.
func refusal(p *Problem) string {
	msg := p.Detail
	if p.Code != "" {
		msg += " (refusal code: " + p.Code + ")"
	}
	if p.Hint != "" {
		msg += ". " + p.Hint
	}
	return msg
}

// ---- statements ----

type statementRow struct {
	S           model.Statement
	Outstanding int64
}

type statementsData struct {
	Issued, Received []statementRow
	Consumers        []string // who the caller's org may issue a statement to
	Admin            bool
	Flash            string
	Form             StatementIssueBody // the issue form's values
}

func rowsOf(ss []model.Statement) []statementRow {
	out := make([]statementRow, len(ss))
	for i := range ss {
		out[i] = statementRow{S: ss[i], Outstanding: ss[i].Outstanding()}
	}
	return out
}

func (s *Server) statementsPage(r *http.Request, c *client.Client) (string, any, error) {
	ctx := r.Context()
	issued, err := c.Statements(ctx, "provider", "")
	if err != nil {
		return "", nil, err
	}
	received, err := c.Statements(ctx, "consumer", "")
	if err != nil {
		return "", nil, err
	}
	cons, err := c.Consortium(ctx)
	if err != nil {
		return "", nil, err
	}
	t, _, _, _ := s.session(r)
	d := statementsData{Issued: rowsOf(issued), Received: rowsOf(received), Admin: s.mayBeAdmin(t), Flash: flashOf(r)}
	for _, m := range cons.Members {
		if m != c.MSPID() {
			d.Consumers = append(d.Consumers, m)
		}
	}
	slices.Sort(d.Consumers)
	if r.Method == http.MethodPost { // a refused issue: the form as sent
		d.Form = StatementIssueBody{ID: r.PostFormValue("id"), Consumer: r.PostFormValue("consumer"), Currency: r.PostFormValue("currency"),
			From: r.PostFormValue("from"), To: r.PostFormValue("to")}
	}
	return "statements", d, nil
}

type statementData struct {
	*StatementView
	Me                 string
	Provider, Consumer bool // the caller's org's side
	Admin              bool
	CanAck, CanDispute bool
	CanPay, CanConfirm bool
	CanVoid            bool
	Flash              string
	Lines              []statementLine
	History            []historyRow
}

// historyRow is one act on a statement, as the page lists them: by time,
// then in the order the statement records them.
type historyRow struct {
	At         int64
	What, By   string
	Note, Code string // Code: a transaction ID
}

// historyOf is a statement's acts by time: issued, the acknowledgment and
// the latest dispute, each payment recorded and confirmed, paid, voided.
func historyOf(st *model.Statement) []historyRow {
	h := []historyRow{{At: st.Issued.Time, What: "issued", By: st.IssuedBy.MSP, Code: st.Issued.Tx}}
	if a := st.Dispute; a != nil {
		h = append(h, historyRow{At: a.Time, What: "disputed", By: a.By.MSP, Note: a.Reason})
	}
	if a := st.Acknowledged; a != nil {
		h = append(h, historyRow{At: a.Time, What: "acknowledged", By: a.By.MSP, Note: a.Reason})
	}
	for _, p := range st.Payments {
		money := client.FormatMoney(p.Amount, st.Scale) + " " + st.Currency
		h = append(h, historyRow{At: p.Recorded.Time, What: "payment " + p.Reference + " recorded", By: p.RecordedBy.MSP, Note: money})
		if p.Confirmed != nil {
			by := st.Provider
			if p.ConfirmedBy != nil {
				by = p.ConfirmedBy.MSP
			}
			h = append(h, historyRow{At: p.Confirmed.Time, What: "payment " + p.Reference + " confirmed", By: by, Note: money})
		}
	}
	if st.Paid != nil {
		h = append(h, historyRow{At: st.Paid.Time, What: "paid"})
	}
	if a := st.Voided; a != nil {
		h = append(h, historyRow{At: a.Time, What: "voided", By: a.By.MSP, Note: a.Reason})
	}
	slices.SortStableFunc(h, func(a, b historyRow) int { return cmp.Compare(a.At, b.At) })
	return h
}

type statementLine struct {
	N    int
	Bill model.Bill
	Late bool
}

func (s *Server) statementPage(r *http.Request, c *client.Client) (string, any, error) {
	v, err := statementView(r, c, r.PathValue("id"))
	if err != nil {
		return "", nil, err
	}
	t, _, _, _ := s.session(r)
	st := v.Statement
	me := c.MSPID()
	d := statementData{StatementView: v, Me: me, Provider: st.Provider == me, Consumer: st.Consumer == me, Admin: s.mayBeAdmin(t), Flash: flashOf(r),
		History: historyOf(st)}
	for i, b := range v.Bills {
		d.Lines = append(d.Lines, statementLine{N: i + 1, Bill: b, Late: b.Period.End < st.Period.Start})
	}
	if d.Admin {
		live := st.Status != model.StatementPaid && st.Status != model.StatementVoid
		d.CanAck = d.Consumer && (st.Status == model.StatementOpen || st.Status == model.StatementDisputed)
		d.CanDispute = d.Consumer && (st.Status == model.StatementOpen || st.Status == model.StatementAcknowledged)
		d.CanPay = (d.Provider || d.Consumer) && live && v.Outstanding > 0
		d.CanConfirm = d.Provider && st.Status != model.StatementVoid
		d.CanVoid = d.Provider && live && len(st.Payments) == 0
	}
	return "statement", d, nil
}

// statementPrint is the statement's page to print: statementdoc's, what
// fedmeter statement export --format html writes.
func (s *Server) statementPrint(w http.ResponseWriter, r *http.Request) {
	s.withSession(w, r, "statements", func(c *client.Client, pd pageData) {
		st, bills, err := c.StatementBills(r.Context(), r.PathValue("id"))
		if err != nil {
			p := problemOf(err, r.URL.Path)
			pd.Title, pd.Error = p.Title, refusal(p)
			s.render(w, p.Status, "error", pd)
			return
		}
		var b bytes.Buffer
		if err := statementdoc.WriteHTML(&b, st, bills); err != nil {
			pd.Title, pd.Error = "Internal error", "the statement's page cannot be drawn: "+err.Error()
			s.render(w, http.StatusInternalServerError, "error", pd)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		w.Write(b.Bytes())
	})
}

// statementCSV is the statement's CSV for the session (the API's route
// takes a bearer token, never the cookie).
func (s *Server) statementCSV(w http.ResponseWriter, r *http.Request) {
	s.withSession(w, r, "statements", func(c *client.Client, pd pageData) {
		writeStatementCSV(w, r, c, r.PathValue("id"))
	})
}

// withSession runs f with the session's client, or sends the browser to
// log in, or says the identity is refused.
func (s *Server) withSession(w http.ResponseWriter, r *http.Request, nav string, f func(c *client.Client, pd pageData)) {
	t, c, ok, err := s.session(r)
	if !ok {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	pd := pageData{Who: t.As, MSPID: t.MSPID, Title: "Refused", Nav: nav}
	if err != nil {
		pd.Error = problemOf(err, "").Detail
		s.render(w, http.StatusForbidden, "error", pd)
		return
	}
	f(c, pd)
}

// formFunc does what a console form asks as the session's client and
// returns where to go next.
type formFunc func(r *http.Request, c *client.Client) (string, error)

// form wraps every console form that writes (a rule vote, the settlement,
// allocation, correction and re-rating forms): the session's identity, a
// same-origin check (sameOrigin), then f; a refusal draws the page the form
// is on (again) with the refusal, in its status.
func (s *Server) form(nav string, again pageFunc, f formFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.withSession(w, r, nav, func(c *client.Client, pd pageData) {
			if !sameOrigin(r) {
				pd.Error = "this form was posted from another site"
				s.render(w, http.StatusForbidden, "error", pd)
				return
			}
			to, err := f(r, c)
			if err == nil {
				http.Redirect(w, r, to, http.StatusSeeOther)
				return
			}
			p := problemOf(err, r.URL.Path)
			pd.Title, pd.Error = p.Title, refusal(p)
			name, data, aerr := again(r, c)
			if aerr != nil {
				s.render(w, p.Status, "error", pd)
				return
			}
			pd.Data = data
			s.render(w, p.Status, name, pd)
		})
	}
}

func statementDone(id, done string) string {
	return "/statements/" + url.PathEscape(id) + "?done=" + done
}

func (s *Server) issueForm(r *http.Request, c *client.Client) (string, error) {
	b := StatementIssueBody{ID: r.PostFormValue("id"), Consumer: r.PostFormValue("consumer"), Currency: r.PostFormValue("currency"),
		From: r.PostFormValue("from"), To: r.PostFormValue("to")}
	st, err := issueStatement(r, c, b)
	if err != nil {
		return "", err
	}
	return statementDone(st.ID, "issued"), nil
}

func (s *Server) acknowledgeForm(r *http.Request, c *client.Client) (string, error) {
	st, err := c.AcknowledgeStatement(r.Context(), r.PathValue("id"))
	if err != nil {
		return "", err
	}
	return statementDone(st.ID, "acknowledged"), nil
}

func (s *Server) disputeForm(r *http.Request, c *client.Client) (string, error) {
	st, err := c.DisputeStatement(r.Context(), r.PathValue("id"), r.PostFormValue("reason"))
	if err != nil {
		return "", err
	}
	return statementDone(st.ID, "disputed"), nil
}

// paymentForm records a payment; its amount is typed in the currency's
// units (statementdoc.ParseAmount at the statement's scale: exact).
func (s *Server) paymentForm(r *http.Request, c *client.Client) (string, error) {
	b := PaymentBody{Reference: r.PostFormValue("reference"), AmountDecimal: r.PostFormValue("amount"), Date: r.PostFormValue("date")}
	if b.AmountDecimal == "" {
		return "", badArg("the amount is empty: type what was paid, in the currency's units (e.g. 12.50)")
	}
	st, err := recordPayment(r, c, r.PathValue("id"), b)
	if err != nil {
		return "", err
	}
	return statementDone(st.ID, "paid"), nil
}

func (s *Server) confirmForm(r *http.Request, c *client.Client) (string, error) {
	st, err := c.ConfirmPayment(r.Context(), r.PathValue("id"), r.PathValue("reference"))
	if err != nil {
		return "", err
	}
	return statementDone(st.ID, "confirmed"), nil
}

func (s *Server) voidForm(r *http.Request, c *client.Client) (string, error) {
	st, err := c.VoidStatement(r.Context(), r.PathValue("id"), r.PostFormValue("reason"))
	if err != nil {
		return "", err
	}
	return statementDone(st.ID, "voided"), nil
}

// ---- a bill's credits ----

// billCredits fills the bill page's settlement part: the credit notes and
// adjustments of the bill (the bills of its resource that adjust it) and
// whether the credit form is shown (the bill's provider's admins).
func (s *Server) billCredits(r *http.Request, c *client.Client, d *billData) error {
	t, _, _, _ := s.session(r)
	d.CanCredit = d.Bill.Provider == c.MSPID() && d.Bill.Kind != model.BillKindCredit && s.mayBeAdmin(t)
	d.Flash = flashOf(r)
	for bookmark, n := "", 0; n < 20; n++ {
		items, next, err := evalPage[model.Bill](r, c, "BillListByResource", d.Bill.Resource, "500", bookmark)
		if err != nil {
			var ce *client.Error
			if errors.As(err, &ce) && ce.Code == model.CodeUnsupported {
				return nil
			}
			return err
		}
		for _, b := range items {
			if b.Adjusts == d.Bill.ID {
				d.Credits = append(d.Credits, b)
			}
		}
		if next == "" || next == bookmark {
			break
		}
		bookmark = next
	}
	return nil
}

func (s *Server) creditForm(r *http.Request, c *client.Client) (string, error) {
	b := CreditBody{AmountDecimal: r.PostFormValue("amount"), Reason: r.PostFormValue("reason")}
	if b.AmountDecimal == "" {
		return "", badArg("the amount is empty: type the credit, in the currency's units (e.g. 12.50)")
	}
	id := r.PathValue("id")
	if _, err := creditBill(r, c, id, b); err != nil {
		return "", err
	}
	return "/bills/" + url.PathEscape(id) + "?done=credited", nil
}
