package app

import (
	"strconv"
	"strings"
	"testing"

	"github.com/fedmeter/fedmeter/cli/client"
)

func TestParseAmount(t *testing.T) {
	for _, c := range []struct {
		in    string
		scale int
		want  int64
		err   string
	}{
		{"5000", 2, 500000, ""},
		{"5000.00", 2, 500000, ""},
		{"12.5", 2, 1250, ""},
		{"0.05", 2, 5, ""},
		{"7", 0, 7, ""},
		{"92233720368547758.07", 2, 9223372036854775807, ""},
		{"92233720368547758.08", 2, 0, "too large"},
		{"1.234", 2, 0, "has 3 decimals"},
		{"1.", 2, 0, "not an amount"},
		{".5", 2, 0, "not an amount"},
		{"-1", 2, 0, "not an amount"},
		{"+1", 2, 0, "not an amount"},
		{"1e3", 2, 0, "not an amount"},
		{"1.5", 0, 0, "has 1 decimals"},
		{"", 2, 0, "not an amount"},
		{"1", 19, 0, "scale 19"},
	} {
		got, err := parseAmount("AMOUNT", c.in, c.scale)
		if c.err == "" {
			if err != nil || got != c.want {
				t.Errorf("parseAmount(%q, %d) = %d, %v; want %d", c.in, c.scale, got, err, c.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("parseAmount(%q, %d) = %d, %v; want an error containing %q", c.in, c.scale, got, err, c.err)
		}
	}
}

// FuzzParseAmount: an accepted amount formats back (client.FormatMoney's
// form, padded to the scale) to the digits it was parsed from.
func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"5000", "12.50", "0.05", "1.", "-3", "99999999999999999999", ".5", "1,5", "--1", "92233720368547758.07"} {
		f.Add(s, 2)
	}
	f.Fuzz(func(t *testing.T, s string, scale int) {
		v, err := parseAmount("AMOUNT", s, scale)
		if err != nil {
			return
		}
		if back, err := parseAmount("AMOUNT", client.FormatMoney(v, scale), scale); err != nil || back != v {
			t.Fatalf("parseAmount(%q, %d) = %d, which formats as %q and parses to %d (%v)", s, scale, v, client.FormatMoney(v, scale), back, err)
		}
		if v < 0 {
			t.Fatalf("parseAmount(%q, %d) = %d: negative", s, scale, v)
		}
		whole, frac, _ := strings.Cut(s, ".")
		digits := strings.TrimLeft(whole+frac+strings.Repeat("0", scale-len(frac)), "0")
		if digits == "" {
			digits = "0"
		}
		if got := strconv.FormatInt(v, 10); got != digits {
			t.Fatalf("parseAmount(%q, %d) = %s, want %s", s, scale, got, digits)
		}
	})
}
