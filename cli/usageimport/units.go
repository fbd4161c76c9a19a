package usageimport

import (
	"errors"
	"fmt"
	"math/big"
	"strings"
)

type unit struct {
	name   string   // canonical name
	dim    string   // "time", "data size" or "count"
	factor *big.Rat // in the dimension's base unit: seconds, bytes, 1
}

var units = map[string]unit{}

// unitAliases are other names of the canonical units.
var unitAliases = map[string]string{
	"sec": "s", "second": "s", "seconds": "s", "minute": "min", "minutes": "min",
	"hour": "h", "hours": "h", "hr": "h", "day": "d", "days": "d",
	"millisecond": "ms", "milliseconds": "ms",
	"byte": "B", "bytes": "B", "KB": "kB",
	"count": "1", "each": "1", "": "1",
}

func init() {
	add := func(name, dim string, num, den int64) {
		units[name] = unit{name, dim, big.NewRat(num, den)}
	}
	add("ms", "time", 1, 1000)
	add("s", "time", 1, 1)
	add("min", "time", 60, 1)
	add("h", "time", 3600, 1)
	add("d", "time", 86400, 1)
	add("B", "data size", 1, 1)
	p := int64(1)
	q := int64(1)
	for _, x := range []string{"k", "M", "G", "T", "P"} {
		p *= 1000
		q *= 1024
		n := x
		if x == "k" {
			add("kB", "data size", p, 1)
			n = "K"
		} else {
			add(x+"B", "data size", p, 1)
		}
		add(n+"iB", "data size", q, 1)
	}
	add("1", "count", 1, 1)
}

func lookupUnit(s string) (unit, bool) {
	s = strings.TrimSpace(s)
	if u, ok := units[s]; ok {
		return u, true
	}
	if a, ok := unitAliases[s]; ok {
		return units[a], true
	}
	if a, ok := unitAliases[strings.ToLower(s)]; ok && len(s) > 2 {
		return units[a], true
	}
	return unit{}, false
}

func sameUnit(a, b string) bool {
	x, ok1 := lookupUnit(a)
	y, ok2 := lookupUnit(b)
	return ok1 && ok2 && x.name == y.name
}

func unitNames() string {
	return "time: ms, s, min, h, d; data size: B, kB, MB, GB, TB, PB, KiB, MiB, GiB, TiB, PiB; count: 1"
}

const (
	maxMantissa = 40 // digits
	maxExponent = 30
)

// parseQuantity reads a non-negative decimal number ("3600", "2.5",
// "1.5e3"), optionally followed by a unit ("20GB", "3600 s"), or an ISO 8601
// duration ("PT1H30M", "P1DT0.5S"; in seconds). It returns the exact value
// and the unit the value itself names ("" if none).
func parseQuantity(raw string) (*big.Rat, string, error) {
	s := strings.TrimSpace(raw)
	if strings.HasPrefix(s, "-") {
		return nil, "", fmt.Errorf("is negative")
	}
	if strings.HasPrefix(s, "P") {
		q, err := parseISODuration(s)
		return q, "s", err
	}
	s = strings.TrimPrefix(s, "+")
	// the number: digits [. digits] [e|E [+-] digits]
	i := 0
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return nil, "", fmt.Errorf("is not a number")
	}
	mant := s[:i]
	exp := 0
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') && i+1 < len(s) && (s[i+1] == '+' || s[i+1] == '-' || s[i+1] >= '0' && s[i+1] <= '9') {
		j := i + 1
		neg := false
		if s[j] == '+' || s[j] == '-' {
			neg = s[j] == '-'
			j++
		}
		k := j
		for k < len(s) && s[k] >= '0' && s[k] <= '9' {
			if exp > 1000 {
				return nil, "", fmt.Errorf("has an exponent out of range: %w", errTooLarge)
			}
			exp = exp*10 + int(s[k]-'0')
			k++
		}
		if k == j {
			return nil, "", fmt.Errorf("is not a number")
		}
		if neg {
			exp = -exp
		}
		i = k
	}
	unitPart := strings.TrimSpace(s[i:])
	for _, c := range unitPart {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '1') {
			return nil, "", fmt.Errorf("is not a number")
		}
	}
	if exp > maxExponent || exp < -maxExponent {
		return nil, "", fmt.Errorf("has exponent %d, beyond ±%d: %w", exp, maxExponent, errTooLarge)
	}
	if strings.TrimLeft(strings.Replace(mant, ".", "", 1), "0") != "" && len(strings.TrimLeft(strings.Replace(mant, ".", "", 1), "0")) > maxMantissa {
		return nil, "", fmt.Errorf("has more than %d significant digits: %w", maxMantissa, errTooLarge)
	}
	q, ok := new(big.Rat).SetString(mant)
	if !ok {
		return nil, "", fmt.Errorf("is not a number")
	}
	if exp != 0 {
		e := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(exp))), nil)
		if exp > 0 {
			q.Mul(q, new(big.Rat).SetInt(e))
		} else {
			q.Quo(q, new(big.Rat).SetInt(e))
		}
	}
	return q, unitPart, nil
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// parseISODuration reads an xsd:duration without years or months (they
// have no fixed length): PnDTnHnMnS, seconds possibly fractional.
func parseISODuration(s string) (*big.Rat, error) {
	rest := s[1:]
	total := new(big.Rat)
	inTime := false
	if rest == "" {
		return nil, fmt.Errorf("is not an ISO 8601 duration")
	}
	seen := ""
	for rest != "" {
		if rest[0] == 'T' {
			if inTime {
				return nil, fmt.Errorf("is not an ISO 8601 duration")
			}
			inTime = true
			rest = rest[1:]
			if rest == "" {
				return nil, fmt.Errorf("is not an ISO 8601 duration")
			}
			continue
		}
		j := 0
		for j < len(rest) && (rest[j] >= '0' && rest[j] <= '9' || rest[j] == '.') {
			j++
		}
		if j == 0 || j == len(rest) || j > maxMantissa {
			if j > maxMantissa {
				return nil, fmt.Errorf("has a component of more than %d digits: %w", maxMantissa, errTooLarge)
			}
			return nil, fmt.Errorf("is not an ISO 8601 duration")
		}
		n, ok := new(big.Rat).SetString(rest[:j])
		if !ok || strings.Count(rest[:j], ".") > 1 {
			return nil, fmt.Errorf("is not an ISO 8601 duration")
		}
		d := rest[j]
		key := string(d)
		if inTime {
			key = "T" + key
		}
		if strings.Contains(seen, key+",") {
			return nil, fmt.Errorf("is not an ISO 8601 duration (%c twice)", d)
		}
		seen += key + ","
		var f int64
		switch {
		case !inTime && d == 'D':
			f = 86400
		case !inTime && d == 'W':
			f = 7 * 86400
		case !inTime && (d == 'Y' || d == 'M'):
			return nil, fmt.Errorf("counts years or months, which have no fixed length in seconds")
		case inTime && d == 'H':
			f = 3600
		case inTime && d == 'M':
			f = 60
		case inTime && d == 'S':
			f = 1
		default:
			return nil, fmt.Errorf("is not an ISO 8601 duration")
		}
		total.Add(total, n.Mul(n, big.NewRat(f, 1)))
		rest = rest[j+1:]
	}
	return total, nil
}

var errNegative = errors.New("negative")

// convert turns q in unit from into an int64 in unit to, rounded.
func convert(q *big.Rat, from, to, round string) (int64, error) {
	f, t := units[from], units[to]
	x := new(big.Rat).Mul(q, f.factor)
	x.Quo(x, t.factor)
	if x.Sign() < 0 {
		return 0, errNegative
	}
	num, den := x.Num(), x.Denom()
	n, rem := new(big.Int).QuoRem(num, den, new(big.Int))
	if rem.Sign() != 0 {
		switch round {
		case "up":
			n.Add(n, big.NewInt(1))
		case "nearest":
			if new(big.Int).Lsh(rem, 1).Cmp(den) >= 0 {
				n.Add(n, big.NewInt(1))
			}
		}
	}
	if !n.IsInt64() {
		return 0, fmt.Errorf("%s, more than a quantity holds (%d): %w", n.String(), int64(^uint64(0)>>1), errTooLarge)
	}
	return n.Int64(), nil
}
