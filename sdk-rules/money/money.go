// Package money is integer money arithmetic for billing rules: amounts are int64
// minor units (cents when the scale is 2), every operation checks for overflow
// and reports it as an error instead of wrapping, and every division names its
// rounding mode. There are no floats anywhere.
//
// The pricing building blocks (Graduated, Volume, Package) and Prorate are built
// on MulDiv, which computes a×b÷c exactly through a 128-bit intermediate, so a
// product that does not fit in int64 is fine as long as the quotient does.
//
// Errors are *Error values with a Code that a rule passes through unchanged to
// its error output (see package rule): "overflow", "negative_quantity",
// "negative_price", "invalid_argument". Compare with errors.Is against
// ErrOverflow, ErrNegativeQuantity, ErrNegativePrice and ErrInvalidArgument.
//
// The package allocates nothing on the success path and uses no reflection, so
// it is cheap inside a gas-metered Wasm rule and builds with TinyGo.
package money

import (
	"math"
	"math/bits"
	"strconv"
)

// Error codes of the errors this package returns.
const (
	CodeOverflow         = "overflow"
	CodeNegativeQuantity = "negative_quantity"
	CodeNegativePrice    = "negative_price"
	CodeInvalidArgument  = "invalid_argument"
)

// Error is an arithmetic or pricing error. Code is one of the Code constants;
// Message says what overflowed or what was wrong, with the operands.
type Error struct {
	Code    string
	Message string
}

// Error returns the message (the code is kept apart; see ErrorCode).
func (e *Error) Error() string { return e.Message }

// ErrorCode returns the machine-readable code; package rule uses it as
// the code of the rule's error output.
func (e *Error) ErrorCode() string { return e.Code }

// Is makes errors.Is(err, ErrOverflow) (and the other sentinels) match any
// *Error with the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Code == e.Code
}

// Sentinels for errors.Is. They carry only a code.
var (
	ErrOverflow         error = &Error{Code: CodeOverflow}
	ErrNegativeQuantity error = &Error{Code: CodeNegativeQuantity}
	ErrNegativePrice    error = &Error{Code: CodeNegativePrice}
	ErrInvalidArgument  error = &Error{Code: CodeInvalidArgument}
)

func errorf(code string, parts ...string) error {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	b := make([]byte, 0, n)
	for _, p := range parts {
		b = append(b, p...)
	}
	return &Error{Code: code, Message: string(b)}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// RoundingMode says how a division rounds its exact quotient to an integer.
// Modes are symmetric: a negative quotient rounds like its magnitude, then
// takes the sign back (Down of -2.5 is -2, Up of -2.5 is -3).
type RoundingMode uint8

const (
	// Down truncates toward zero: 2.9 → 2, -2.9 → -2.
	Down RoundingMode = iota
	// Up rounds away from zero: 2.1 → 3, -2.1 → -3.
	Up
	// HalfUp rounds to nearest, ties away from zero: 2.5 → 3, 2.4 → 2, -2.5 → -3.
	HalfUp
	// HalfEven rounds to nearest, ties to the even neighbour (banker's
	// rounding): 2.5 → 2, 3.5 → 4, -2.5 → -2.
	HalfEven
)

// String returns the mode's name.
func (m RoundingMode) String() string {
	switch m {
	case Down:
		return "down"
	case Up:
		return "up"
	case HalfUp:
		return "half_up"
	case HalfEven:
		return "half_even"
	}
	return "rounding(" + strconv.Itoa(int(m)) + ")"
}

// Add returns a+b, or an overflow error.
func Add(a, b int64) (int64, error) {
	s := a + b
	// Overflow iff a and b have the same sign and s has the other one.
	if (a >= 0) == (b >= 0) && (s >= 0) != (a >= 0) {
		return 0, errorf(CodeOverflow, itoa(a), " + ", itoa(b), " overflows int64")
	}
	return s, nil
}

// Sub returns a-b, or an overflow error.
func Sub(a, b int64) (int64, error) {
	s := a - b
	if (a >= 0) != (b >= 0) && (s >= 0) != (a >= 0) {
		return 0, errorf(CodeOverflow, itoa(a), " - ", itoa(b), " overflows int64")
	}
	return s, nil
}

// Mul returns a×b, or an overflow error.
func Mul(a, b int64) (int64, error) {
	r, ok := mul(a, b)
	if !ok {
		return 0, errorf(CodeOverflow, itoa(a), " × ", itoa(b), " overflows int64")
	}
	return r, nil
}

func mul(a, b int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	neg := (a < 0) != (b < 0)
	hi, lo := bits.Mul64(abs(a), abs(b))
	return signed(hi, lo, neg)
}

// Sum adds amounts, or returns an overflow error. The order of addition does
// not change the result: Sum fails if and only if the exact sum does not fit,
// even when a partial sum would overflow and a later term would bring it back.
func Sum(amounts ...int64) (int64, error) {
	// Accumulate in 128 bits (two's complement hi:lo).
	var hi, lo uint64
	for _, a := range amounts {
		var carry uint64
		lo, carry = bits.Add64(lo, uint64(a), 0)
		ext := uint64(0)
		if a < 0 {
			ext = math.MaxUint64
		}
		hi, _ = bits.Add64(hi, ext, carry)
	}
	// Fits iff hi is the sign extension of lo.
	if (int64(lo) < 0 && hi != math.MaxUint64) || (int64(lo) >= 0 && hi != 0) {
		return 0, errorf(CodeOverflow, "sum of ", strconv.Itoa(len(amounts)), " amounts overflows int64")
	}
	return int64(lo), nil
}

// MulDiv returns a×b÷c rounded by mode, computed exactly: the product may
// exceed int64 as long as the result fits. c must not be zero.
func MulDiv(a, b, c int64, mode RoundingMode) (int64, error) {
	if c == 0 {
		return 0, errorf(CodeInvalidArgument, itoa(a), " × ", itoa(b), " ÷ 0: division by zero")
	}
	if mode > HalfEven {
		return 0, errorf(CodeInvalidArgument, "unknown rounding mode ", mode.String())
	}
	if a == 0 || b == 0 {
		return 0, nil
	}
	neg := (a < 0) != (b < 0) != (c < 0)
	d := abs(c)
	hi, lo := bits.Mul64(abs(a), abs(b))
	if hi >= d {
		// The quotient needs more than 64 bits.
		return 0, errorf(CodeOverflow, itoa(a), " × ", itoa(b), " ÷ ", itoa(c), " overflows int64")
	}
	q, r := bits.Div64(hi, lo, d)
	if r != 0 && roundUp(q, r, d, mode) {
		q++
		if q == 0 { // wrapped past 2^64-1: cannot happen as hi < d, but be safe
			return 0, errorf(CodeOverflow, itoa(a), " × ", itoa(b), " ÷ ", itoa(c), " overflows int64")
		}
	}
	v, ok := signed(0, q, neg)
	if !ok {
		return 0, errorf(CodeOverflow, itoa(a), " × ", itoa(b), " ÷ ", itoa(c), " overflows int64")
	}
	return v, nil
}

// Div returns a÷c rounded by mode.
func Div(a, c int64, mode RoundingMode) (int64, error) { return MulDiv(a, 1, c, mode) }

// roundUp says whether the magnitude q (with remainder r > 0 of divisor d)
// rounds up to q+1 under mode.
func roundUp(q, r, d uint64, mode RoundingMode) bool {
	switch mode {
	case Up:
		return true
	case HalfUp, HalfEven:
		// Compare 2r with d without overflow: r >= d-r.
		switch {
		case r > d-r:
			return true
		case r < d-r:
			return false
		}
		if mode == HalfUp {
			return true
		}
		return q&1 == 1
	}
	return false
}

func abs(v int64) uint64 {
	if v < 0 {
		return uint64(-v) // -MinInt64 wraps to MinInt64, whose uint64 is 2^63: right
	}
	return uint64(v)
}

// signed returns the int64 of magnitude hi:lo with the sign neg, if it fits.
func signed(hi, lo uint64, neg bool) (int64, bool) {
	if hi != 0 {
		return 0, false
	}
	if neg {
		if lo > 1<<63 {
			return 0, false
		}
		return int64(-lo), true
	}
	if lo > math.MaxInt64 {
		return 0, false
	}
	return int64(lo), true
}

// Prorate returns the amount due for seconds of a resource priced at
// amountPerUnit per unitSeconds (3600 for an hourly price): amountPerUnit ×
// seconds ÷ unitSeconds rounded by mode. seconds must not be negative and
// unitSeconds must be positive.
func Prorate(amountPerUnit, seconds, unitSeconds int64, mode RoundingMode) (int64, error) {
	if seconds < 0 {
		return 0, errorf(CodeNegativeQuantity, "prorate over ", itoa(seconds), " seconds: negative duration")
	}
	if unitSeconds <= 0 {
		return 0, errorf(CodeInvalidArgument, "prorate per ", itoa(unitSeconds), " seconds: the unit must be positive")
	}
	return MulDiv(amountPerUnit, seconds, unitSeconds, mode)
}
