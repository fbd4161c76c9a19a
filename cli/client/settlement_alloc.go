package client

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/fedmeter/fedmeter/chaincode/model"
)

// Re-rating, prepaid allocations and time-bounded permissions (issue 22;
// chaincode/README.md, "Settlement").

// Rerate selects the bills BillRerate recomputes: the caller's bills as
// provider of Type, or of the one Resource (set one), with period end in
// [From, To), under the rule and prices in force now. Reason is required.
type Rerate struct {
	Type     string
	Resource string
	From, To time.Time
	Reason   string
}

// RerateBills recomputes the bills r selects and issues an adjustment bill
// for each whose amount changed (none when nothing changed).
func (c *Client) RerateBills(ctx context.Context, r Rerate) (*model.RerateResult, error) {
	if r.From.IsZero() || r.To.IsZero() {
		return nil, Errorf(KindInvalid, "re-rating needs a closed period: both from and to")
	}
	return call[model.RerateResult](ctx, c, true, "BillRerate", r.Type, r.Resource, unixArg(r.From), unixArg(r.To), r.Reason)
}

// Grant is a prepaid allocation a provider grants a consumer: Amount minor
// units of Currency at Scale, drawn by bills whose period ends in
// [From, To) (From zero: now). HardStop refuses the consumer's new requests
// while it is in force and spent.
type Grant struct {
	Consumer string
	ID       string
	Amount   int64
	Currency string
	Scale    int
	From, To time.Time
	HardStop bool
}

// GrantAllocation grants g at the caller's org.
func (c *Client) GrantAllocation(ctx context.Context, g Grant) (*model.Allocation, error) {
	return call[model.Allocation](ctx, c, true, "AllocationGrant", g.Consumer, g.ID, strconv.FormatInt(g.Amount, 10),
		g.Currency, strconv.Itoa(g.Scale), unixArg(g.From), unixArg(g.To), strconv.FormatBool(g.HardStop))
}

// TopUpAllocation adds amount minor units to allocation id that the
// caller's org granted consumer.
func (c *Client) TopUpAllocation(ctx context.Context, consumer, id string, amount int64) (*model.Allocation, error) {
	return call[model.Allocation](ctx, c, true, "AllocationTopUp", consumer, id, strconv.FormatInt(amount, 10))
}

// Allocation returns allocation id that provider granted consumer, with its
// balance and the thresholds crossed.
func (c *Client) Allocation(ctx context.Context, provider, consumer, id string) (*model.Allocation, error) {
	return call[model.Allocation](ctx, c, false, "AllocationGet", provider, consumer, id)
}

// Allocations returns every allocation provider granted consumer.
func (c *Client) Allocations(ctx context.Context, provider, consumer string) (*model.Allocations, error) {
	return call[model.Allocations](ctx, c, false, "AllocationList", provider, consumer)
}

// ActivateRuleUntil is ActivateRule with an end: the rule is active for typ
// in [effectiveFrom, effectiveTo) (effectiveFrom empty: now).
func (c *Client) ActivateRuleUntil(ctx context.Context, typ, ref, effectiveFrom, effectiveTo string) (*model.Activations, error) {
	r, err := c.Rule(ctx, ref)
	if err != nil {
		return nil, err
	}
	return call[model.Activations](ctx, c, true, "RuleActivateUntil", typ, r.Hash, effectiveFrom, effectiveTo)
}

// SetQuotaWindow is SetQuota with a validity window: requests are granted
// in [validFrom, validTo) only (either empty: unbounded on that side).
func (c *Client) SetQuotaWindow(ctx context.Context, consumer string, limits map[string]int64, validFrom, validTo string) (*model.Quota, error) {
	b, _ := json.Marshal(limits)
	return call[model.Quota](ctx, c, true, "QuotaSetWindow", consumer, string(b), validFrom, validTo)
}
