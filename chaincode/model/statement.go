package model

import (
	"crypto/sha256"
	"encoding/hex"
)

// Statement states. A statement is open when issued; its consumer
// acknowledges it or disputes it (with a reason), and may acknowledge a
// disputed one once the dispute is settled; it is paid when the payments
// its provider (the payee) confirmed cover its total. A statement whose
// total is zero or less (credits cover the charges) has nothing to pay: its
// acknowledgment settles it, as paid. Its provider may void it while no
// payment is recorded.
const (
	StatementOpen         = "open"
	StatementAcknowledged = "acknowledged"
	StatementDisputed     = "disputed"
	StatementPaid         = "paid"
	// StatementVoid: its provider withdrew it before any payment was
	// recorded; its bills are free to go on another statement.
	StatementVoid = "void"
)

// Statement is a provider's roll-up of the bills it issued one consumer in
// one currency: the bills whose period ends in [Period.Start, Period.End)
// and that were on no statement before, with the bills of earlier periods
// that arrived after those periods' statements were issued (Carried of
// them). Its bill IDs are stored beside it (StatementBills lists them) and
// BillsHash commits to them.
type Statement struct {
	ID       string `json:"id"`
	Provider string `json:"provider"`
	Consumer string `json:"consumer"`
	Currency string `json:"currency"`
	Scale    int    `json:"scale"`
	// Period is [Start, End): the period ends of the bills it states.
	Period Period `json:"period"`
	// Bills is how many bills it states; Carried of them are late bills of
	// earlier periods (period end before Period.Start).
	Bills   int `json:"bills"`
	Carried int `json:"carried,omitempty"`
	// BillsHash is StatementBillsHash of its bill IDs in statement order
	// (period end, then bill ID).
	BillsHash string `json:"bills_hash"`
	// Charges sums the bills with a positive amount, Credits those with a
	// negative one (credit notes, downward adjustments); Total is their
	// sum: what the consumer owes.
	Charges int64  `json:"charges"`
	Credits int64  `json:"credits"`
	Total   int64  `json:"total"`
	Status  string `json:"status"`
	// Acknowledged is the consumer's acknowledgment, Dispute its dispute
	// (the latest; a dispute stays recorded after an acknowledgment).
	Acknowledged *StatementAct `json:"acknowledged,omitempty"`
	Dispute      *StatementAct `json:"dispute,omitempty"`
	// Voided is the provider's withdrawal, with its reason.
	Voided   *StatementAct `json:"voided,omitempty"`
	Payments []Payment     `json:"payments"`
	// Confirmed sums the confirmed payments.
	Confirmed int64  `json:"confirmed"`
	Paid      *Stamp `json:"paid,omitempty"`
	IssuedBy  Actor  `json:"issued_by"`
	Issued    Stamp  `json:"issued"`
	Updated   Stamp  `json:"updated"`
}

// StatementAct is an acknowledgment or a dispute: who, when, and why.
type StatementAct struct {
	By     Actor  `json:"by"`
	Reason string `json:"reason,omitempty"`
	Stamp
}

// Payment is a payment recorded against a statement by either org: the
// payer's reference (unique within the statement), the amount in the
// statement's currency and scale, and the date it was paid (Unix seconds).
// Only the payee (the provider) confirms it; only confirmed payments count
// toward paid.
type Payment struct {
	Reference   string `json:"reference"`
	Amount      int64  `json:"amount"`
	Date        int64  `json:"date"`
	RecordedBy  Actor  `json:"recorded_by"`
	Recorded    Stamp  `json:"recorded"`
	ConfirmedBy *Actor `json:"confirmed_by,omitempty"`
	Confirmed   *Stamp `json:"confirmed,omitempty"`
}

// Outstanding is what is still to pay: the total less every recorded
// payment, confirmed or not (never below zero).
func (s *Statement) Outstanding() int64 {
	left := s.Total
	for _, p := range s.Payments {
		left -= p.Amount
	}
	if left < 0 {
		return 0
	}
	return left
}

// StatementBillsHash is the hash a statement stores of its bill IDs: the
// SHA-256 (hex) of each ID followed by a newline, in the statement's order.
// Anyone holding the list (StatementBills) recomputes it.
func StatementBillsHash(ids []string) string {
	h := sha256.New()
	for _, id := range ids {
		h.Write([]byte(id))
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}
