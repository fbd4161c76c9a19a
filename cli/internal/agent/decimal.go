package agent

import (
	"errors"
	"math"
	"math/big"
	"math/bits"
)

// Errors of ParseDecimal.
var (
	ErrNotNumber = errors.New("not a decimal number")
	ErrRange     = errors.New("out of range")
)

var pow10 = [...]int64{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000,
	10000000000, 100000000000, 1000000000000, 10000000000000, 100000000000000, 1000000000000000,
	10000000000000000, 100000000000000000, 1000000000000000000}

// ParseDecimal reads a decimal number (optional sign, digits, optional
// fraction, optional exponent: "12", "-3.25", "1.5e+09") exactly, as an
// integer of 10^-scale units. Digits past the scale are rounded half away
// from zero. NaN, infinities and values past int64 are refused. It reads
// untrusted bytes without floats, so the same text always gives the same
// integer.
func ParseDecimal(s []byte, scale int) (int64, error) {
	i := 0
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	// mantissa digits, without leading zeros; dot position.
	var mant [40]byte
	n, frac, sawDigit, sawDot := 0, 0, false, false
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			sawDigit = true
			if sawDot {
				frac++
			}
			if n == 0 && c == '0' {
				continue
			}
			if n < len(mant) {
				mant[n] = c - '0'
				n++
			} else if sawDot {
				// beyond 40 significant digits: past any int64 and the
				// rounding digit, so it cannot change the result.
				frac--
			} else {
				return 0, ErrRange
			}
		case c == '.' && !sawDot:
			sawDot = true
		default:
			goto exp
		}
	}
exp:
	if !sawDigit {
		return 0, ErrNotNumber
	}
	e := 0
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		if i == len(s) {
			return 0, ErrNotNumber
		}
		for ; i < len(s); i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, ErrNotNumber
			}
			if e < 10000 {
				e = e*10 + int(c-'0')
			}
		}
		if eneg {
			e = -e
		}
	}
	if i != len(s) {
		return 0, ErrNotNumber
	}
	// value = mant × 10^(e - frac); wanted: value × 10^scale.
	shift := e - frac + scale
	if n == 0 {
		return 0, nil
	}
	var v uint64
	keep := n
	if shift < 0 {
		keep = n + shift // digits kept before the decimal point of the result
	}
	if keep > 19 {
		return 0, ErrRange
	}
	for k := 0; k < keep && k < n; k++ {
		v = v*10 + uint64(mant[k])
	}
	if shift < 0 {
		// round half away from zero on the first dropped digit.
		if keep >= 0 && keep < n && mant[keep] >= 5 {
			v++
		}
	} else {
		for k := 0; k < shift; k++ {
			hi, lo := bits.Mul64(v, 10)
			if hi != 0 {
				return 0, ErrRange
			}
			v = lo
		}
	}
	if neg {
		if v > 1<<63 {
			return 0, ErrRange
		}
		return -int64(v), nil
	}
	if v > math.MaxInt64 {
		return 0, ErrRange
	}
	return int64(v), nil
}

// i128 is a signed 128-bit integer (two's complement), enough for a
// period's sum of int64 values or of value × milliseconds, without
// overflow for any stream of fewer than 2^63 samples.
type i128 struct {
	Hi int64  `json:"hi"`
	Lo uint64 `json:"lo"`
}

func i128of(v int64) i128 {
	if v < 0 {
		return i128{Hi: -1, Lo: uint64(v)}
	}
	return i128{Lo: uint64(v)}
}

func (a i128) add(b i128) i128 {
	lo, c := bits.Add64(a.Lo, b.Lo, 0)
	return i128{Hi: a.Hi + b.Hi + int64(c), Lo: lo}
}

// mul returns x × y exactly.
func mul(x, y int64) i128 {
	neg := (x < 0) != (y < 0)
	ux, uy := abs64(x), abs64(y)
	hi, lo := bits.Mul64(ux, uy)
	r := i128{Hi: int64(hi), Lo: lo}
	if neg {
		r = r.neg()
	}
	return r
}

func abs64(x int64) uint64 {
	if x < 0 {
		return uint64(-x)
	}
	return uint64(x)
}

func (a i128) neg() i128 {
	lo, c := bits.Add64(^a.Lo, 1, 0)
	return i128{Hi: ^a.Hi + int64(c), Lo: lo}
}

func (a i128) big() *big.Int {
	b := new(big.Int).SetInt64(a.Hi)
	b.Lsh(b, 64)
	return b.Add(b, new(big.Int).SetUint64(a.Lo))
}

// divRound returns a / d rounded half away from zero (d > 0), and false if
// the result does not fit an int64.
func divRound(a *big.Int, d *big.Int) (int64, bool) {
	q, r := new(big.Int), new(big.Int)
	q.QuoRem(a, d, r) // truncated toward zero; r has a's sign
	r.Abs(r).Lsh(r, 1)
	if r.Cmp(d) >= 0 {
		if a.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	if !q.IsInt64() {
		return 0, false
	}
	return q.Int64(), true
}
