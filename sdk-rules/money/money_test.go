package money

import (
	"errors"
	"math"
	"math/big"
	"testing"
)

const (
	maxI = math.MaxInt64
	minI = math.MinInt64
)

func TestAddSubMul(t *testing.T) {
	tests := []struct {
		name    string
		f       func(a, b int64) (int64, error)
		a, b    int64
		want    int64
		wantErr bool
	}{
		{"add", Add, 2, 3, 5, false},
		{"add negative", Add, -2, -3, -5, false},
		{"add max", Add, maxI, 0, maxI, false},
		{"add overflow", Add, maxI, 1, 0, true},
		{"add underflow", Add, minI, -1, 0, true},
		{"add mixed signs never overflow", Add, minI, maxI, -1, false},
		{"sub", Sub, 2, 3, -1, false},
		{"sub overflow", Sub, minI, 1, 0, true},
		{"sub overflow 2", Sub, 0, minI, 0, true},
		{"sub to min", Sub, -1, maxI, minI, false},
		{"mul", Mul, 6, 7, 42, false},
		{"mul negative", Mul, -6, 7, -42, false},
		{"mul zero", Mul, 0, minI, 0, false},
		{"mul overflow", Mul, 1 << 32, 1 << 31, 0, true},
		{"mul max", Mul, maxI, 1, maxI, false},
		{"mul min", Mul, minI, 1, minI, false},
		{"mul min by -1", Mul, minI, -1, 0, true},
		{"mul to min", Mul, -(1 << 62), 2, minI, false},
		{"mul just over", Mul, 1 << 62, 2, 0, true},
	}
	for _, tt := range tests {
		got, err := tt.f(tt.a, tt.b)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("%s(%d, %d) = %d, %v; want %d, error %v", tt.name, tt.a, tt.b, got, err, tt.want, tt.wantErr)
		}
		if err != nil && !errors.Is(err, ErrOverflow) {
			t.Errorf("%s: error %v is not ErrOverflow", tt.name, err)
		}
	}
}

func TestSum(t *testing.T) {
	if s, err := Sum(); s != 0 || err != nil {
		t.Errorf("Sum() = %d, %v", s, err)
	}
	if s, err := Sum(1, 2, 3); s != 6 || err != nil {
		t.Errorf("Sum(1,2,3) = %d, %v", s, err)
	}
	// A partial sum overflows but the total fits.
	if s, err := Sum(maxI, 1, -2); s != maxI-1 || err != nil {
		t.Errorf("Sum(max, 1, -2) = %d, %v", s, err)
	}
	if _, err := Sum(maxI, 1); !errors.Is(err, ErrOverflow) {
		t.Errorf("Sum(max, 1): %v, want overflow", err)
	}
	if _, err := Sum(minI, -1); !errors.Is(err, ErrOverflow) {
		t.Errorf("Sum(min, -1): %v, want overflow", err)
	}
	if s, err := Sum(minI, minI, maxI, maxI, 2); s != 0 || err != nil {
		t.Errorf("Sum(min, min, max, max, 2) = %d, %v", s, err)
	}
}

func TestMulDiv(t *testing.T) {
	tests := []struct {
		a, b, c int64
		mode    RoundingMode
		want    int64
		code    string
	}{
		{7, 1, 2, Down, 3, ""},
		{7, 1, 2, Up, 4, ""},
		{7, 1, 2, HalfUp, 4, ""},
		{7, 1, 2, HalfEven, 4, ""},
		{5, 1, 2, HalfEven, 2, ""},
		{5, 1, 2, HalfUp, 3, ""},
		{-5, 1, 2, HalfUp, -3, ""},
		{-5, 1, 2, HalfEven, -2, ""},
		{-5, 1, 2, Down, -2, ""},
		{-5, 1, 2, Up, -3, ""},
		{5, -1, 2, Down, -2, ""},
		{5, 1, -2, Up, -3, ""},
		{-5, -1, -2, HalfUp, -3, ""},
		{-5, -1, 2, HalfUp, 3, ""},
		{7, 1, 3, HalfUp, 2, ""}, // 2.33
		{8, 1, 3, HalfUp, 3, ""}, // 2.67
		{8, 1, 3, Down, 2, ""},   // 2.67
		{7, 1, 3, Up, 3, ""},     // 2.33
		{6, 1, 3, Up, 2, ""},     // exact
		{12, 1800, 3600, HalfUp, 6, ""},
		{0, 1, 1, HalfUp, 0, ""},
		{0, 1, 0, HalfUp, 0, CodeInvalidArgument},
		{1, 1, 1, RoundingMode(9), 0, CodeInvalidArgument},
		// The product exceeds int64, the quotient does not.
		{maxI, maxI, maxI, Down, maxI, ""},
		{maxI, 3600, 3600, HalfUp, maxI, ""},
		{1 << 62, 86400, 86400 * 2, HalfUp, 1 << 61, ""},
		{minI, 1, 1, Down, minI, ""},
		{minI, 2, 2, Down, minI, ""},
		{minI, -1, 1, Down, 0, CodeOverflow},
		{maxI, 2, 1, Down, 0, CodeOverflow},
		{maxI, maxI, 1, Down, 0, CodeOverflow},
		// Rounding up past the maximum.
		{maxI, 2, 2, Up, maxI, ""},
		{maxI*2/3 + 1, 3, 2, Up, 0, CodeOverflow},
	}
	for _, tt := range tests {
		got, err := MulDiv(tt.a, tt.b, tt.c, tt.mode)
		code := ""
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("MulDiv error %T is not *Error", err)
			}
			code = e.Code
		}
		if got != tt.want || code != tt.code {
			t.Errorf("MulDiv(%d, %d, %d, %v) = %d, %v; want %d, code %q", tt.a, tt.b, tt.c, tt.mode, got, err, tt.want, tt.code)
		}
	}
}

// bigMulDiv is MulDiv by math/big, the reference.
func bigMulDiv(a, b, c int64, mode RoundingMode) (int64, bool) {
	p := new(big.Int).Mul(big.NewInt(a), big.NewInt(b))
	neg := p.Sign()*big.NewInt(c).Sign() < 0
	p.Abs(p)
	d := new(big.Int).Abs(big.NewInt(c))
	q, r := new(big.Int).QuoRem(p, d, new(big.Int))
	if r.Sign() != 0 {
		twice := new(big.Int).Lsh(r, 1)
		cmp := twice.Cmp(d)
		up := false
		switch mode {
		case Up:
			up = true
		case HalfUp:
			up = cmp >= 0
		case HalfEven:
			up = cmp > 0 || (cmp == 0 && q.Bit(0) == 1)
		}
		if up {
			q.Add(q, big.NewInt(1))
		}
	}
	if neg {
		q.Neg(q)
	}
	if !q.IsInt64() {
		return 0, false
	}
	return q.Int64(), true
}

func FuzzMulDiv(f *testing.F) {
	f.Add(int64(7), int64(1), int64(2), uint8(2))
	f.Add(int64(maxI), int64(maxI), int64(maxI), uint8(0))
	f.Add(int64(minI), int64(-1), int64(1), uint8(1))
	f.Add(int64(-5), int64(3), int64(-7), uint8(3))
	f.Fuzz(func(t *testing.T, a, b, c int64, m uint8) {
		if c == 0 {
			return
		}
		mode := RoundingMode(m % 4)
		got, err := MulDiv(a, b, c, mode)
		want, ok := bigMulDiv(a, b, c, mode)
		if ok != (err == nil) || (ok && got != want) {
			t.Fatalf("MulDiv(%d, %d, %d, %v) = %d, %v; big says %d, fits %v", a, b, c, mode, got, err, want, ok)
		}
	})
}

func TestProrate(t *testing.T) {
	if got, err := Prorate(24, 1800, 3600, HalfUp); got != 12 || err != nil {
		t.Errorf("Prorate(24, 1800, 3600) = %d, %v", got, err)
	}
	if got, err := Prorate(1, 1799, 3600, HalfUp); got != 0 || err != nil {
		t.Errorf("Prorate(1, 1799, 3600) = %d, %v", got, err)
	}
	if got, err := Prorate(1, 1800, 3600, HalfUp); got != 1 || err != nil {
		t.Errorf("Prorate(1, 1800, 3600) = %d, %v", got, err)
	}
	if _, err := Prorate(1, -1, 3600, HalfUp); !errors.Is(err, ErrNegativeQuantity) {
		t.Errorf("negative seconds: %v", err)
	}
	if _, err := Prorate(1, 1, 0, HalfUp); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("zero unit: %v", err)
	}
}

var tiers3 = []Tier{{UpTo: 100, Price: 10}, {UpTo: 1000, Price: 8}, {UpTo: Unbounded, Price: 5}}

func TestGraduated(t *testing.T) {
	tests := []struct {
		q     int64
		bands []Band
		total int64
	}{
		{0, nil, 0},
		{50, []Band{{0, 50, 10, 500}}, 500},
		{100, []Band{{0, 100, 10, 1000}}, 1000},
		{101, []Band{{0, 100, 10, 1000}, {1, 1, 8, 8}}, 1008},
		{1500, []Band{{0, 100, 10, 1000}, {1, 900, 8, 7200}, {2, 500, 5, 2500}}, 10700},
	}
	for _, tt := range tests {
		bands, total, err := Graduated(tt.q, tiers3, 1, HalfUp)
		if err != nil || total != tt.total || len(bands) != len(tt.bands) {
			t.Errorf("Graduated(%d) = %v, %d, %v; want %v, %d", tt.q, bands, total, err, tt.bands, tt.total)
			continue
		}
		for i := range bands {
			if bands[i] != tt.bands[i] {
				t.Errorf("Graduated(%d) band %d = %v, want %v", tt.q, i, bands[i], tt.bands[i])
			}
		}
	}
	// Per-band rounding with a price per 3 units.
	bands, total, err := Graduated(101, tiers3, 3, HalfUp)
	if err != nil || total != 333+3 || bands[0].Amount != 333 || bands[1].Amount != 3 {
		t.Errorf("Graduated(101, per 3) = %v, %d, %v", bands, total, err)
	}
}

func TestVolume(t *testing.T) {
	tests := []struct {
		q    int64
		want Band
	}{
		{0, Band{0, 0, 10, 0}},
		{100, Band{0, 100, 10, 1000}},
		{101, Band{1, 101, 8, 808}},
		{1500, Band{2, 1500, 5, 7500}},
	}
	for _, tt := range tests {
		got, err := Volume(tt.q, tiers3, 1, HalfUp)
		if err != nil || got != tt.want {
			t.Errorf("Volume(%d) = %v, %v; want %v", tt.q, got, err, tt.want)
		}
	}
}

func TestPackage(t *testing.T) {
	tests := []struct{ q, size, price, n, amount int64 }{
		{0, 10, 7, 0, 0},
		{1, 10, 7, 1, 7},
		{10, 10, 7, 1, 7},
		{11, 10, 7, 2, 14},
		{maxI, 1 << 62, 3, 2, 6},
	}
	for _, tt := range tests {
		n, amount, err := Package(tt.q, tt.size, tt.price)
		if err != nil || n != tt.n || amount != tt.amount {
			t.Errorf("Package(%d, %d, %d) = %d, %d, %v; want %d, %d", tt.q, tt.size, tt.price, n, amount, err, tt.n, tt.amount)
		}
	}
}

func TestTierErrors(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		sentinel error
	}{
		{"negative quantity", second(Graduated(-1, tiers3, 1, HalfUp)), ErrNegativeQuantity},
		{"zero per", second(Graduated(1, tiers3, 0, HalfUp)), ErrInvalidArgument},
		{"no tiers", second(Graduated(1, nil, 1, HalfUp)), ErrInvalidArgument},
		{"bounds not increasing", second(Graduated(1, []Tier{{10, 1}, {10, 1}}, 1, HalfUp)), ErrInvalidArgument},
		{"zero bound", second(Graduated(1, []Tier{{0, 1}}, 1, HalfUp)), ErrInvalidArgument},
		{"negative price", second(Graduated(1, []Tier{{10, -1}}, 1, HalfUp)), ErrNegativePrice},
		{"beyond last tier", second(Graduated(11, []Tier{{10, 1}}, 1, HalfUp)), ErrInvalidArgument},
		{"volume beyond last tier", errOf(Volume(11, []Tier{{10, 1}}, 1, HalfUp)), ErrInvalidArgument},
		{"volume overflow", errOf(Volume(maxI, []Tier{{Unbounded, 2}}, 1, HalfUp)), ErrOverflow},
		{"graduated overflow", second(Graduated(maxI, []Tier{{Unbounded, 2}}, 1, HalfUp)), ErrOverflow},
		{"package negative", third(Package(-1, 1, 1)), ErrNegativeQuantity},
		{"package zero size", third(Package(1, 0, 1)), ErrInvalidArgument},
		{"package negative price", third(Package(1, 1, -1)), ErrNegativePrice},
		{"package overflow", third(Package(3, 1, maxI/2)), ErrOverflow},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, tt.sentinel) {
			t.Errorf("%s: error %v, want %v", tt.name, tt.err, tt.sentinel)
		}
	}
}

func second[A, B any](_ A, _ B, err error) error { return err }
func third[A, B any](_ A, _ B, err error) error  { return err }
func errOf[A any](_ A, err error) error          { return err }

func TestRoundingModeString(t *testing.T) {
	for m, want := range map[RoundingMode]string{Down: "down", Up: "up", HalfUp: "half_up", HalfEven: "half_even", 7: "rounding(7)"} {
		if got := m.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", m, got, want)
		}
	}
}
