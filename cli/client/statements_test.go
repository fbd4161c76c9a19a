package client

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/fedmeter/fedmeter/chaincode/model"
)

// statementLedger answers StatementGet with s and StatementBills with
// bills, one page.
type statementLedger struct {
	s     model.Statement
	bills []model.Bill
}

func (l statementLedger) Submit(context.Context, string, ...string) ([]byte, error) { return nil, nil }
func (l statementLedger) Evaluate(_ context.Context, fn string, _ ...string) ([]byte, error) {
	if fn == "StatementGet" {
		return json.Marshal(l.s)
	}
	return json.Marshal(model.Page[model.Bill]{Items: l.bills, Count: len(l.bills)})
}
func (statementLedger) MSPID() string { return "Org2MSP" }
func (statementLedger) Close() error  { return nil }

// TestStatementBillsChecked: the bills read for a statement must hash to
// its bills hash and sum to its total, in its currency; anything else is a
// mismatch, never an export of other bills.
func TestStatementBillsChecked(t *testing.T) {
	bills := []model.Bill{
		{ID: "r1:000001", Amount: 1000, Currency: "CNY", Scale: 2},
		{ID: "r1:000002", Amount: -150, Currency: "CNY", Scale: 2, Kind: model.BillKindCredit, Adjusts: "r1:000001"},
	}
	good := model.Statement{ID: "st", Currency: "CNY", Scale: 2, Bills: 2, Total: 850,
		BillsHash: model.StatementBillsHash([]string{"r1:000001", "r1:000002"})}
	if _, got, err := New(statementLedger{good, bills}).StatementBills(context.Background(), "st"); err != nil || len(got) != 2 {
		t.Fatalf("a consistent statement: %v, %d bills", err, len(got))
	}
	for name, s := range map[string]model.Statement{
		"another hash": func() model.Statement {
			s := good
			s.BillsHash = model.StatementBillsHash([]string{"r1:000002", "r1:000001"})
			return s
		}(),
		"another total":    func() model.Statement { s := good; s.Total = 1000; return s }(),
		"another count":    func() model.Statement { s := good; s.Bills = 3; return s }(),
		"another currency": func() model.Statement { s := good; s.Currency = "USD"; return s }(),
	} {
		_, _, err := New(statementLedger{s, bills}).StatementBills(context.Background(), "st")
		var ce *Error
		if !errors.As(err, &ce) || ce.Kind != KindMismatch {
			t.Errorf("%s: %v, want a mismatch", name, err)
		}
	}
}
