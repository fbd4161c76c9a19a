package app

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/fedmeter/fedmeter/cli/client"
)

// parseAmount reads an amount a user typed in currency units ("5000",
// "12.5", "0.05") as minor units at scale (12.5 at scale 2 is 1250),
// exactly: no floating point, and more decimals than the scale are refused,
// never rounded. Every amount a user types (an allocation, a top-up, a
// payment, a credit note) is positive, so a sign is refused too, as is an
// amount past int64. field names the argument or flag in the error.
func parseAmount(field, s string, scale int) (int64, error) {
	bad := func(why string) error {
		return client.Errorf(client.KindInvalid, "%s %q is not an amount: %s", field, s, why).
			WithHint("write it in the currency's units, e.g. 5000 or 12.50")
	}
	if scale < 0 || scale > 18 {
		return 0, client.Errorf(client.KindInvalid, "%s %q: scale %d is not between 0 and 18", field, s, scale)
	}
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || (dot && frac == "") {
		return 0, bad("it must be digits with an optional decimal point")
	}
	if len(frac) > scale {
		return 0, bad(fmt.Sprintf("it has %d decimals; the currency's scale allows %d", len(frac), scale))
	}
	digits := whole + frac + strings.Repeat("0", scale-len(frac))
	for _, r := range digits {
		if r < '0' || r > '9' {
			return 0, bad("it must be digits with an optional decimal point")
		}
	}
	v, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, bad("it is too large for a 64-bit integer of minor units")
	}
	return v, nil
}
