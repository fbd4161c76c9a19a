package money

import (
	"math"
	"strconv"
)

// Unbounded is the UpTo of a last tier that has no upper bound.
const Unbounded int64 = math.MaxInt64

// Tier is one band of a tiered price list. A tier covers the quantities above
// the previous tier's UpTo (or above zero, for the first tier) up to and
// including its own UpTo, and is priced at Price minor units per `per` units of
// quantity (per is an argument of Graduated and Volume, so that quantities can
// be kept in a fine unit, e.g. GiB-seconds, while prices read per GiB-month).
type Tier struct {
	UpTo  int64
	Price int64
}

// Band is the part of a quantity priced by one tier.
type Band struct {
	// Tier is the index of the tier in the list (0 for the first).
	Tier int
	// Quantity is how much of the quantity fell in (or, for Volume, was priced
	// by) the tier.
	Quantity int64
	// Price is the tier's price per `per` units.
	Price int64
	// Amount is Quantity × Price ÷ per, rounded.
	Amount int64
}

// CheckTiers reports whether tiers is a usable tier list: at least one tier,
// every UpTo positive and strictly increasing, no negative price.
func CheckTiers(tiers []Tier) error {
	if len(tiers) == 0 {
		return errorf(CodeInvalidArgument, "no tiers")
	}
	prev := int64(0)
	for i, t := range tiers {
		n := strconv.Itoa(i + 1)
		if t.UpTo <= prev {
			return errorf(CodeInvalidArgument, "tier ", n, " ends at ", itoa(t.UpTo),
				", not above the previous tier's end ", itoa(prev))
		}
		if t.Price < 0 {
			return errorf(CodeNegativePrice, "tier ", n, " has negative price ", itoa(t.Price))
		}
		prev = t.UpTo
	}
	return nil
}

func checkQuantity(quantity, per int64) error {
	if quantity < 0 {
		return errorf(CodeNegativeQuantity, "negative quantity ", itoa(quantity))
	}
	if per <= 0 {
		return errorf(CodeInvalidArgument, "price unit of ", itoa(per), " quantity units: must be positive")
	}
	return nil
}

func beyond(quantity int64, tiers []Tier) error {
	return errorf(CodeInvalidArgument, "quantity ", itoa(quantity), " exceeds the last tier, which ends at ",
		itoa(tiers[len(tiers)-1].UpTo))
}

// Graduated prices a quantity with graduated (incremental) tiers: each tier's
// price applies to the part of the quantity inside that tier. It returns one
// Band per tier the quantity reaches (none for a zero quantity), each rounded
// on its own by mode, and their total. A quantity above the last tier's UpTo is
// an error: end the list with an Unbounded tier to price any quantity.
//
// Rounding is per band, so total is the sum of the rounded band amounts, which
// is what a bill that shows each band as a line needs.
func Graduated(quantity int64, tiers []Tier, per int64, mode RoundingMode) (bands []Band, total int64, err error) {
	if err := checkQuantity(quantity, per); err != nil {
		return nil, 0, err
	}
	if err := CheckTiers(tiers); err != nil {
		return nil, 0, err
	}
	if quantity > tiers[len(tiers)-1].UpTo {
		return nil, 0, beyond(quantity, tiers)
	}
	prev := int64(0)
	for i, t := range tiers {
		if quantity <= prev {
			break
		}
		in := min(quantity, t.UpTo) - prev
		amount, err := MulDiv(in, t.Price, per, mode)
		if err != nil {
			return nil, 0, errorf(err.(*Error).Code, "tier ", strconv.Itoa(i+1), ": ", err.Error())
		}
		total, err = Add(total, amount)
		if err != nil {
			return nil, 0, err
		}
		bands = append(bands, Band{Tier: i, Quantity: in, Price: t.Price, Amount: amount})
		prev = t.UpTo
	}
	return bands, total, nil
}

// Volume prices a quantity with volume (all-units) tiers: the tier the whole
// quantity falls in prices all of it. A zero quantity falls in the first tier.
// A quantity above the last tier's UpTo is an error.
func Volume(quantity int64, tiers []Tier, per int64, mode RoundingMode) (Band, error) {
	if err := checkQuantity(quantity, per); err != nil {
		return Band{}, err
	}
	if err := CheckTiers(tiers); err != nil {
		return Band{}, err
	}
	for i, t := range tiers {
		if quantity <= t.UpTo {
			amount, err := MulDiv(quantity, t.Price, per, mode)
			if err != nil {
				return Band{}, err
			}
			return Band{Tier: i, Quantity: quantity, Price: t.Price, Amount: amount}, nil
		}
	}
	return Band{}, beyond(quantity, tiers)
}

// Package prices a quantity sold in whole packages of size units at price
// each: ceil(quantity ÷ size) packages. It returns the package count and the
// amount.
func Package(quantity, size, price int64) (packages, amount int64, err error) {
	if quantity < 0 {
		return 0, 0, errorf(CodeNegativeQuantity, "negative quantity ", itoa(quantity))
	}
	if size <= 0 {
		return 0, 0, errorf(CodeInvalidArgument, "package size ", itoa(size), ": must be positive")
	}
	if price < 0 {
		return 0, 0, errorf(CodeNegativePrice, "negative package price ", itoa(price))
	}
	packages = quantity / size
	if quantity%size != 0 {
		packages++
	}
	amount, err = Mul(packages, price)
	if err != nil {
		return 0, 0, errorf(CodeOverflow, strconv.FormatInt(packages, 10), " packages at ", itoa(price), ": ", err.Error())
	}
	return packages, amount, nil
}
