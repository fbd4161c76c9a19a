package chaincode

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"

	"github.com/fedmeter/fedmeter/chaincode/model"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// Statements: a provider's roll-up of the bills it issued one consumer in
// one currency over a period, which the consumer acknowledges or disputes
// and both sides settle with payments the provider confirms
// (chaincode/README.md, "Settlement").
//
// Which bills a statement takes. A statement of [from, to) takes every bill
// of its pair and currency whose period end is before to and that is on no
// statement yet: the bills of the period, and the bills of earlier periods
// that arrived after the statement of their period was issued (a period
// closed late with an end in the past, a release whose bill was pending, a
// re-rating adjustment): those are "carried" to the next statement issued,
// never lost and never stated twice. Each stated bill gets a marker key,
//
//	bill-stated/<provider>/<consumer>/<end:020>/<bill id> -> statement ID
//
// in the same order as the bill index (billindex.go), so that finding the
// bills not stated yet is a merge of two range scans, without a read per
// bill; and two statements issued at once that would take the same bill
// conflict on Fabric (both read the marker range one of them writes).
// A credit note's period ends when it is issued, so it goes to the
// statement of the period in which it was issued (to is never in the
// future).

const (
	pfxStatement      = "statement/"        // statement/<id> -> Statement
	pfxStatementBills = "statement-bills/"  // statement-bills/<id> -> [bill IDs]
	pfxStatementOrg   = "statement-by-org/" // statement-by-org/<org>/<role>/<to:020>/<id> -> id
	pfxBillStated     = "bill-stated/"      // bill-stated/<provider>/<consumer>/<end:020>/<bill id> -> statement id
)

// maxReference bounds a payment reference.
const maxReference = 128

// Statement is model.Statement.
type Statement = model.Statement

// statementEvent is the payload of the statement events: the statement
// without its payments.
type statementEvent struct {
	ID       string `json:"id"`
	Provider string `json:"provider"`
	Consumer string `json:"consumer"`
	Currency string `json:"currency"`
	Scale    int    `json:"scale"`
	Total    int64  `json:"total"`
	Status   string `json:"status"`
	// Reference is the payment's, for PaymentRecorded, PaymentConfirmed
	// and StatementPaid.
	Reference string `json:"reference,omitempty"`
	Amount    int64  `json:"amount,omitempty"`
}

func (t *txn) statementEvent(name string, s *Statement, ref string, amount int64) error {
	return t.setEvent(name, statementEvent{ID: s.ID, Provider: s.Provider, Consumer: s.Consumer, Currency: s.Currency,
		Scale: s.Scale, Total: s.Total, Status: s.Status, Reference: ref, Amount: amount})
}

func (t *txn) loadStatement(id string) (*Statement, error) {
	if err := checkID("statement_id", id); err != nil {
		return nil, err
	}
	var s Statement
	ok, err := t.getJSON(key(pfxStatement, id), &s)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("statement_id %s names no statement", id)
	}
	return &s, nil
}

func (t *txn) saveStatement(s *Statement) error {
	s.Updated = t.stamp()
	return t.putJSON(key(pfxStatement, s.ID), s)
}

// StatementIssue issues statement statementID of the caller's org (the
// provider) to consumer in currency for the period [from, to) (each Unix
// seconds or RFC 3339; to not in the future): every bill of the pair in
// that currency with period end before to and on no statement yet. It
// refuses a period with no such bill, and bills of the currency at two
// scales. Admins of the provider only.
func (c *Contract) StatementIssue(ctx contractapi.TransactionContextInterface, statementID, consumer, currency, from, to string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	cons, err := t.memberAdmin("issue statements")
	if err != nil {
		return "", err
	}
	if err := checkID("statement_id", statementID); err != nil {
		return "", err
	}
	if err := checkOrg("consumer", consumer); err != nil {
		return "", err
	}
	if consumer == t.msp {
		return "", errf("consumer %s is the caller's own org; a statement goes from a provider to another org", consumer)
	}
	if !slices.Contains(counterparties(cons, t.msp), consumer) {
		return "", notFound("consumer %s is not a member or former member of the consortium", consumer)
	}
	if err := checkCurrency("currency", currency); err != nil {
		return "", err
	}
	if from == "" || to == "" {
		return "", errf("from and to are required: a statement covers the period [from, to)")
	}
	f, err := parseTime("from", from, 0)
	if err != nil {
		return "", err
	}
	tt, err := parseTime("to", to, 0)
	if err != nil {
		return "", err
	}
	if tt <= f {
		return "", errf("to %s must be after from %s", rfc3339(tt), rfc3339(f))
	}
	if tt > t.now {
		return "", errf("to %d is in the future (transaction time %d): a statement covers a period that has ended", tt, t.now)
	}
	if ok, err := t.exists(key(pfxStatement, statementID)); err != nil {
		return "", err
	} else if ok {
		return "", conflict("statement_id %s is taken: a statement with that ID exists", statementID)
	}
	s := &Statement{ID: statementID, Provider: t.msp, Consumer: consumer, Currency: currency, Scale: -1,
		Period: Period{Start: f, End: tt}, Status: model.StatementOpen, Payments: []model.Payment{},
		IssuedBy: t.actor(), Issued: t.stamp()}
	t.batchWrites()
	ids, err := t.stateBills(s)
	if err != nil {
		return "", err
	}
	if len(ids) == 0 {
		return "", conflict("%s has no bill to %s in %s with period end before %s that is on no statement yet", t.msp, consumer, currency, rfc3339(tt))
	}
	s.Bills = len(ids)
	s.BillsHash = model.StatementBillsHash(ids)
	b, err := json.Marshal(ids)
	if err != nil {
		return "", internalf("encoding the bill list failed: %v", err)
	}
	if err := t.put(key(pfxStatementBills, s.ID), b); err != nil {
		return "", err
	}
	for _, k := range []string{key(pfxStatementOrg, s.Provider, "provider", pad(tt), s.ID), key(pfxStatementOrg, s.Consumer, "consumer", pad(tt), s.ID)} {
		if err := t.put(k, []byte(s.ID)); err != nil {
			return "", err
		}
	}
	if err := t.saveStatement(s); err != nil {
		return "", err
	}
	if err := t.statementEvent("StatementIssued", s, "", 0); err != nil {
		return "", err
	}
	if err := t.flushWrites(); err != nil {
		return "", err
	}
	return out(s)
}

// stateBills finds the bills statement s takes (see the top of this file),
// writes their markers, sums them into s and returns their IDs in index
// order.
func (t *txn) stateBills(s *Statement) ([]string, error) {
	ipfx := key(pfxBillPair, s.Provider, s.Consumer) + "/"
	mpfx := key(pfxBillStated, s.Provider, s.Consumer) + "/"
	idx, err := openRange(t, ipfx, ipfx+pad(s.Period.End))
	if err != nil {
		return nil, err
	}
	defer idx.close()
	marks, err := openRange(t, mpfx, mpfx+pad(s.Period.End))
	if err != nil {
		return nil, err
	}
	defer marks.close()
	mark := "" // the position of the current marker; "" once none is left
	nextMark := func() error {
		mark = ""
		if marks.HasNext() {
			kv, err := marks.Next()
			if err != nil {
				return ledgerf("range query failed: %v", err)
			}
			mark = kv.GetKey()[len(mpfx):]
		}
		return nil
	}
	if err := nextMark(); err != nil {
		return nil, err
	}
	start := pad(s.Period.Start)
	var ids []string
	for idx.HasNext() {
		kv, err := idx.Next()
		if err != nil {
			return nil, ledgerf("range query failed: %v", err)
		}
		pos := kv.GetKey()[len(ipfx):]
		for mark != "" && mark < pos {
			if err := nextMark(); err != nil {
				return nil, err
			}
		}
		if mark == pos {
			continue // stated already
		}
		ix, err := decodeBillIndex(kv.GetValue())
		if err != nil {
			return nil, corrupt(kv.GetKey(), err)
		}
		if ix.Currency != s.Currency {
			continue // for a statement in its own currency
		}
		if s.Scale < 0 {
			s.Scale = ix.Scale
		} else if ix.Scale != s.Scale {
			return nil, conflict("the bills to %s in %s are at two scales, %d and %d (bill %s): a statement sums one; issue it over a period whose bills share a scale", s.Consumer, s.Currency, s.Scale, ix.Scale, positionBill(pos))
		}
		field := "the statement's "
		if ix.Amount >= 0 {
			if s.Charges, err = addChecked(field+"charges", s.Charges, ix.Amount); err != nil {
				return nil, err
			}
		} else if s.Credits, err = addChecked(field+"credits", s.Credits, ix.Amount); err != nil {
			return nil, err
		}
		if s.Total, err = addChecked(field+"total", s.Total, ix.Amount); err != nil {
			return nil, err
		}
		if pos < start {
			s.Carried++
		}
		ids = append(ids, positionBill(pos))
		if err := t.put(mpfx+pos, []byte(s.ID)); err != nil {
			return nil, err
		}
	}
	if s.Scale < 0 {
		s.Scale = 0
	}
	return ids, nil
}

// StatementGet returns a statement (without its bill list: StatementBills).
// Its provider and consumer only.
func (c *Contract) StatementGet(ctx contractapi.TransactionContextInterface, statementID string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	if _, err := t.member("read statements"); err != nil {
		return "", err
	}
	s, err := t.loadStatement(statementID)
	if err != nil {
		return "", err
	}
	if err := t.party("statement "+s.ID, s.Provider, s.Consumer); err != nil {
		return "", err
	}
	return out(s)
}

// StatementList lists the statements of the caller's org as role
// (provider: issued, consumer: received), by period end, optionally only
// those with status, a page at a time. The org's identities only.
func (c *Contract) StatementList(ctx contractapi.TransactionContextInterface, role, status, pageSize, bookmark string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	if _, err := t.member("list statements"); err != nil {
		return "", err
	}
	if role != "provider" && role != "consumer" {
		return "", errf("role %q is not valid: it must be provider or consumer", role)
	}
	switch status {
	case "", model.StatementOpen, model.StatementAcknowledged, model.StatementDisputed, model.StatementPaid, model.StatementVoid:
	default:
		return "", errf("status %q is not valid: it must be open, acknowledged, disputed, paid, void or empty for all", status)
	}
	pfx := key(pfxStatementOrg, t.msp, role) + "/"
	page, err := scanPage(t, pfx, prefixEnd(pfx), pageSize, bookmark, func(k string, v []byte) (*Statement, bool, error) {
		s, err := t.loadStatement(string(v))
		if err != nil {
			return nil, false, err
		}
		return s, status == "" || s.Status == status, nil
	})
	if err != nil {
		return "", err
	}
	return out(page)
}

// StatementBills lists a statement's bills in statement order, a page at a
// time; the bookmark is the position of the next bill. Its provider and
// consumer only.
func (c *Contract) StatementBills(ctx contractapi.TransactionContextInterface, statementID, pageSize, bookmark string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	if _, err := t.member("read statements"); err != nil {
		return "", err
	}
	s, err := t.loadStatement(statementID)
	if err != nil {
		return "", err
	}
	if err := t.party("statement "+s.ID, s.Provider, s.Consumer); err != nil {
		return "", err
	}
	n, err := parsePage(pageSize)
	if err != nil {
		return "", err
	}
	first := 0
	if bookmark != "" {
		v, err := parseInt("bookmark", bookmark, 1, math.MaxInt32)
		if err != nil || int(v) >= s.Bills {
			return "", errf("bookmark %q is not from this query", bookmark)
		}
		first = int(v)
	}
	var ids []string
	if ok, err := t.getJSON(key(pfxStatementBills, s.ID), &ids); err != nil {
		return "", err
	} else if !ok || len(ids) != s.Bills {
		return "", ledgerf("the bill list of statement %s is missing or does not hold its %d bills", s.ID, s.Bills)
	}
	last := min(first+n, len(ids))
	keys := make([]string, 0, last-first)
	for _, id := range ids[first:last] {
		keys = append(keys, key(pfxBill, id))
	}
	if err := t.readAhead(keys...); err != nil {
		return "", err
	}
	page := &Page[*Bill]{Items: make([]*Bill, 0, len(keys))}
	for _, id := range ids[first:last] {
		b, err := t.loadBill(id)
		if err != nil {
			return "", refusef(model.CodeLedger, "statement %s names bill %s: %s", s.ID, id, msgOf(err))
		}
		page.Items = append(page.Items, b)
	}
	if last < len(ids) {
		page.Bookmark = strconv.Itoa(last)
	}
	page.Count = len(page.Items)
	return out(page)
}

// partyAct loads a statement for an act that only the admins of one of
// its two orgs may do: side is "consumer", or "provider" ("payee" names
// the provider when the act is about payments); action names the act in
// refusals ("acknowledge", "confirm payments of").
func (t *txn) partyAct(statementID, action, side string) (*Statement, error) {
	if _, err := t.memberAdmin(action + " statements"); err != nil {
		return nil, err
	}
	s, err := t.loadStatement(statementID)
	if err != nil {
		return nil, err
	}
	org := s.Provider
	if side == "consumer" {
		org = s.Consumer
	}
	if t.msp != org {
		return nil, denied("only admins of %s, the %s of statement %s, may %s it; the caller is %s", org, side, s.ID, action, t.role())
	}
	return s, nil
}

// StatementAcknowledge records that the consumer accepts the statement
// (open or disputed). A statement with nothing to pay (total zero or less)
// is settled by it: paid. Admins of the consumer only.
func (c *Contract) StatementAcknowledge(ctx contractapi.TransactionContextInterface, statementID string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	s, err := t.partyAct(statementID, "acknowledge", "consumer")
	if err != nil {
		return "", err
	}
	if s.Status != model.StatementOpen && s.Status != model.StatementDisputed {
		return "", conflict("statement %s is %s; only an open or disputed statement can be acknowledged", s.ID, s.Status)
	}
	s.Acknowledged = &model.StatementAct{By: t.actor(), Stamp: t.stamp()}
	s.Status = model.StatementAcknowledged
	event := "StatementAcknowledged"
	if s.Total <= 0 {
		event = "StatementPaid"
		s.Status, s.Paid = model.StatementPaid, &Stamp{Tx: t.id, Time: t.now}
	}
	if err := t.saveStatement(s); err != nil {
		return "", err
	}
	if err := t.statementEvent(event, s, "", 0); err != nil {
		return "", err
	}
	return out(s)
}

// StatementDispute records that the consumer disputes the statement (open
// or acknowledged), with a reason. The provider answers with credit notes
// (BillCredit), which go to the next statement; the consumer then
// acknowledges. Admins of the consumer only.
func (c *Contract) StatementDispute(ctx contractapi.TransactionContextInterface, statementID, reason string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	s, err := t.partyAct(statementID, "dispute", "consumer")
	if err != nil {
		return "", err
	}
	if err := checkText("reason", reason, maxReason, true); err != nil {
		return "", err
	}
	if s.Status != model.StatementOpen && s.Status != model.StatementAcknowledged {
		return "", conflict("statement %s is %s; only an open or acknowledged statement can be disputed", s.ID, s.Status)
	}
	s.Dispute = &model.StatementAct{By: t.actor(), Reason: reason, Stamp: t.stamp()}
	s.Status = model.StatementDisputed
	if err := t.saveStatement(s); err != nil {
		return "", err
	}
	if err := t.statementEvent("StatementDisputed", s, "", 0); err != nil {
		return "", err
	}
	return out(s)
}

// StatementPay records a payment against a statement that is not paid:
// the payer's reference (unique within the statement), the amount (minor
// units of the statement's currency and scale, at most what is still
// outstanding) and the date paid (Unix seconds or RFC 3339, not in the
// future; empty: the transaction's time). Admins of either org; the provider confirms it
// (StatementConfirm).
func (c *Contract) StatementPay(ctx contractapi.TransactionContextInterface, statementID, reference, amount, date string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	if _, err := t.memberAdmin("record payments"); err != nil {
		return "", err
	}
	s, err := t.loadStatement(statementID)
	if err != nil {
		return "", err
	}
	if t.msp != s.Provider && t.msp != s.Consumer {
		return "", denied("only admins of %s (provider) and %s (consumer) may record payments of statement %s; the caller is %s", s.Provider, s.Consumer, s.ID, t.role())
	}
	if err := checkText("reference", reference, maxReference, true); err != nil {
		return "", err
	}
	amt, err := parseInt("amount", amount, 1, math.MaxInt64)
	if err != nil {
		return "", err
	}
	d, err := parseTime("date", date, t.now)
	if err != nil {
		return "", err
	}
	if d > t.now {
		return "", errf("date %d is in the future (transaction time %d): record a payment once it is made", d, t.now)
	}
	if s.Status == model.StatementPaid || s.Status == model.StatementVoid {
		return "", conflict("statement %s is %s; it takes no payments", s.ID, s.Status)
	}
	for _, p := range s.Payments {
		if p.Reference == reference {
			return "", conflict("statement %s has a payment with reference %q already", s.ID, reference)
		}
	}
	if left := s.Outstanding(); amt > left {
		return "", conflict("amount %d is more than the %d still outstanding on statement %s (total %d less the payments recorded)", amt, left, s.ID, s.Total)
	}
	s.Payments = append(s.Payments, model.Payment{Reference: reference, Amount: amt, Date: d, RecordedBy: t.actor(), Recorded: t.stamp()})
	if err := t.saveStatement(s); err != nil {
		return "", err
	}
	if err := t.statementEvent("PaymentRecorded", s, reference, amt); err != nil {
		return "", err
	}
	return out(s)
}

// StatementConfirm confirms receipt of the payment with reference; once
// confirmed payments cover the total the statement is paid. Admins of the
// provider (the payee) only.
func (c *Contract) StatementConfirm(ctx contractapi.TransactionContextInterface, statementID, reference string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	s, err := t.partyAct(statementID, "confirm payments of", "payee")
	if err != nil {
		return "", err
	}
	if err := checkText("reference", reference, maxReference, true); err != nil {
		return "", err
	}
	var p *model.Payment
	for i := range s.Payments {
		if s.Payments[i].Reference == reference {
			p = &s.Payments[i]
		}
	}
	if p == nil {
		return "", notFound("statement %s has no payment with reference %q", s.ID, reference)
	}
	if p.Confirmed != nil {
		return "", conflict("the payment %q of statement %s was confirmed already", reference, s.ID)
	}
	by, at := t.actor(), t.stamp()
	p.ConfirmedBy, p.Confirmed = &by, &at
	if s.Confirmed, err = addChecked("the statement's confirmed payments", s.Confirmed, p.Amount); err != nil {
		return "", err
	}
	event := "PaymentConfirmed"
	if s.Confirmed >= s.Total {
		event = "StatementPaid"
		s.Status, s.Paid = model.StatementPaid, &Stamp{Tx: t.id, Time: t.now}
	}
	amt := p.Amount
	if err := t.saveStatement(s); err != nil {
		return "", err
	}
	if err := t.statementEvent(event, s, reference, amt); err != nil {
		return "", err
	}
	return out(s)
}

// StatementVoid withdraws a statement issued in error, with a reason,
// while no payment is recorded against it (and it is not paid): its status
// becomes void and its bills' markers are deleted, so that the next
// statement of the pair and currency takes them again. The statement and
// its bill list stay on the ledger as they were. Admins of the provider
// only.
func (c *Contract) StatementVoid(ctx contractapi.TransactionContextInterface, statementID, reason string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	s, err := t.partyAct(statementID, "void", "provider")
	if err != nil {
		return "", err
	}
	if err := checkText("reason", reason, maxReason, true); err != nil {
		return "", err
	}
	switch {
	case s.Status == model.StatementVoid:
		return "", conflict("statement %s is void already", s.ID)
	case s.Status == model.StatementPaid:
		return "", conflict("statement %s is paid; a paid statement is not voided: credit its bills instead (BillCredit)", s.ID)
	case len(s.Payments) > 0:
		return "", conflict("statement %s has %d payments recorded; a statement with payments is not voided: credit its bills instead (BillCredit)", s.ID, len(s.Payments))
	}
	// The markers of its bills are in the pair's marker range below its
	// period end, each holding its ID.
	t.batchWrites()
	mpfx := key(pfxBillStated, s.Provider, s.Consumer) + "/"
	n := 0
	err = scanAll(t, mpfx, mpfx+pad(s.Period.End), func(k string, v []byte) error {
		if string(v) != s.ID {
			return nil
		}
		n++
		if err := t.stub.DelState(k); err != nil {
			return ledgerf("deleting %s failed: %v", k, err)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	if n != s.Bills {
		return "", ledgerf("statement %s holds %d bills, but %d of their markers were found", s.ID, s.Bills, n)
	}
	s.Voided = &model.StatementAct{By: t.actor(), Reason: reason, Stamp: t.stamp()}
	s.Status = model.StatementVoid
	if err := t.saveStatement(s); err != nil {
		return "", err
	}
	if err := t.statementEvent("StatementVoided", s, "", 0); err != nil {
		return "", err
	}
	if err := t.flushWrites(); err != nil {
		return "", err
	}
	return out(s)
}
