package serve

import (
	"net/http"
	"reflect"
	"strings"

	"github.com/fedmeter/fedmeter/chaincode/model"
	"github.com/fedmeter/fedmeter/cli/client"
)

// The finance staff's corrections and prepaid money: granting and topping
// up prepaid allocations, correcting a usage record, and re-rating bills
// (chaincode/README.md, "Prepaid allocations", "Usage corrections",
// "Re-rating"). As on the rest of the write side, each handler reads its
// arguments, calls one method of cli/client and leaves the decision to the
// contract: a provider admin grants, tops up and re-rates; an identity of
// the resource's provider corrects its usage; anyone else is refused with
// the contract's code.

// allocOperations documents the routes of this file in /openapi.json.
var allocOperations = []operation{
	{method: "POST", path: "/api/v1/allocations", id: "grantAllocation", summary: "grant a consumer a prepaid allocation at the caller's org (a provider admin): bills whose period ends in [from, to) draw on it",
		body: reflect.TypeFor[AllocationGrantBody](), bodyRequired: true, status: 201, resp: reflect.TypeFor[model.Allocation]()},
	{method: "POST", path: "/api/v1/allocations/{provider}/{consumer}/{id}/topups", id: "topUpAllocation", summary: "add an amount to an allocation the caller's org granted (a provider admin); provider must be the caller's org",
		params: []param{{name: "provider", in: "path"}, {name: "consumer", in: "path"}, pathID}, body: reflect.TypeFor[AmountBody](), bodyRequired: true,
		resp: reflect.TypeFor[model.Allocation]()},
	{method: "POST", path: "/api/v1/resources/{id}/usage/corrections", id: "correctUsage", summary: "correct a usage record of the resource to a quantity (0 voids it), with a reason (an identity of the resource's provider); correction is null when the record already counts that quantity",
		params: []param{pathID}, body: reflect.TypeFor[UsageCorrectionBody](), bodyRequired: true, resp: reflect.TypeFor[model.UsageAdjustment]()},
	{method: "POST", path: "/api/v1/rerates", id: "rerateBills", summary: "recompute the caller's org's bills of a type or of one resource whose period ends in [from, to) under the rule and prices in force now, and issue an adjustment bill for each whose amount changed (a provider admin)",
		body: reflect.TypeFor[RerateBody](), bodyRequired: true, resp: reflect.TypeFor[model.RerateResult]()},
}

func init() { operations = append(operations, allocOperations...) }

// AllocationGrantBody is POST /api/v1/allocations's body: the consumer, the
// allocation's ID, its amount (amount in minor units, or amount_decimal in
// the currency's units as a string: "5000.00"; never a float), the
// currency and its scale (default 2, as in the price book), the window
// [from, to) (RFC 3339, a day or Unix seconds; from empty: now; to
// required) and whether it is a hard stop.
type AllocationGrantBody struct {
	Consumer      string `json:"consumer"`
	ID            string `json:"id"`
	Amount        int64  `json:"amount,omitempty"`
	AmountDecimal string `json:"amount_decimal,omitempty"`
	Currency      string `json:"currency"`
	Scale         *int   `json:"scale,omitempty"`
	From          string `json:"from,omitempty"`
	To            string `json:"to"`
	HardStop      bool   `json:"hard_stop,omitempty"`
}

// AmountBody is a top-up's body: amount in minor units, or amount_decimal
// in the allocation's currency units.
type AmountBody struct {
	Amount        int64  `json:"amount,omitempty"`
	AmountDecimal string `json:"amount_decimal,omitempty"`
}

// defaultScale is a grant's scale when none is sent: the CLI's default.
const defaultScale = 2

func grantAllocation(r *http.Request, c *client.Client, b AllocationGrantBody) (*model.Allocation, error) {
	scale := defaultScale
	if b.Scale != nil {
		scale = *b.Scale
	}
	if scale < 0 || scale > 18 {
		return nil, badArg("scale %d is not valid: the decimal digits of the currency's minor unit, 0 to 18", scale)
	}
	amount, err := amountOf(b.Amount, b.AmountDecimal, func() (int, error) { return scale, nil })
	if err != nil {
		return nil, err
	}
	from, err := dayOrTime("from", b.From)
	if err != nil {
		return nil, err
	}
	to, err := dayOrTime("to", b.To)
	if err != nil {
		return nil, err
	}
	if to.IsZero() {
		return nil, badArg("to is required: an allocation is drawn by the bills whose period ends in [from, to)")
	}
	return c.GrantAllocation(r.Context(), client.Grant{Consumer: strings.TrimSpace(b.Consumer), ID: strings.TrimSpace(b.ID), Amount: amount,
		Currency: strings.TrimSpace(b.Currency), Scale: scale, From: from, To: to, HardStop: b.HardStop})
}

func (s *Server) grantAllocation(r *http.Request, c *client.Client) (int, any, error) {
	var b AllocationGrantBody
	if err := readJSON(r, &b); err != nil {
		return 0, nil, err
	}
	a, err := grantAllocation(r, c, b)
	return http.StatusCreated, a, err
}

// topUpAllocation adds b's amount to allocation id that the caller's org
// granted consumer; a decimal amount is read at the allocation's scale.
func topUpAllocation(r *http.Request, c *client.Client, consumer, id string, b AmountBody) (*model.Allocation, error) {
	amount, err := amountOf(b.Amount, b.AmountDecimal, func() (int, error) {
		a, err := c.Allocation(r.Context(), c.MSPID(), consumer, id)
		if err != nil {
			return 0, err
		}
		return a.Scale, nil
	})
	if err != nil {
		return nil, err
	}
	return c.TopUpAllocation(r.Context(), consumer, id, amount)
}

func (s *Server) topUpAllocation(r *http.Request, c *client.Client) (int, any, error) {
	if err := ownOrg(c, "AllocationTopUp", r.PathValue("provider")); err != nil {
		return 0, nil, err
	}
	var b AmountBody
	if err := readJSON(r, &b); err != nil {
		return 0, nil, err
	}
	a, err := topUpAllocation(r, c, r.PathValue("consumer"), r.PathValue("id"), b)
	return 200, a, err
}

// UsageCorrectionBody is POST /api/v1/resources/{id}/usage/corrections's
// body: the record corrected (its metric and period (start, end], RFC 3339
// or Unix seconds, and its ID when it was sent with one), the quantity it
// is to count (required; 0 voids it) and why.
type UsageCorrectionBody struct {
	Metric   string `json:"metric"`
	Start    string `json:"start"`
	End      string `json:"end"`
	ID       string `json:"id,omitempty"`
	Quantity *int64 `json:"quantity"`
	Reason   string `json:"reason"`
}

func correctUsage(r *http.Request, c *client.Client, resource string, b UsageCorrectionBody) (*model.UsageAdjustment, error) {
	start, err := dayOrTime("start", b.Start)
	if err != nil {
		return nil, err
	}
	end, err := dayOrTime("end", b.End)
	if err != nil {
		return nil, err
	}
	if start.IsZero() || end.IsZero() {
		return nil, badArg("start and end are required: they are the corrected record's period")
	}
	if b.Quantity == nil {
		return nil, badArg("quantity is required: what the record is to count (0 voids it)")
	}
	return c.AdjustUsage(r.Context(), client.UsageCorrection{Resource: resource, Metric: strings.TrimSpace(b.Metric), Start: start, End: end,
		ID: strings.TrimSpace(b.ID), Quantity: *b.Quantity, Reason: b.Reason})
}

func (s *Server) correctUsage(r *http.Request, c *client.Client) (int, any, error) {
	var b UsageCorrectionBody
	if err := readJSON(r, &b); err != nil {
		return 0, nil, err
	}
	a, err := correctUsage(r, c, r.PathValue("id"), b)
	return 200, a, err
}

// RerateBody is POST /api/v1/rerates's body: the bills re-rated (the
// caller's org's of a resource type, or of one resource: one of the two)
// whose period ends in [from, to) (RFC 3339, a day or Unix seconds; both
// required), and why (required).
type RerateBody struct {
	Type     string `json:"type,omitempty"`
	Resource string `json:"resource,omitempty"`
	From     string `json:"from"`
	To       string `json:"to"`
	Reason   string `json:"reason"`
}

func rerateBills(r *http.Request, c *client.Client, b RerateBody) (*model.RerateResult, error) {
	from, err := dayOrTime("from", b.From)
	if err != nil {
		return nil, err
	}
	to, err := dayOrTime("to", b.To)
	if err != nil {
		return nil, err
	}
	if from.IsZero() || to.IsZero() {
		return nil, badArg("from and to are required: the bills re-rated are those whose period ends in [from, to)")
	}
	return c.RerateBills(r.Context(), client.Rerate{Type: strings.TrimSpace(b.Type), Resource: strings.TrimSpace(b.Resource), From: from, To: to, Reason: b.Reason})
}

func (s *Server) rerateBills(r *http.Request, c *client.Client) (int, any, error) {
	var b RerateBody
	if err := readJSON(r, &b); err != nil {
		return 0, nil, err
	}
	res, err := rerateBills(r, c, b)
	return 200, res, err
}
