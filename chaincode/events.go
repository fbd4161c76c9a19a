package chaincode

// EventNames are the names of the events the contract sets, at most one per
// transaction (chaincode/README.md, "Events"). setEvent refuses any other
// name, so a new event is added here first; fedmeter serve, which sends
// each event only to the orgs that may see it, is held to this list by its
// tests (an event it did not know would reach nobody).
var EventNames = []string{
	"ConsortiumInitialized", "ConsortiumProposed", "ConsortiumVoted", "ConsortiumDecided",
	"RuleProposed", "RuleVoted", "RuleDecided", "RuleActivated", "RuleRevokeProposed", "RuleRevoked",
	"BillIssued", "BillPending", "BillsRerated", "UsageAdjusted",
	"AllocationGranted", "AllocationToppedUp",
	"StatementIssued", "StatementAcknowledged", "StatementDisputed", "StatementVoided", "StatementPaid",
	"PaymentRecorded", "PaymentConfirmed",
}
