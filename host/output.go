package host

import (
	"fmt"
	"math/bits"
	"strconv"
	"unicode/utf8"
)

// decodeOutput parses and checks a rule's output against ABI v1. A rule error
// object comes back as *RuleError; every other violation as *BadOutputError.
//
// It is a small strict parser for exactly the output schema rather than
// encoding/json: reflection cost ~10 µs per call, a fifth of a warm call's
// budget. Stricter than encoding/json where that could only hide a bug: no
// duplicate keys, no null, no invalid UTF-8, integers only (no fraction or
// exponent), nothing after the object.
func decodeOutput(out []byte, prof Profile) (*Bill, error) {
	p := outParser{b: out}
	var (
		total, scale          int64
		currency              string
		lines                 []Line
		hasTotal, hasCurrency bool
		hasScale, hasLines    bool
		ruleErr               *RuleError
	)
	err := p.object(func(key string) error {
		switch key {
		case "total":
			hasTotal = true
			return p.int(&total, "total")
		case "currency":
			hasCurrency = true
			return p.str(&currency, "currency")
		case "scale":
			hasScale = true
			return p.int(&scale, "scale")
		case "lines":
			hasLines = true
			return p.array(func(i int) error {
				if i >= prof.MaxLines {
					return fmt.Errorf("more than the limit of %d lines", prof.MaxLines)
				}
				l, err := p.line(i)
				lines = append(lines, l)
				return err
			})
		case "error":
			ruleErr = &RuleError{}
			return p.object(func(key string) error {
				switch key {
				case "code":
					return p.str(&ruleErr.Code, "error.code")
				case "message":
					return p.str(&ruleErr.Message, "error.message")
				}
				return fmt.Errorf("unknown field %q in error", key)
			})
		}
		return fmt.Errorf("unknown field %q", key)
	})
	if err == nil {
		p.space()
		if p.i < len(p.b) {
			err = fmt.Errorf("data after the output object at offset %d", p.i)
		}
	}
	if err != nil {
		return nil, badOutputf("not a valid output object: %v", err)
	}
	if ruleErr != nil {
		if hasTotal || hasCurrency || hasScale || hasLines {
			return nil, badOutputf("output has both a bill and an error")
		}
		if ruleErr.Code == "" {
			return nil, badOutputf("error object without a code")
		}
		return nil, ruleErr
	}
	switch {
	case !hasTotal:
		return nil, badOutputf("missing total")
	case total < 0:
		return nil, badOutputf("total %d is negative", total)
	case !hasCurrency || !validCurrency(currency):
		return nil, badOutputf("currency must be 1 to 8 upper-case letters")
	case !hasScale || scale < 0 || scale > 18:
		return nil, badOutputf("scale must be 0 to 18")
	}
	var sum int64
	for i, l := range lines {
		var ok bool
		if sum, ok = addInt64(sum, l.Amount); !ok {
			return nil, badOutputf("line amounts overflow int64 at line %d (%s)", i, l.Item)
		}
	}
	if sum != total {
		return nil, badOutputf("line amounts sum to %d, not the total %d", sum, total)
	}
	if lines == nil {
		lines = []Line{}
	}
	return &Bill{Total: total, Currency: currency, Scale: int(scale), Lines: lines}, nil
}

// outParser reads JSON from b. Every method skips leading white space.
type outParser struct {
	b []byte
	i int
}

func (p *outParser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *outParser) expect(c byte) error {
	p.space()
	if p.i >= len(p.b) {
		return fmt.Errorf("unexpected end of output, want %q", c)
	}
	if p.b[p.i] != c {
		return fmt.Errorf("unexpected %q at offset %d, want %q", p.b[p.i], p.i, c)
	}
	p.i++
	return nil
}

// peek returns the next non-space byte without consuming it (0 at the end).
func (p *outParser) peek() byte {
	p.space()
	if p.i >= len(p.b) {
		return 0
	}
	return p.b[p.i]
}

// object reads {"key": value, ...}; field reads each value. Keys repeat at
// most once.
func (p *outParser) object(field func(key string) error) error {
	if err := p.expect('{'); err != nil {
		return err
	}
	if p.peek() == '}' {
		p.i++
		return nil
	}
	var seen [8]string
	n := 0
	for {
		var key string
		if err := p.str(&key, "key"); err != nil {
			return err
		}
		for _, k := range seen[:n] {
			if k == key {
				return fmt.Errorf("duplicate field %q", key)
			}
		}
		if n < len(seen) {
			seen[n] = key
			n++
		}
		if err := p.expect(':'); err != nil {
			return err
		}
		if err := field(key); err != nil {
			return err
		}
		switch p.peek() {
		case ',':
			p.i++
		case '}':
			p.i++
			return nil
		default:
			return fmt.Errorf("unexpected %s at offset %d in an object", p.what(), p.i)
		}
	}
}

func (p *outParser) array(elem func(i int) error) error {
	if err := p.expect('['); err != nil {
		return err
	}
	if p.peek() == ']' {
		p.i++
		return nil
	}
	for i := 0; ; i++ {
		if err := elem(i); err != nil {
			return err
		}
		switch p.peek() {
		case ',':
			p.i++
		case ']':
			p.i++
			return nil
		default:
			return fmt.Errorf("unexpected %s at offset %d in an array", p.what(), p.i)
		}
	}
}

func (p *outParser) what() string {
	if p.i >= len(p.b) {
		return "end of output"
	}
	return strconv.QuoteRune(rune(p.b[p.i]))
}

func (p *outParser) line(i int) (Line, error) {
	var l Line
	hasAmount := false
	err := p.object(func(key string) error {
		var err error
		switch key {
		case "item":
			err = p.str(&l.Item, key)
		case "quantity":
			err = p.int(&l.Quantity, key)
		case "unit":
			err = p.str(&l.Unit, key)
		case "unit_price":
			err = p.int(&l.UnitPrice, key)
		case "amount":
			hasAmount = true
			err = p.int(&l.Amount, key)
		default:
			return fmt.Errorf("unknown field %q in line %d", key, i)
		}
		if err != nil {
			return fmt.Errorf("line %d: %w", i, err)
		}
		return nil
	})
	if err != nil {
		return l, err
	}
	if l.Item == "" {
		return l, fmt.Errorf("line %d has no item", i)
	}
	if !hasAmount {
		return l, fmt.Errorf("line %d (%s) has no amount", i, l.Item)
	}
	return l, nil
}

// int reads a JSON integer that fits in int64: -?(0|[1-9][0-9]*), nothing
// more. Fractions and exponents are refused even when their value is whole:
// amounts are integers in minor units, written as such.
func (p *outParser) int(v *int64, name string) error {
	p.space()
	start := p.i
	if p.i < len(p.b) && p.b[p.i] == '-' {
		p.i++
	}
	digits := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	if p.i == digits {
		return fmt.Errorf("%s: want an integer at offset %d, found %s", name, start, p.what())
	}
	if p.b[digits] == '0' && p.i-digits > 1 {
		return fmt.Errorf("%s: integer with a leading zero at offset %d", name, start)
	}
	if p.i < len(p.b) && (p.b[p.i] == '.' || p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		return fmt.Errorf("%s is not an integer (offset %d): amounts are whole minor units", name, start)
	}
	n, err := strconv.ParseInt(string(p.b[start:p.i]), 10, 64)
	if err != nil {
		return fmt.Errorf("%s %s does not fit in int64", name, p.b[start:p.i])
	}
	*v = n
	return nil
}

// str reads a JSON string, unescaping it.
func (p *outParser) str(v *string, name string) error {
	if err := p.expect('"'); err != nil {
		return fmt.Errorf("%s: want a string: %w", name, err)
	}
	start := p.i
	// Fast path: no escapes.
	for p.i < len(p.b) {
		c := p.b[p.i]
		if c == '"' {
			s := p.b[start:p.i]
			p.i++
			if !utf8.Valid(s) {
				return fmt.Errorf("%s is not valid UTF-8", name)
			}
			*v = string(s)
			return nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
		p.i++
	}
	buf := append([]byte(nil), p.b[start:p.i]...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			if !utf8.Valid(buf) {
				return fmt.Errorf("%s is not valid UTF-8", name)
			}
			*v = string(buf)
			return nil
		case c < 0x20:
			return fmt.Errorf("%s: control character in a string at offset %d", name, p.i)
		case c != '\\':
			buf = append(buf, c)
			p.i++
			continue
		}
		if p.i+1 >= len(p.b) {
			break
		}
		e := p.b[p.i+1]
		p.i += 2
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return fmt.Errorf("%s: bad \\u escape at offset %d", name, p.i)
			}
			if r >= 0xd800 && r < 0xdc00 { // high surrogate: a low one must follow
				if p.i+1 < len(p.b) && p.b[p.i] == '\\' && p.b[p.i+1] == 'u' {
					p.i += 2
					lo, ok := p.hex4()
					if ok && lo >= 0xdc00 && lo < 0xe000 {
						r = 0x10000 + (r-0xd800)<<10 + (lo - 0xdc00)
						buf = utf8.AppendRune(buf, r)
						continue
					}
				}
				return fmt.Errorf("%s: unpaired surrogate at offset %d", name, p.i)
			}
			if r >= 0xdc00 && r < 0xe000 {
				return fmt.Errorf("%s: unpaired surrogate at offset %d", name, p.i)
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return fmt.Errorf("%s: bad escape \\%c at offset %d", name, e, p.i-2)
		}
	}
	return fmt.Errorf("%s: unterminated string", name)
}

func (p *outParser) hex4() (rune, bool) {
	if p.i+4 > len(p.b) {
		return 0, false
	}
	var r rune
	for _, c := range p.b[p.i : p.i+4] {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	p.i += 4
	return r, true
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
