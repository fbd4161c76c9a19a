package rule

import (
	"strconv"

	"github.com/fedmeter/fedmeter/sdk-rules/money"
)

// MaxTiers is the most tiers Tiers reads.
const MaxTiers = 32

// Tiers reads a tier list from the price book entry, by this naming
// convention, for a price unit such as "gib_month":
//
//	tier1_gib_month        price of tier 1, per gib_month
//	tier1_upto_gib_month   where tier 1 ends, in gib_month (inclusive)
//	tier2_gib_month        price of tier 2
//	...
//	tierN_gib_month        price of the last tier, which has no upto: unbounded
//
// Quantities are often kept in a finer unit than prices (GiB-seconds against
// GiB-months): quantityPerUnit is how many quantity units make one price unit
// (2,592,000 GiB-seconds per 30-day GiB-month). The returned tiers have UpTo
// in quantity units and Price per price unit, ready for money.Graduated or
// money.Volume with per = quantityPerUnit.
//
// Errors: "missing_price" if there is no tier1 price, "negative_price",
// "bad_price_book" if the tiers are not numbered 1..N without gaps, a bound
// is missing (on any tier but the last) or present on the last, or bounds do
// not increase, and "overflow" if a bound in quantity units does not fit.
func (in *Input) Tiers(unit string, quantityPerUnit int64) ([]money.Tier, error) {
	if quantityPerUnit <= 0 {
		return nil, NewError(CodeBadPriceBook, "tiers of "+unit+": quantity per unit must be positive")
	}
	var prices, bounds [MaxTiers + 1]int64
	var hasPrice, hasBound [MaxTiers + 1]bool
	n := 0
	for _, q := range in.Price.UnitPrices {
		k, isBound, ok := tierName(q.Name, unit)
		if !ok {
			continue
		}
		if k < 1 || k > MaxTiers {
			return nil, NewError(CodeBadPriceBook, "price "+strconv.Quote(q.Name)+": tiers are numbered 1 to "+strconv.Itoa(MaxTiers))
		}
		if isBound {
			bounds[k], hasBound[k] = q.Value, true
		} else {
			prices[k], hasPrice[k] = q.Value, true
		}
		n = max(n, k)
	}
	first := "tier1_" + unit
	if !hasPrice[1] {
		return nil, NewError(CodeMissingPrice, "no unit price for "+strconv.Quote(first)+" in the price book entry")
	}
	tiers := make([]money.Tier, 0, n)
	prev := int64(0)
	for k := 1; k <= n; k++ {
		name := "tier" + strconv.Itoa(k) + "_" + unit
		bound := "tier" + strconv.Itoa(k) + "_upto_" + unit
		if !hasPrice[k] {
			return nil, NewError(CodeBadPriceBook, "tiers of "+unit+" skip tier "+strconv.Itoa(k)+": no price "+strconv.Quote(name))
		}
		if prices[k] < 0 {
			return nil, NewError(CodeNegativePrice, "unit price "+strconv.Quote(name)+" is negative: "+strconv.FormatInt(prices[k], 10))
		}
		t := money.Tier{UpTo: money.Unbounded, Price: prices[k]}
		if k < n {
			if !hasBound[k] {
				return nil, NewError(CodeBadPriceBook, "tier "+strconv.Itoa(k)+" of "+unit+" is not the last but has no bound "+strconv.Quote(bound))
			}
			if bounds[k] <= prev {
				return nil, NewError(CodeBadPriceBook, "bound "+strconv.Quote(bound)+" is "+strconv.FormatInt(bounds[k], 10)+
					", not above the previous tier's "+strconv.FormatInt(prev, 10))
			}
			prev = bounds[k]
			upTo, err := money.Mul(bounds[k], quantityPerUnit)
			if err != nil {
				return nil, Wrap(err, "bound "+strconv.Quote(bound)+" in quantity units")
			}
			t.UpTo = upTo
		} else if hasBound[k] {
			return nil, NewError(CodeBadPriceBook, "the last tier of "+unit+" (tier "+strconv.Itoa(k)+
				") has a bound "+strconv.Quote(bound)+"; the last tier must be unbounded")
		}
		tiers = append(tiers, t)
	}
	return tiers, nil
}

// tierName parses "tier<k>_<unit>" and "tier<k>_upto_<unit>". A number with
// a leading zero or above MaxTiers comes back as k = 0, which Tiers refuses.
func tierName(name, unit string) (k int, bound, ok bool) {
	if len(name) < 6 || name[:4] != "tier" {
		return 0, false, false
	}
	i := 4
	for i < len(name) && name[i] >= '0' && name[i] <= '9' {
		if k <= MaxTiers {
			k = k*10 + int(name[i]-'0')
		}
		i++
	}
	if i == 4 || i >= len(name) || name[i] != '_' {
		return 0, false, false
	}
	if name[4] == '0' || k > MaxTiers {
		k = 0
	}
	rest := name[i+1:]
	if rest == unit {
		return k, false, true
	}
	if len(rest) == len("upto_")+len(unit) && rest[:5] == "upto_" && rest[5:] == unit {
		return k, true, true
	}
	return 0, false, false
}
