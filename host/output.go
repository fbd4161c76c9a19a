package host

import (
	"bytes"
	"encoding/json"
	"io"
	"math/bits"
)

// wireOutput is ABI v1's output object. Pointers tell absent from zero.
type wireOutput struct {
	Total    *int64     `json:"total"`
	Currency *string    `json:"currency"`
	Scale    *int       `json:"scale"`
	Lines    []wireLine `json:"lines"`
	Error    *RuleError `json:"error"`
}

type wireLine struct {
	Item      string `json:"item"`
	Quantity  int64  `json:"quantity"`
	Unit      string `json:"unit"`
	UnitPrice int64  `json:"unit_price"`
	Amount    *int64 `json:"amount"`
}

// decodeOutput parses and checks a rule's output against ABI v1. A rule error
// object comes back as *RuleError; every other violation as *BadOutputError.
// encoding/json already refuses fractions, exponents and out-of-range values
// for int64 fields, which is exactly "integers in minor units".
func decodeOutput(out []byte, prof Profile) (*Bill, error) {
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.DisallowUnknownFields()
	var w wireOutput
	if err := dec.Decode(&w); err != nil {
		return nil, badOutputf("not a valid output object: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, badOutputf("data after the output object")
	}
	if w.Error != nil {
		if w.Total != nil || w.Currency != nil || w.Scale != nil || w.Lines != nil {
			return nil, badOutputf("output has both a bill and an error")
		}
		if w.Error.Code == "" {
			return nil, badOutputf("error object without a code")
		}
		return nil, w.Error
	}
	switch {
	case w.Total == nil:
		return nil, badOutputf("missing total")
	case *w.Total < 0:
		return nil, badOutputf("total %d is negative", *w.Total)
	case w.Currency == nil || !validCurrency(*w.Currency):
		return nil, badOutputf("currency must be 1 to 8 upper-case letters")
	case w.Scale == nil || *w.Scale < 0 || *w.Scale > 18:
		return nil, badOutputf("scale must be 0 to 18")
	case len(w.Lines) > prof.MaxLines:
		return nil, badOutputf("%d lines, more than the limit of %d", len(w.Lines), prof.MaxLines)
	}
	b := &Bill{Total: *w.Total, Currency: *w.Currency, Scale: *w.Scale, Lines: make([]Line, len(w.Lines))}
	var sum int64
	for i, l := range w.Lines {
		if l.Item == "" {
			return nil, badOutputf("line %d has no item", i)
		}
		if l.Amount == nil {
			return nil, badOutputf("line %d (%s) has no amount", i, l.Item)
		}
		var ok bool
		if sum, ok = addInt64(sum, *l.Amount); !ok {
			return nil, badOutputf("line amounts overflow int64 at line %d (%s)", i, l.Item)
		}
		b.Lines[i] = Line{Item: l.Item, Quantity: l.Quantity, Unit: l.Unit, UnitPrice: l.UnitPrice, Amount: *l.Amount}
	}
	if sum != b.Total {
		return nil, badOutputf("line amounts sum to %d, not the total %d", sum, b.Total)
	}
	return b, nil
}

func addInt64(a, b int64) (int64, bool) {
	s, _ := bits.Add64(uint64(a), uint64(b), 0)
	r := int64(s)
	// Overflow iff a and b have the same sign and r's sign differs.
	if (a >= 0) == (b >= 0) && (r >= 0) != (a >= 0) {
		return 0, false
	}
	return r, true
}

func validCurrency(s string) bool {
	if len(s) < 1 || len(s) > 8 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}
