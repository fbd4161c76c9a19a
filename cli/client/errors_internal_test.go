package client

import (
	"strings"
	"testing"

	"github.com/fedmeter/fedmeter/chaincode/model"
)

// TestContractErrorCodes: the kind of a contract refusal follows its code
// alone; the wording is never read. A refusal without a code is internal.
func TestContractErrorCodes(t *testing.T) {
	for code, want := range codeKinds {
		// The same sentence under every code: only the code decides.
		msg := model.Refuse(code, "only Org1MSP may do this; resource_id r names no resource").Error()
		e := contractError("Op", msg, "tx1", nil)
		if e.Kind != want || e.Code != code {
			t.Errorf("%s: kind %v code %q, want %v", code, e.Kind, e.Code, want)
		}
		if strings.HasPrefix(e.Msg, "[") {
			t.Errorf("%s: message %q keeps the wire prefix", code, e.Msg)
		}
	}
	for _, c := range model.Codes {
		if _, ok := codeKinds[c]; !ok {
			t.Errorf("code %s has no kind", c)
		}
	}
	if e := contractError("Op", "resource_id r names no resource", "tx1", nil); e.Kind != KindInternal || e.Hint == "" {
		t.Fatalf("uncoded: kind %v hint %q", e.Kind, e.Hint)
	}
}

// TestContractErrorLedgerLayout: the contract's refusal of a ledger in
// another key layout (code ledger) tells the user there is no migration and
// what to do.
func TestContractErrorLedgerLayout(t *testing.T) {
	msg := "[ledger] the ledger is in another key layout: this ledger is in key layout 0 and this contract reads layout 3; it was made by another version of fedmeter, whose keys this one would not find (chaincode/README.md, \"Key layout\")"
	e := contractError("UsageSubmit", msg, "tx1", nil)
	if e.Kind != KindLedger || !strings.Contains(e.Hint, "no migration") || !strings.Contains(e.Hint, "new ledger") {
		t.Fatalf("kind %v, hint %q", e.Kind, e.Hint)
	}
}
