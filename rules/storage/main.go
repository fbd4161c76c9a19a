// Command storage is the standard billing rule for stored data (buckets,
// volumes): graduated tiers per GiB-month.
//
// Usage: storage_gib_seconds, the stored GiB integrated over the period (the
// metering agent samples the stored size and sums GiB × seconds).
//
// Prices (price.unit_prices, see rule.Input.Tiers for the convention):
//
//	tier1_gib_month, tier1_upto_gib_month, tier2_gib_month, ..., tierN_gib_month
//
// Tier k covers the GiB-months above tier k-1's bound up to its own; the last
// tier is unbounded. A month is 30 days, so one GiB-month is 2,592,000
// GiB-seconds. Graduated: each tier's price applies to the part of the usage
// inside it. Each tier reached gives a line "storage_tier<k>":
//
//	quantity = GiB-seconds in the tier (unit gib_second)
//	amount   = round_half_up(quantity × tier price / 2,592,000)
//
// computed exactly; each line is rounded on its own and the total is their
// sum. No usage gives an empty bill with total 0.
//
// Refused: a missing tier1 price ("missing_price"), a malformed tier list
// ("bad_price_book", e.g. a gap, a missing or non-increasing bound, a bounded
// last tier), a negative price or usage, any other usage metric
// ("unknown_metric"), a bad period, and overflow.
package main

import (
	"strconv"

	"github.com/fedmeter/fedmeter/sdk-rules/money"
	"github.com/fedmeter/fedmeter/sdk-rules/rule"
)

// GiBSecondsPerMonth is the number of GiB-seconds in a GiB-month of 30 days.
const GiBSecondsPerMonth = 30 * 24 * 3600

// Bill is the rule's function.
func Bill(in *rule.Input) (*rule.Bill, error) {
	if err := in.KnownMetrics("storage_gib_seconds"); err != nil {
		return nil, err
	}
	if _, err := in.Seconds(); err != nil {
		return nil, err
	}
	tiers, err := in.Tiers("gib_month", GiBSecondsPerMonth)
	if err != nil {
		return nil, err
	}
	used, err := in.Metric("storage_gib_seconds")
	if err != nil {
		return nil, err
	}
	bands, _, err := money.Graduated(used, tiers, GiBSecondsPerMonth, money.HalfUp)
	if err != nil {
		return nil, rule.Wrap(err, "storage")
	}
	b := rule.NewBill(in)
	for _, band := range bands {
		err := b.Add(rule.Line{
			Item:     "storage_tier" + strconv.Itoa(band.Tier+1),
			Quantity: band.Quantity,
			Unit:     "gib_second",
			Amount:   band.Amount,
		})
		if err != nil {
			return nil, err
		}
	}
	return b, nil
}

func init() { rule.Register(Bill) }

func main() {}
