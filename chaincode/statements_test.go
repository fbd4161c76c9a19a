package chaincode

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fedmeter/fedmeter/chaincode/model"
)

var (
	jan = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	feb = time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	mar = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
)

// settleEnv is a ledger with two bills of Org1 to Org2 in January 2026:
// r1:000001 (released at 10:00 on the 1st) and r2:000001 (released on the
// 2nd), and r3, active since the 5th and not billed yet. The clock is at
// 2026-02-01.
func settleEnv(t *testing.T, e *env) (b1, b2 Bill) {
	t.Helper()
	e.initConsortium()
	e.market()
	e.ok("org1.admin", "QuotaSet", org2, `{"max_days":365,"vcpu":100,"memory_gib":400,"system_disk_gib":400,"public_ips":10}`)
	e.activeRule("ecs", "1.0.0", wasmFile(t, "ecs_hourly.wasm"))
	e.activeResource("r1")
	e.activeResource("r2")
	e.setTime(jan.Add(10 * time.Hour))
	e.ok("org2.user", "ResourceRelease", "r1")
	e.setTime(jan.Add(24 * time.Hour))
	e.ok("org2.user", "ResourceRelease", "r2")
	e.setTime(jan.Add(4 * 24 * time.Hour))
	e.activeResource("r3")
	e.setTime(feb)
	b1 = decode[Bill](t, e.eval("org1.user", "BillGet", "r1:000001"))
	b2 = decode[Bill](t, e.eval("org1.user", "BillGet", "r2:000001"))
	if b1.Amount <= 0 || b2.Amount <= 0 {
		t.Fatalf("bills %d and %d: want amounts above zero", b1.Amount, b2.Amount)
	}
	return b1, b2
}

func TestStatementFlow(t *testing.T) {
	forLedgers(t, "flow", testStatementFlow)
}

func testStatementFlow(t *testing.T, e *env) {
	b1, b2 := settleEnv(t, e)

	// January's statement: both bills, in index order, and their hash.
	s := decode[Statement](t, e.okEvent("StatementIssued", "org1.admin", "StatementIssue", "st-jan", org2, "CNY", unix(jan), unix(feb)))
	if s.Bills != 2 || s.Total != b1.Amount+b2.Amount || s.Charges != s.Total || s.Credits != 0 || s.Status != model.StatementOpen || s.Carried != 0 {
		t.Fatalf("January statement %+v; want 2 bills totalling %d, open", s, b1.Amount+b2.Amount)
	}
	if want := model.StatementBillsHash([]string{"r1:000001", "r2:000001"}); s.BillsHash != want {
		t.Errorf("bills hash %s, want %s", s.BillsHash, want)
	}
	if s.Scale != 2 || s.Provider != org1 || s.Consumer != org2 || s.Period != (Period{Start: jan.Unix(), End: feb.Unix()}) {
		t.Errorf("statement %+v", s)
	}
	// No bill goes on two statements.
	e.fail("on no statement yet", "org1.admin", "StatementIssue", "st-jan-2", org2, "CNY", unix(jan), unix(feb))

	// The bills, a page at a time, by position.
	p1 := decode[Page[Bill]](t, e.eval("org2.user", "StatementBills", "st-jan", "1", ""))
	if len(p1.Items) != 1 || p1.Items[0].ID != "r1:000001" || p1.Bookmark != "1" {
		t.Fatalf("first page %+v", p1)
	}
	p2 := decode[Page[Bill]](t, e.eval("org2.user", "StatementBills", "st-jan", "1", p1.Bookmark))
	if len(p2.Items) != 1 || p2.Items[0].ID != "r2:000001" || p2.Bookmark != "" {
		t.Fatalf("second page %+v", p2)
	}

	// In February: a January bill arrives late (r3's period closed with an
	// end in January), and Org1 credits r1's bill. Both go to February's
	// statement.
	e.setTime(feb.Add(24 * time.Hour))
	late := decode[BillSummary](t, e.ok("org1.agent", "BillClose", "r3", unix(jan.Add(20*24*time.Hour))))
	if late.Period.End >= feb.Unix() {
		t.Fatalf("late bill %+v: want a January period end", late)
	}
	credit := decode[Bill](t, e.okEvent("BillIssued", "org1.admin", "BillCredit", "r1:000001", "100", "the server was down for an hour"))
	if credit.ID != "r1:000002" || credit.Kind != model.BillKindCredit || credit.Amount != -100 || credit.Adjusts != "r1:000001" ||
		credit.Currency != "CNY" || credit.Scale != 2 || credit.Reason == "" || len(credit.Lines) != 1 || credit.Lines[0].Amount != -100 {
		t.Fatalf("credit note %+v", credit)
	}
	// BillTotals nets the credit.
	tot := decode[Totals](t, e.eval("org1.user", "BillTotals", "", ""))
	if len(tot.Receivable) != 1 || tot.Receivable[0].Amount != b1.Amount+b2.Amount+late.Amount-100 {
		t.Errorf("receivable %+v, want %d", tot.Receivable, b1.Amount+b2.Amount+late.Amount-100)
	}
	e.setTime(mar)
	s2 := decode[Statement](t, e.ok("org1.admin", "StatementIssue", "st-feb", org2, "CNY", unix(feb), unix(mar)))
	if s2.Bills != 2 || s2.Carried != 1 || s2.Charges != late.Amount || s2.Credits != -100 || s2.Total != late.Amount-100 {
		t.Fatalf("February statement %+v; want the late bill %s (%d) carried and the credit -100", s2, late.ID, late.Amount)
	}
	if want := model.StatementBillsHash([]string{late.ID, credit.ID}); s2.BillsHash != want {
		t.Errorf("February bills hash %s, want %s (the late bill first: its period ends first)", s2.BillsHash, want)
	}

	// January: acknowledged, paid in two parts, each confirmed by Org1.
	ack := decode[Statement](t, e.okEvent("StatementAcknowledged", "org2.admin", "StatementAcknowledge", "st-jan"))
	if ack.Status != model.StatementAcknowledged || ack.Acknowledged == nil || ack.Acknowledged.By.MSP != org2 {
		t.Fatalf("acknowledged %+v", ack)
	}
	half := s.Total / 2
	e.okEvent("PaymentRecorded", "org2.admin", "StatementPay", "st-jan", "wire-1", js(half), "2026-02-20T00:00:00Z")
	e.fail("more than the", "org1.admin", "StatementPay", "st-jan", "wire-2", js(s.Total-half+1), unix(mar))
	e.okEvent("PaymentRecorded", "org1.admin", "StatementPay", "st-jan", "wire-2", js(s.Total-half), unix(mar))
	one := decode[Statement](t, e.okEvent("PaymentConfirmed", "org1.admin", "StatementConfirm", "st-jan", "wire-1"))
	if one.Status != model.StatementAcknowledged || one.Confirmed != half || one.Payments[0].Confirmed == nil || one.Payments[1].Confirmed != nil {
		t.Fatalf("after one confirmation %+v", one)
	}
	paid := decode[Statement](t, e.okEvent("StatementPaid", "org1.admin", "StatementConfirm", "st-jan", "wire-2"))
	if paid.Status != model.StatementPaid || paid.Paid == nil || paid.Confirmed != s.Total || paid.Outstanding() != 0 {
		t.Fatalf("paid %+v", paid)
	}
	e.fail("is paid", "org2.admin", "StatementPay", "st-jan", "wire-3", "1", unix(mar))
	e.fail("is paid", "org2.admin", "StatementAcknowledge", "st-jan")

	// February: disputed with a reason, then acknowledged.
	d := decode[Statement](t, e.okEvent("StatementDisputed", "org2.admin", "StatementDispute", "st-feb", "r3 was billed for days it was off"))
	if d.Status != model.StatementDisputed || d.Dispute == nil || d.Dispute.Reason != "r3 was billed for days it was off" {
		t.Fatalf("disputed %+v", d)
	}
	a := decode[Statement](t, e.ok("org2.admin", "StatementAcknowledge", "st-feb"))
	if a.Status != model.StatementAcknowledged || a.Dispute == nil {
		t.Fatalf("acknowledged after the dispute %+v", a)
	}

	// Lists, per role and status.
	for _, c := range []struct {
		who, role, status string
		want              []string
	}{
		{"org1.user", "provider", "", []string{"st-jan", "st-feb"}},
		{"org2.user", "consumer", "", []string{"st-jan", "st-feb"}},
		{"org2.user", "consumer", "paid", []string{"st-jan"}},
		{"org1.user", "consumer", "", nil},
		{"org3.user", "provider", "", nil},
	} {
		page := decode[Page[Statement]](t, e.eval(c.who, "StatementList", c.role, c.status, "", ""))
		var got []string
		for _, s := range page.Items {
			got = append(got, s.ID)
		}
		if strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("%s StatementList(%s, %s) = %v, want %v", c.who, c.role, c.status, got, c.want)
		}
	}
}

// TestStatementCurrencies: a statement is in one currency; bills in another
// wait for a statement of their own, and the two never mix.
func TestStatementCurrencies(t *testing.T) {
	e := newEnv(t)
	settleEnv(t, e)
	// From February on, Org1 prices ecs in USD: r3's bill is in USD.
	e.ok("org1.admin", "PriceSet", "ecs", strings.Replace(ecsPrices, "CNY", "USD", 1), "")
	e.advance(time.Hour)
	e.ok("org1.agent", "BillClose", "r3", unix(feb)) // priced at its period start: CNY
	e.advance(time.Hour)
	usd := decode[BillSummary](t, e.ok("org1.agent", "BillClose", "r3", ""))
	if usd.Currency != "USD" {
		t.Fatalf("r3's second bill is in %s, want USD", usd.Currency)
	}
	e.advance(time.Hour) // to is not in the future, and bills ending at to go to the next statement
	cny := decode[Statement](t, e.ok("org1.admin", "StatementIssue", "st-cny", org2, "CNY", unix(jan), unix(e.now)))
	if cny.Bills != 3 || cny.Currency != "CNY" {
		t.Errorf("CNY statement %+v, want the 3 CNY bills", cny)
	}
	st := decode[Statement](t, e.ok("org1.admin", "StatementIssue", "st-usd", org2, "USD", unix(jan), unix(e.now)))
	if st.Bills != 1 || st.Total != usd.Amount || st.Currency != "USD" {
		t.Errorf("USD statement %+v, want r3's USD bill of %d", st, usd.Amount)
	}
	e.fail("no bill", "org1.admin", "StatementIssue", "st-eur", org2, "EUR", unix(jan), unix(e.now))
}

// TestCreditLimits: the credits of a bill never exceed what it charges net
// of earlier credits; a credit is not itself credited; a credit takes the
// original's currency; an all-credit statement has nothing to pay.
func TestCreditLimits(t *testing.T) {
	e := newEnv(t)
	b1, _ := settleEnv(t, e)
	e.ok("org1.admin", "StatementIssue", "st-jan", org2, "CNY", unix(jan), unix(feb))
	e.fail("more than bill r1:000001 amounts to", "org1.admin", "BillCredit", "r1:000001", js(b1.Amount+1), "too much")
	e.ok("org1.admin", "BillCredit", "r1:000001", js(b1.Amount-10), "most of it")
	e.fail(fmt.Sprintf("amounts to with its corrections (10 of %d CNY)", b1.Amount), "org1.admin", "BillCredit", "r1:000001", "11", "the rest and more")
	c := decode[Bill](t, e.ok("org1.admin", "BillCredit", "r1:000001", "10", "the rest"))
	e.fail("more than", "org1.admin", "BillCredit", "r1:000001", "1", "nothing is left")
	e.fail("is a credit of bill r1:000001", "org1.admin", "BillCredit", c.ID, "1", "a credit of a credit")
	// The resource's bills show the credits, in order.
	page := decode[Page[Bill]](t, e.eval("org2.user", "BillListByResource", "r1", "", ""))
	if len(page.Items) != 3 || page.Items[2].ID != c.ID || page.Items[2].Kind != model.BillKindCredit {
		t.Fatalf("r1's bills %+v", page.Items)
	}
	// A statement of only the credits totals -b1: acknowledging settles it.
	e.advance(time.Hour)
	s := decode[Statement](t, e.ok("org1.admin", "StatementIssue", "st-credit", org2, "CNY", unix(feb), unix(e.now)))
	if s.Bills != 2 || s.Total != -b1.Amount || s.Charges != 0 {
		t.Fatalf("credit statement %+v, want 2 credits totalling %d", s, -b1.Amount)
	}
	e.fail("still outstanding", "org1.admin", "StatementPay", "st-credit", "x", "1", unix(e.now))
	s = decode[Statement](t, e.okEvent("StatementPaid", "org2.admin", "StatementAcknowledge", "st-credit"))
	if s.Status != model.StatementPaid {
		t.Errorf("an acknowledged statement with nothing to pay is %s, want paid", s.Status)
	}
}

// TestStatementVoid: a statement issued in error is voided by its provider
// while no payment is recorded, and its bills go on the next statement.
func TestStatementVoid(t *testing.T) {
	forLedgers(t, "void", func(t *testing.T, e *env) {
		settleEnv(t, e)
		first := decode[Statement](t, e.ok("org1.admin", "StatementIssue", "st-jan", org2, "CNY", unix(jan), unix(feb)))
		e.fail("the provider of statement st-jan", "org2.admin", "StatementVoid", "st-jan", "not mine to void")
		e.fail("only admins", "org1.user", "StatementVoid", "st-jan", "why")
		e.fail("reason is required", "org1.admin", "StatementVoid", "st-jan", "")
		v := decode[Statement](t, e.okEvent("StatementVoided", "org1.admin", "StatementVoid", "st-jan", "issued for the wrong month"))
		if v.Status != model.StatementVoid || v.Voided == nil || v.Voided.Reason != "issued for the wrong month" || v.Bills != 2 {
			t.Fatalf("voided %+v", v)
		}
		e.fail("void already", "org1.admin", "StatementVoid", "st-jan", "twice")
		e.fail("is void", "org2.admin", "StatementAcknowledge", "st-jan")
		e.fail("is void", "org2.admin", "StatementPay", "st-jan", "w", "1", "")
		// The same bills go on the next statement.
		again := decode[Statement](t, e.ok("org1.admin", "StatementIssue", "st-jan-2", org2, "CNY", unix(jan), unix(feb)))
		if again.Bills != 2 || again.BillsHash != first.BillsHash || again.Total != first.Total {
			t.Fatalf("reissued %+v, want the voided statement's 2 bills", again)
		}
		page := decode[Page[Statement]](t, e.eval("org2.user", "StatementList", "consumer", "void", "", ""))
		if len(page.Items) != 1 || page.Items[0].ID != "st-jan" {
			t.Errorf("void statements %+v", page.Items)
		}
		// Not once a payment is recorded.
		e.ok("org2.admin", "StatementPay", "st-jan-2", "w", "1", "")
		e.fail("payments recorded", "org1.admin", "StatementVoid", "st-jan-2", "too late")
	})
}

// TestSettlementGovernance holds who may do what to its refusals, one by
// one, each with its code and writing nothing: issue and credit (the
// provider's admins), acknowledge and dispute (the consumer's admins),
// record a payment (admins of either org), confirm it (the provider's
// admins, the payee), void (the provider's admins), read (the two orgs).
func TestSettlementGovernance(t *testing.T) {
	e := newEnv(t)
	settleEnv(t, e)
	e.ok("org1.admin", "StatementIssue", "st", org2, "CNY", unix(jan), unix(feb))
	e.ok("org2.admin", "StatementPay", "st", "wire-1", "1", unix(jan))
	for _, c := range []struct {
		code model.Code
		want string
		who  string
		fn   string
		args []string
	}{
		// Issue: the provider's admins, to another org, for a past period.
		{model.CodeNotMember, "not a member", "org4.admin", "StatementIssue", []string{"x", org2, "CNY", unix(jan), unix(feb)}},
		{model.CodeDenied, "only admins", "org1.user", "StatementIssue", []string{"x", org2, "CNY", unix(jan), unix(feb)}},
		{model.CodeConflict, "no bill", "org2.admin", "StatementIssue", []string{"x", org1, "CNY", unix(jan), unix(feb)}},
		{model.CodeBadArgument, "caller's own org", "org1.admin", "StatementIssue", []string{"x", org1, "CNY", unix(jan), unix(feb)}},
		{model.CodeNotFound, "not a member or former member", "org1.admin", "StatementIssue", []string{"x", org4, "CNY", unix(jan), unix(feb)}},
		{model.CodeBadArgument, "in the future", "org1.admin", "StatementIssue", []string{"x", org2, "CNY", unix(jan), unix(mar)}},
		{model.CodeBadArgument, "must be after", "org1.admin", "StatementIssue", []string{"x", org2, "CNY", unix(feb), unix(jan)}},
		{model.CodeBadArgument, "required", "org1.admin", "StatementIssue", []string{"x", org2, "CNY", "", unix(feb)}},
		{model.CodeBadArgument, "currency", "org1.admin", "StatementIssue", []string{"x", org2, "cny", unix(jan), unix(feb)}},
		{model.CodeConflict, "is taken", "org1.admin", "StatementIssue", []string{"st", org2, "CNY", unix(jan), unix(feb)}},
		// Read: the two orgs.
		{model.CodeDenied, "may read", "org3.admin", "StatementGet", []string{"st"}},
		{model.CodeNotFound, "names no statement", "org1.user", "StatementGet", []string{"nope"}},
		{model.CodeDenied, "may read", "org3.user", "StatementBills", []string{"st", "", ""}},
		{model.CodeBadArgument, "bookmark", "org1.user", "StatementBills", []string{"st", "", "7"}},
		{model.CodeBadArgument, "role", "org1.user", "StatementList", []string{"payee", "", "", ""}},
		// Acknowledge and dispute: the consumer's admins.
		{model.CodeDenied, "the consumer of statement st", "org1.admin", "StatementAcknowledge", []string{"st"}},
		{model.CodeDenied, "only admins", "org2.user", "StatementAcknowledge", []string{"st"}},
		{model.CodeDenied, "the consumer of statement st", "org3.admin", "StatementAcknowledge", []string{"st"}},
		{model.CodeDenied, "the consumer of statement st", "org1.admin", "StatementDispute", []string{"st", "no"}},
		{model.CodeDenied, "only admins", "org2.user", "StatementDispute", []string{"st", "no"}},
		{model.CodeBadArgument, "reason is required", "org2.admin", "StatementDispute", []string{"st", ""}},
		// Payments: either org's admins record, the provider's confirm.
		{model.CodeDenied, "may record payments", "org3.admin", "StatementPay", []string{"st", "w", "1", unix(jan)}},
		{model.CodeDenied, "only admins", "org2.user", "StatementPay", []string{"st", "w", "1", unix(jan)}},
		{model.CodeConflict, "reference", "org1.admin", "StatementPay", []string{"st", "wire-1", "1", unix(jan)}},
		{model.CodeBadArgument, "amount", "org2.admin", "StatementPay", []string{"st", "w", "0", unix(jan)}},
		{model.CodeBadArgument, "in the future", "org2.admin", "StatementPay", []string{"st", "w", "1", unix(mar)}},
		{model.CodeDenied, "the payee", "org2.admin", "StatementConfirm", []string{"st", "wire-1"}},
		{model.CodeDenied, "only admins", "org1.user", "StatementConfirm", []string{"st", "wire-1"}},
		{model.CodeNotFound, "no payment", "org1.admin", "StatementConfirm", []string{"st", "wire-9"}},
		// Credit notes: the provider's admins, with a reason, on a rule's bill.
		{model.CodeDenied, "disputes a statement instead", "org2.admin", "BillCredit", []string{"r1:000001", "1", "why"}},
		{model.CodeDenied, "only admins", "org1.user", "BillCredit", []string{"r1:000001", "1", "why"}},
		{model.CodeDenied, "the provider of bill", "org3.admin", "BillCredit", []string{"r1:000001", "1", "why"}},
		{model.CodeBadArgument, "reason is required", "org1.admin", "BillCredit", []string{"r1:000001", "1", ""}},
		{model.CodeBadArgument, "amount", "org1.admin", "BillCredit", []string{"r1:000001", "-5", "why"}},
		{model.CodeNotFound, "names no bill", "org1.admin", "BillCredit", []string{"r9:000001", "1", "why"}},
		// Void: the provider's admins.
		{model.CodeDenied, "the provider of statement st", "org2.admin", "StatementVoid", []string{"st", "why"}},
		{model.CodeDenied, "only admins", "org1.user", "StatementVoid", []string{"st", "why"}},
		{model.CodeConflict, "payments recorded", "org1.admin", "StatementVoid", []string{"st", "why"}},
	} {
		msg := e.fail(c.want, c.who, c.fn, c.args...)
		if r, _ := model.DecodeRefusal(msg); r.Code != c.code {
			t.Errorf("%s %s(%s): code %s, want %s (%s)", c.who, c.fn, short(c.args), r.Code, c.code, msg)
		}
	}
	// Confirmed twice, and a paid statement's acts.
	e.ok("org1.admin", "StatementConfirm", "st", "wire-1")
	e.fail("confirmed already", "org1.admin", "StatementConfirm", "st", "wire-1")
}

// settlementRefusalCases are TestRefusalCodes's cases of the settlement
// transactions, on its refusalEnv (r2:000001 is a bill of Org1 to Org2):
// the statement st1 is issued first.
func settlementRefusalCases(e *env) []refusalCase {
	e.ok("org1.admin", "StatementIssue", "st1", org2, "CNY", "0", unix(e.now))
	return []refusalCase{
		{model.CodeDenied, nil, "org1.user", "StatementIssue", []string{"x", org2, "CNY", "0", "1"}},
		{model.CodeDenied, nil, "org3.user", "StatementGet", []string{"st1"}},
		{model.CodeBadArgument, nil, "org1.user", "StatementList", []string{"", "", "", ""}},
		{model.CodeNotFound, nil, "org1.user", "StatementBills", []string{"nope", "", ""}},
		{model.CodeDenied, nil, "org1.admin", "StatementAcknowledge", []string{"st1"}},
		{model.CodeBadArgument, nil, "org2.admin", "StatementDispute", []string{"st1", ""}},
		{model.CodeDenied, nil, "org3.admin", "StatementPay", []string{"st1", "w", "1", "0"}},
		{model.CodeDenied, nil, "org2.admin", "StatementConfirm", []string{"st1", "w"}},
		{model.CodeDenied, nil, "org2.admin", "BillCredit", []string{"r2:000001", "1", "why"}},
		{model.CodeDenied, nil, "org2.admin", "StatementVoid", []string{"st1", "why"}},
	}
}

// refusalCase is a case of TestRefusalCodes: a transaction that must be
// refused with code (at the batch element at, if set).
type refusalCase struct {
	code    model.Code
	at      *model.Element
	who, fn string
	args    []string
}
