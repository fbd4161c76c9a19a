package model

// Prepaid allocations and re-rating (issue 22, settlement): the types the
// contract stores and returns for them. chaincode/README.md ("Settlement")
// describes the transactions.

// DefaultThresholds are the percentages of an allocation whose crossing
// raises an event: 80% and 100% spent.
var DefaultThresholds = []int64{80, 100}

// Allocation is a prepaid amount a provider grants a consumer: bills of the
// provider to the consumer in its currency and scale whose period ends in
// [ValidFrom, ValidTo) draw it down (Used), and top-ups add to Amount. A
// bill is never refused for want of an allocation: Used may pass Amount
// (Balance negative) unless HardStop refuses new resource requests first.
type Allocation struct {
	ID       string `json:"id"`
	Provider string `json:"provider"`
	Consumer string `json:"consumer"`
	Currency string `json:"currency"`
	Scale    int    `json:"scale"`
	// Amount is the granted amount and the top-ups, in minor units.
	Amount int64 `json:"amount"`
	// Used is the sum of the amounts of the bills that drew on it
	// (adjustments included: a negative one gives back).
	Used int64 `json:"used"`
	// Balance is Amount - Used.
	Balance int64 `json:"balance"`
	// ValidFrom and ValidTo bound the period ends of the bills that draw on
	// it: [ValidFrom, ValidTo), Unix seconds.
	ValidFrom int64 `json:"valid_from"`
	ValidTo   int64 `json:"valid_to"`
	// HardStop refuses the consumer's resource requests at the provider
	// (priced in this currency) while the allocation is in force and spent.
	HardStop bool `json:"hard_stop"`
	// Thresholds are the percentages of Amount whose crossing is an event
	// (DefaultThresholds); Reached are those the use is at or past now
	// (each was crossed once and is not crossed again until a top-up takes
	// the use back below it); Crossed records each crossing, in order.
	Thresholds []int64             `json:"thresholds"`
	Reached    []int64             `json:"reached"`
	Crossed    []ThresholdCrossing `json:"crossed"`
	// Bills counts the bills that drew on it.
	Bills   int     `json:"bills"`
	TopUps  []TopUp `json:"top_ups"`
	By      Actor   `json:"by"`
	Granted Stamp   `json:"granted"`
	Updated Stamp   `json:"updated"`
}

// ThresholdCrossing records that a bill took an allocation's use to or past
// Percent of its amount.
type ThresholdCrossing struct {
	Percent int64  `json:"percent"`
	Bill    string `json:"bill"`
	Used    int64  `json:"used"`
	Amount  int64  `json:"amount"`
	Stamp
}

// TopUp is an amount added to an allocation.
type TopUp struct {
	Amount int64 `json:"amount"`
	By     Actor `json:"by"`
	Stamp
}

// Allocations is every allocation one provider granted one consumer,
// ordered by ValidFrom then ID.
type Allocations struct {
	Provider string       `json:"provider"`
	Consumer string       `json:"consumer"`
	Entries  []Allocation `json:"entries"`
}

// AllocationDraw is what one bill drew from an allocation, as the bill's
// event carries it: the allocation's use after the bill and the thresholds
// the bill crossed (empty when none).
type AllocationDraw struct {
	Allocation string  `json:"allocation"`
	Bill       string  `json:"bill"`
	Amount     int64   `json:"amount"`
	Used       int64   `json:"used"`
	Granted    int64   `json:"granted"`
	Balance    int64   `json:"balance"`
	Crossed    []int64 `json:"crossed,omitempty"`
}

// AdjustedLineItem is the item of an adjustment bill's last line: minus
// what the bill it adjusts and that bill's earlier adjustments came to, so
// that the rule's lines of the recomputation and it sum to the adjustment.
const AdjustedLineItem = "previously billed"

// RerateResult is what BillRerate returns: the original bills it
// recomputed, and the adjustment bills it issued for those whose amount
// changed (none when nothing changed: re-rating is idempotent).
type RerateResult struct {
	Rule        RuleRef         `json:"rule"`
	Examined    int             `json:"examined"`
	Unchanged   int             `json:"unchanged"`
	Adjustments []RerateOutcome `json:"adjustments"`
	// Draws are the allocation draws of the adjustments, if any.
	Draws []AllocationDraw `json:"draws,omitempty"`
}

// RerateOutcome is one adjustment BillRerate issued: the bill it adjusts,
// what that bill and its earlier adjustments came to (Previous), what the
// current rule and prices compute (Rerated), and the difference (Amount).
type RerateOutcome struct {
	ID       string `json:"id"`
	Adjusts  string `json:"adjusts"`
	Previous int64  `json:"previous"`
	Rerated  int64  `json:"rerated"`
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
	Scale    int    `json:"scale"`
}
