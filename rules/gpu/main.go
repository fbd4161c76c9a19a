// Command gpu is the standard billing rule for GPUs: per GPU-hour, with a
// committed-use discount.
//
// Usage: gpu_seconds, the GPU-seconds used over the period (2 GPUs for an
// hour is 7200).
//
// Spec: committed_gpus, optional: how many GPUs the consumer committed to
// hold for the whole period. The commitment is billed whether used or not,
// at a discount; use beyond it is billed on demand.
//
// Prices: gpu_hour, the on-demand price of one GPU-hour; commit_discount_bp,
// the discount on committed GPU-hours in basis points (2500 = 25%, at most
// 10000), needed only when committed_gpus > 0.
//
// With s = period seconds, committed = committed_gpus × s GPU-seconds:
//
//	gpu_committed    quantity committed (unit gpu_second),
//	                 amount c = round_half_up(committed × gpu_hour / 3600)
//	commit_discount  amount -round_half_up(c × commit_discount_bp / 10000)
//	gpu_on_demand    quantity max(0, gpu_seconds - committed) (unit gpu_second),
//	                 amount round_half_up(quantity × gpu_hour / 3600)
//
// Lines with a zero quantity (and a zero discount) are left out. Every line is
// rounded on its own (half away from zero, so a discount rounds to the larger
// discount on a tie) and the total is their sum.
//
// Refused: missing or negative prices, a discount above 10000 basis points
// ("bad_price_book"), negative usage or commitment, any other usage metric or
// spec key ("unknown_metric", "unknown_spec"; the spec may also hold "gpus",
// which is not billed: usage is), a bad period, and overflow.
package main

import (
	"github.com/fedmeter/fedmeter/sdk-rules/money"
	"github.com/fedmeter/fedmeter/sdk-rules/rule"
)

// Bill is the rule's function.
func Bill(in *rule.Input) (*rule.Bill, error) {
	if err := in.KnownMetrics("gpu_seconds"); err != nil {
		return nil, err
	}
	if err := in.KnownSpec("gpus", "committed_gpus"); err != nil {
		return nil, err
	}
	seconds, err := in.Seconds()
	if err != nil {
		return nil, err
	}
	price, err := in.UnitPrice("gpu_hour")
	if err != nil {
		return nil, err
	}
	used, err := in.Metric("gpu_seconds")
	if err != nil {
		return nil, err
	}
	committedGPUs, err := in.Spec("committed_gpus")
	if err != nil {
		return nil, err
	}
	b := rule.NewBill(in)
	var committed int64
	if committedGPUs > 0 {
		bp, err := in.UnitPrice("commit_discount_bp")
		if err != nil {
			return nil, err
		}
		if bp > 10000 {
			return nil, rule.NewError(rule.CodeBadPriceBook, "commit_discount_bp is above 10000 (100%)")
		}
		committed, err = money.Mul(committedGPUs, seconds)
		if err != nil {
			return nil, rule.Wrap(err, "committed GPU-seconds (committed_gpus × seconds)")
		}
		amount, err := money.MulDiv(committed, price, 3600, money.HalfUp)
		if err != nil {
			return nil, rule.Wrap(err, "gpu_committed amount")
		}
		if err := b.Add(rule.Line{Item: "gpu_committed", Quantity: committed, Unit: "gpu_second", Amount: amount}); err != nil {
			return nil, err
		}
		discount, err := money.MulDiv(amount, bp, 10000, money.HalfUp)
		if err != nil {
			return nil, rule.Wrap(err, "commit_discount amount")
		}
		if discount > 0 {
			if err := b.Add(rule.Line{Item: "commit_discount", Amount: -discount}); err != nil {
				return nil, err
			}
		}
	}
	if over := used - min(used, committed); over > 0 {
		amount, err := money.MulDiv(over, price, 3600, money.HalfUp)
		if err != nil {
			return nil, rule.Wrap(err, "gpu_on_demand amount")
		}
		if err := b.Add(rule.Line{Item: "gpu_on_demand", Quantity: over, Unit: "gpu_second", Amount: amount}); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func init() { rule.Register(Bill) }

func main() {}
