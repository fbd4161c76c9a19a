package client

import (
	"context"
	"sort"
	"strconv"
	"time"

	"github.com/fedmeter/fedmeter/chaincode/model"
)

// Settlement: statements and credit notes (chaincode/README.md,
// "Settlement").
type (
	Statement    = model.Statement
	StatementAct = model.StatementAct
	Payment      = model.Payment
)

// StatementRequest is a statement to issue: the provider (the caller's org)
// states consumer's bills in Currency whose period ends in [From, To) and
// that are on no statement yet, with the late bills of earlier periods.
type StatementRequest struct {
	ID       string
	Consumer string
	Currency string
	From, To time.Time
}

// IssueStatement issues a statement (the provider's admins).
func (c *Client) IssueStatement(ctx context.Context, r StatementRequest) (*model.Statement, error) {
	if r.From.IsZero() || r.To.IsZero() {
		return nil, Errorf(KindInvalid, "a statement needs a period: both From and To")
	}
	return call[model.Statement](ctx, c, true, "StatementIssue", r.ID, r.Consumer, r.Currency, unixArg(r.From), unixArg(r.To))
}

// Statement returns a statement (its bills: StatementBills).
func (c *Client) Statement(ctx context.Context, id string) (*model.Statement, error) {
	return call[model.Statement](ctx, c, false, "StatementGet", id)
}

// Statements lists the caller's org's statements as role (provider:
// issued, consumer: received; "" both), optionally only those with status,
// by period end.
func (c *Client) Statements(ctx context.Context, role, status string) ([]model.Statement, error) {
	roles := []string{role}
	switch role {
	case "provider", "consumer":
	case "":
		roles = []string{"provider", "consumer"}
	default:
		return nil, Errorf(KindInvalid, "role %q is not valid: it must be provider, consumer or empty for both", role)
	}
	var out []model.Statement
	for _, r := range roles {
		ss, err := all[model.Statement](ctx, c, "StatementList", r, status)
		if err != nil {
			return nil, err
		}
		out = append(out, ss...)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Period.End != out[j].Period.End {
			return out[i].Period.End < out[j].Period.End
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// StatementBills returns a statement with its bills, in statement order,
// after checking them against it: the hash of their IDs must be the
// statement's BillsHash, and their amounts must sum to its total (a
// KindMismatch error otherwise).
func (c *Client) StatementBills(ctx context.Context, id string) (*model.Statement, []model.Bill, error) {
	s, err := c.Statement(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	bills, err := all[model.Bill](ctx, c, "StatementBills", id)
	if err != nil {
		return nil, nil, err
	}
	ids := make([]string, len(bills))
	var sum int64
	for i, b := range bills {
		ids[i] = b.ID
		sum += b.Amount
		if b.Currency != s.Currency || b.Scale != s.Scale {
			return nil, nil, Errorf(KindMismatch, "statement %s is in %s at scale %d, but its bill %s is in %s at scale %d", s.ID, s.Currency, s.Scale, b.ID, b.Currency, b.Scale)
		}
	}
	if h := model.StatementBillsHash(ids); h != s.BillsHash || len(bills) != s.Bills {
		return nil, nil, Errorf(KindMismatch, "the %d bills listed for statement %s hash to %s, but the statement records %d bills hashing to %s", len(bills), s.ID, h, s.Bills, s.BillsHash)
	}
	if sum != s.Total {
		return nil, nil, Errorf(KindMismatch, "the bills of statement %s sum to %d, but the statement's total is %d", s.ID, sum, s.Total)
	}
	return s, bills, nil
}

// AcknowledgeStatement records that the consumer (the caller's org, its
// admins) accepts the statement.
func (c *Client) AcknowledgeStatement(ctx context.Context, id string) (*model.Statement, error) {
	return call[model.Statement](ctx, c, true, "StatementAcknowledge", id)
}

// DisputeStatement records that the consumer disputes the statement, and
// why.
func (c *Client) DisputeStatement(ctx context.Context, id, reason string) (*model.Statement, error) {
	return call[model.Statement](ctx, c, true, "StatementDispute", id, reason)
}

// PaymentRecord is a payment to record against a statement: the payer's
// reference, the amount in minor units of the statement's currency, and
// when it was paid (the zero time: the transaction's time).
type PaymentRecord struct {
	Reference string
	Amount    int64
	Date      time.Time
}

// RecordPayment records a payment against a statement (admins of either
// org); the provider confirms it.
func (c *Client) RecordPayment(ctx context.Context, id string, p PaymentRecord) (*model.Statement, error) {
	return call[model.Statement](ctx, c, true, "StatementPay", id, p.Reference, strconv.FormatInt(p.Amount, 10), unixArg(p.Date))
}

// ConfirmPayment confirms receipt of a statement's payment (the provider's
// admins, the payee); the statement is paid once confirmed payments cover
// its total.
func (c *Client) ConfirmPayment(ctx context.Context, id, reference string) (*model.Statement, error) {
	return call[model.Statement](ctx, c, true, "StatementConfirm", id, reference)
}

// CreditBill issues a credit note of amount (minor units of the bill's
// currency, more than zero) against a bill, with a reason (the bill's
// provider's admins): a bill of kind credit whose amount is -amount.
func (c *Client) CreditBill(ctx context.Context, billID string, amount int64, reason string) (*model.Bill, error) {
	return call[model.Bill](ctx, c, true, "BillCredit", billID, strconv.FormatInt(amount, 10), reason)
}

// VoidStatement withdraws a statement issued in error, with a reason (the
// provider's admins; no payment recorded): its bills go on the next
// statement.
func (c *Client) VoidStatement(ctx context.Context, id, reason string) (*model.Statement, error) {
	return call[model.Statement](ctx, c, true, "StatementVoid", id, reason)
}
