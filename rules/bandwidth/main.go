// Command bandwidth is the standard billing rule for network egress: volume
// pricing with a free allowance, or pricing by the package.
//
// Usage: egress_bytes, the bytes sent out over the period.
//
// Prices (price.unit_prices): free_gib, optional, is a free allowance in GiB
// (2^30 bytes) taken off the usage first; it gives a line "egress_free" with
// the bytes it covered and amount 0. The rest, the billable bytes, is priced
// by exactly one of two schemes:
//
// Volume pricing, tiers per GiB (see rule.Input.Tiers for the convention):
//
//	tier1_gib, tier1_upto_gib, tier2_gib, ..., tierN_gib
//
// The tier that the billable GiB fall in prices all of them: one line
// "egress_tier<k>" with
//
//	quantity = billable bytes (unit byte)
//	amount   = round_half_up(billable bytes × tier price / 2^30)
//
// Package pricing: package_gib (the package size in GiB) and package_price
// (the price of one package). The billable bytes are sold in whole packages:
//
//	quantity = ceil(billable bytes / (package_gib × 2^30)) (unit package)
//	amount   = quantity × package_price
//
// One line "egress_packages", with unit_price = package_price. No billable
// bytes gives no priced line.
//
// Refused: neither scheme's prices ("missing_price"), both at once or half a
// package scheme or a malformed tier list ("bad_price_book"), a negative price
// or usage, any other usage metric ("unknown_metric"), a bad period, and
// overflow.
package main

import (
	"strconv"

	"github.com/fedmeter/fedmeter/sdk-rules/money"
	"github.com/fedmeter/fedmeter/sdk-rules/rule"
)

// GiB is the number of bytes in a GiB.
const GiB = 1 << 30

// Bill is the rule's function.
func Bill(in *rule.Input) (*rule.Bill, error) {
	if err := in.KnownMetrics("egress_bytes"); err != nil {
		return nil, err
	}
	if _, err := in.Seconds(); err != nil {
		return nil, err
	}
	egress, err := in.Metric("egress_bytes")
	if err != nil {
		return nil, err
	}
	freeGiB, _, err := in.OptionalUnitPrice("free_gib")
	if err != nil {
		return nil, err
	}
	_, volume := in.Price.UnitPrices.Get("tier1_gib")
	pkgSize, hasSize, err := in.OptionalUnitPrice("package_gib")
	if err != nil {
		return nil, err
	}
	pkgPrice, hasPrice, err := in.OptionalUnitPrice("package_price")
	if err != nil {
		return nil, err
	}
	switch {
	case volume && (hasSize || hasPrice):
		return nil, rule.NewError(rule.CodeBadPriceBook, "the price book has both volume tiers (tier1_gib) and a package (package_gib, package_price); it must have one")
	case hasSize != hasPrice:
		return nil, rule.NewError(rule.CodeBadPriceBook, "package pricing needs both package_gib and package_price")
	case !volume && !hasSize:
		return nil, rule.NewError(rule.CodeMissingPrice, "no volume tiers (tier1_gib) and no package (package_gib, package_price) in the price book entry")
	}

	b := rule.NewBill(in)
	free, err := money.Mul(freeGiB, GiB)
	if err != nil {
		return nil, rule.Wrap(err, "free_gib in bytes")
	}
	free = min(free, egress)
	billable := egress - free
	if free > 0 {
		if err := b.Add(rule.Line{Item: "egress_free", Quantity: free, Unit: "byte"}); err != nil {
			return nil, err
		}
	}
	if billable == 0 {
		return b, nil
	}
	if volume {
		tiers, err := in.Tiers("gib", GiB)
		if err != nil {
			return nil, err
		}
		band, err := money.Volume(billable, tiers, GiB, money.HalfUp)
		if err != nil {
			return nil, rule.Wrap(err, "egress")
		}
		err = b.Add(rule.Line{Item: "egress_tier" + strconv.Itoa(band.Tier+1), Quantity: billable, Unit: "byte", Amount: band.Amount})
		return b, err
	}
	size, err := money.Mul(pkgSize, GiB)
	if err != nil {
		return nil, rule.Wrap(err, "package_gib in bytes")
	}
	if size == 0 {
		return nil, rule.NewError(rule.CodeBadPriceBook, "package_gib is 0: a package must hold something")
	}
	n, amount, err := money.Package(billable, size, pkgPrice)
	if err != nil {
		return nil, rule.Wrap(err, "egress packages")
	}
	err = b.Add(rule.Line{Item: "egress_packages", Quantity: n, Unit: "package", UnitPrice: pkgPrice, Amount: amount})
	return b, err
}

func init() { rule.Register(Bill) }

func main() {}
