package client

import (
	"strings"
	"testing"
)

// TestContractErrorLedgerLayout: the contract's refusal of a ledger in
// another key layout (chaincode's TestLedgerLayoutRefused pins the phrase
// matched here) tells the user there is no migration and what to do.
func TestContractErrorLedgerLayout(t *testing.T) {
	msg := "the ledger is in another key layout: this ledger is in key layout 0 and this contract reads layout 3; it was made by another version of fedmeter, whose keys this one would not find (chaincode/README.md, \"Key layout\")"
	e := contractError("UsageSubmit", msg, "tx1", nil)
	if e.Kind != KindRule || !strings.Contains(e.Hint, "no migration") || !strings.Contains(e.Hint, "new ledger") {
		t.Fatalf("kind %v, hint %q", e.Kind, e.Hint)
	}
}
