package rule

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// DecodeInput parses ABI v1 input JSON. It is a small hand-written decoder for
// the fixed schema (no reflection, few allocations): numbers must be integers
// that fit in int64 (a fraction or an exponent is refused), strings are
// unescaped exactly as JSON says and must be valid UTF-8, a key may appear only
// once per object, and unknown fields are skipped (after checking that they are
// well-formed JSON). "abi", "currency", "scale" and "period" with its "start"
// and "end" are required; everything else defaults to empty.
//
// Errors are *Error with code "bad_input" (or "unsupported_abi") and a message
// naming the field and the byte offset.
func DecodeInput(data []byte) (*Input, error) {
	// One copy of the input: every string without escapes is a substring of
	// it, so names and values cost no further allocation.
	d := decoder{data: string(data)}
	// Every named integer needs at least 5 bytes ("":0,), so this arena holds
	// all of them without growing; each object takes a contiguous run of it.
	d.arena = make([]Quantity, 0, len(data)/5+1)
	in := new(Input)
	if err := d.input(in); err != nil {
		return nil, err
	}
	d.pos = skipWS(d.data, d.pos)
	if d.pos != len(d.data) {
		return nil, d.errorf("", "unexpected data after the input object")
	}
	return in, nil
}

type decoder struct {
	data  string
	pos   int
	arena []Quantity
}

// maxSkipDepth bounds the nesting of unknown fields.
const maxSkipDepth = 64

func (d *decoder) errorf(path string, msg string) error {
	return d.errorAt(path, "", msg)
}

// errorAt is errorf for the entry key of the object at path.
func (d *decoder) errorAt(path, key string, msg string) error {
	where := "input"
	if path != "" {
		where += "." + path
	}
	if key != "" {
		where += "." + key
	}
	return &Error{Code: CodeBadInput, Message: where + ": " + msg + " (at byte " + strconv.Itoa(d.pos) + ")"}
}

func skipWS(s string, i int) int {
	for i < len(s) {
		switch s[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

func (d *decoder) ws() { d.pos = skipWS(d.data, d.pos) }

// peek returns the byte at the current position, or 0 at the end.
func (d *decoder) peek() byte {
	if d.pos < len(d.data) {
		return d.data[d.pos]
	}
	return 0
}

// kind names the JSON value starting at the current position, for messages.
func (d *decoder) kind() string {
	if d.pos >= len(d.data) {
		return "the end of the input"
	}
	switch c := d.data[d.pos]; {
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == '"':
		return "a string"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c == '-' || (c >= '0' && c <= '9'):
		return "a number"
	default:
		return "the character " + strconv.QuoteRune(rune(c))
	}
}

// object reads an object, calling field for each key with the decoder placed
// at the value. field must consume the value.
func (d *decoder) object(path string, field func(key string) error) error {
	d.ws()
	if d.peek() != '{' {
		return d.errorf(path, "expected an object, found "+d.kind())
	}
	d.pos++
	d.ws()
	if d.peek() == '}' {
		d.pos++
		return nil
	}
	for {
		d.ws()
		if d.peek() != '"' {
			return d.errorf(path, "expected a key string, found "+d.kind())
		}
		key, err := d.str(path)
		if err != nil {
			return err
		}
		d.ws()
		if d.peek() != ':' {
			return d.errorf(path, "expected ':' after a key, found "+d.kind())
		}
		d.pos++
		d.ws()
		if err := field(key); err != nil {
			return err
		}
		d.ws()
		switch d.peek() {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return nil
		default:
			if d.pos >= len(d.data) {
				return d.errorf(path, "unterminated object")
			}
			return d.errorf(path, "expected ',' or '}' in an object, found "+d.kind())
		}
	}
}

func (d *decoder) str(path string) (string, error) { return d.strAt(path, "") }

// strAt reads a string for the entry key of the object at path.
func (d *decoder) strAt(path, key string) (string, error) {
	s, i := d.data, d.pos
	if i >= len(s) || s[i] != '"' {
		return "", d.errorAt(path, key, "expected a string, found "+d.kind())
	}
	i++
	start := i
	ascii := true
	for i < len(s) {
		c := s[i]
		if c == '"' {
			v := s[start:i]
			if !ascii && !utf8.ValidString(v) {
				return "", d.errorAt(path, key, "string is not valid UTF-8")
			}
			d.pos = i + 1
			return v, nil
		}
		if c == '\\' {
			d.pos = i
			return d.strSlow(path, key, start)
		}
		if c < 0x20 {
			d.pos = i
			return "", d.errorAt(path, key, "control character in a string")
		}
		if c >= 0x80 {
			ascii = false
		}
		i++
	}
	d.pos = i
	return "", d.errorAt(path, key, "unterminated string")
}

func (d *decoder) strSlow(path, key string, start int) (string, error) {
	b := make([]byte, 0, d.pos-start+16)
	b = append(b, d.data[start:d.pos]...)
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			if !utf8.Valid(b) {
				return "", d.errorAt(path, key, "string is not valid UTF-8")
			}
			return string(b), nil
		case c < 0x20:
			return "", d.errorAt(path, key, "control character in a string")
		case c != '\\':
			b = append(b, c)
			d.pos++
			continue
		}
		// An escape.
		if d.pos+1 >= len(d.data) {
			return "", d.errorAt(path, key, "unterminated string")
		}
		e := d.data[d.pos+1]
		d.pos += 2
		switch e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := d.hex4()
			if !ok {
				return "", d.errorAt(path, key, `invalid \u escape`)
			}
			if utf16.IsSurrogate(r) {
				// Must be a high surrogate followed by \u and a low one.
				if r >= 0xDC00 || d.pos+1 >= len(d.data) || d.data[d.pos] != '\\' || d.data[d.pos+1] != 'u' {
					return "", d.errorAt(path, key, `lone surrogate in a \u escape`)
				}
				d.pos += 2
				r2, ok := d.hex4()
				if !ok {
					return "", d.errorAt(path, key, `invalid \u escape`)
				}
				if r2 < 0xDC00 || r2 > 0xDFFF {
					return "", d.errorAt(path, key, `lone surrogate in a \u escape`)
				}
				r = utf16.DecodeRune(r, r2)
			}
			b = utf8.AppendRune(b, r)
		default:
			d.pos--
			return "", d.errorAt(path, key, "invalid escape "+strconv.QuoteRune(rune(e))+" in a string")
		}
	}
	return "", d.errorAt(path, key, "unterminated string")
}

func (d *decoder) hex4() (rune, bool) {
	if d.pos+4 > len(d.data) {
		return 0, false
	}
	var r rune
	for i := d.pos; i < d.pos+4; i++ {
		c := d.data[i]
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	d.pos += 4
	return r, true
}

// int reads a JSON integer that fits in int64.
func (d *decoder) int(path string) (int64, error) { return d.intAt(path, "") }

// intAt reads an integer for the entry key of the object at path.
func (d *decoder) intAt(path, key string) (int64, error) {
	s, start := d.data, d.pos
	i := start
	neg := false
	if i < len(s) && s[i] == '-' {
		neg = true
		i++
	}
	if i >= len(s) || s[i] < '0' || s[i] > '9' {
		return 0, d.errorAt(path, key, "expected an integer, found "+d.kind())
	}
	var v uint64
	overflow := false
	if s[i] == '0' {
		i++
	} else {
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			digit := uint64(s[i] - '0')
			if v > (math.MaxUint64-digit)/10 {
				overflow = true
			} else {
				v = v*10 + digit
			}
			i++
		}
	}
	if i < len(s) {
		switch s[i] {
		case '.', 'e', 'E':
			return 0, d.errorAt(path, key, "number is not an integer (ABI v1 numbers are integers: no fraction, no exponent)")
		case '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			return 0, d.errorAt(path, key, "number has a leading zero")
		}
	}
	if neg {
		if overflow || v > 1<<63 {
			return 0, d.errorAt(path, key, "integer "+d.numberText()+" is below the int64 minimum")
		}
		d.pos = i
		return int64(-v), nil
	}
	if overflow || v > math.MaxInt64 {
		return 0, d.errorAt(path, key, "integer "+d.numberText()+" is above the int64 maximum")
	}
	d.pos = i
	return int64(v), nil
}

// numberText returns the number at the current position, shortened for
// messages.
func (d *decoder) numberText() string {
	end := d.pos
	for end < len(d.data) && end-d.pos < 40 && (d.data[end] == '-' || (d.data[end] >= '0' && d.data[end] <= '9')) {
		end++
	}
	return d.data[d.pos:end]
}

// skip reads and discards any well-formed JSON value (an unknown field's).
func (d *decoder) skip(path, key string) error {
	var stack [maxSkipDepth]byte // the closing bracket expected at each level
	depth := 0
	for {
		d.ws()
		if d.pos >= len(d.data) {
			return d.errorAt(path, key, "unexpected end of the input")
		}
		// A value.
		switch c := d.data[d.pos]; {
		case c == '{' || c == '[':
			if depth == maxSkipDepth {
				return d.errorAt(path, key, "unknown field nests deeper than "+strconv.Itoa(maxSkipDepth)+" levels")
			}
			d.pos++
			d.ws()
			end := byte('}')
			if c == '[' {
				end = ']'
			}
			if d.peek() == end {
				d.pos++
				break // empty container: a complete value
			}
			stack[depth] = end
			depth++
			if end == '}' {
				if err := d.skipKey(path, key); err != nil {
					return err
				}
			}
			continue // read the first element's value
		case c == '"':
			if _, err := d.strAt(path, key); err != nil {
				return err
			}
		case c == '-' || (c >= '0' && c <= '9'):
			if err := d.skipNumber(path, key); err != nil {
				return err
			}
		case c == 't':
			if err := d.literal(path, key, "true"); err != nil {
				return err
			}
		case c == 'f':
			if err := d.literal(path, key, "false"); err != nil {
				return err
			}
		case c == 'n':
			if err := d.literal(path, key, "null"); err != nil {
				return err
			}
		default:
			return d.errorAt(path, key, "expected a JSON value, found "+d.kind())
		}
		// After a complete value: close containers or move to the next element.
		for {
			if depth == 0 {
				return nil
			}
			d.ws()
			if d.pos >= len(d.data) {
				return d.errorAt(path, key, "unexpected end of the input")
			}
			c := d.data[d.pos]
			if c == stack[depth-1] {
				d.pos++
				depth--
				continue
			}
			if c != ',' {
				return d.errorAt(path, key, "expected ',' or "+strconv.QuoteRune(rune(stack[depth-1]))+", found "+d.kind())
			}
			d.pos++
			if stack[depth-1] == '}' {
				if err := d.skipKey(path, key); err != nil {
					return err
				}
			}
			break
		}
	}
}

func (d *decoder) skipKey(path, key string) error {
	d.ws()
	if d.peek() != '"' {
		return d.errorAt(path, key, "expected a key string, found "+d.kind())
	}
	if _, err := d.strAt(path, key); err != nil {
		return err
	}
	d.ws()
	if d.peek() != ':' {
		return d.errorAt(path, key, "expected ':' after a key, found "+d.kind())
	}
	d.pos++
	return nil
}

func (d *decoder) literal(path, key, lit string) error {
	if !strings.HasPrefix(d.data[d.pos:], lit) {
		return d.errorAt(path, key, "invalid literal, found "+d.kind())
	}
	d.pos += len(lit)
	return nil
}

// skipNumber reads any JSON number (fractions allowed: in an unknown field).
func (d *decoder) skipNumber(path, key string) error {
	digits := func() int {
		n := 0
		for d.pos < len(d.data) && d.data[d.pos] >= '0' && d.data[d.pos] <= '9' {
			d.pos++
			n++
		}
		return n
	}
	if d.data[d.pos] == '-' {
		d.pos++
	}
	if d.peek() == '0' {
		d.pos++
	} else if digits() == 0 {
		return d.errorAt(path, key, "invalid number")
	}
	if d.peek() == '.' {
		d.pos++
		if digits() == 0 {
			return d.errorAt(path, key, "invalid number")
		}
	}
	if c := d.peek(); c == 'e' || c == 'E' {
		d.pos++
		if c := d.peek(); c == '+' || c == '-' {
			d.pos++
		}
		if digits() == 0 {
			return d.errorAt(path, key, "invalid number")
		}
	}
	return nil
}

// seen tracks the fields of one object, to refuse duplicates.
type seen uint32

func (d *decoder) once(s *seen, bit uint, path string) error {
	if *s&(1<<bit) != 0 {
		return d.errorf(path, "duplicate key")
	}
	*s |= 1 << bit
	return nil
}

func (d *decoder) input(in *Input) error {
	var s seen
	err := d.object("", func(key string) error {
		var err error
		switch key {
		case "abi":
			if err = d.once(&s, 0, "abi"); err == nil {
				in.ABI, err = d.int("abi")
				if err == nil && in.ABI != 1 {
					return &Error{Code: CodeUnsupportedABI, Message: "input is ABI version " + strconv.FormatInt(in.ABI, 10) + "; this rule speaks ABI 1"}
				}
			}
		case "currency":
			if err = d.once(&s, 1, "currency"); err == nil {
				in.Currency, err = d.str("currency")
				if err == nil && !validCurrency(in.Currency) {
					err = d.errorf("currency", strconv.Quote(in.Currency)+" is not 1 to 8 upper-case letters")
				}
			}
		case "scale":
			if err = d.once(&s, 2, "scale"); err == nil {
				in.Scale, err = d.int("scale")
				if err == nil && (in.Scale < 0 || in.Scale > 18) {
					err = d.errorf("scale", strconv.FormatInt(in.Scale, 10)+" is not between 0 and 18")
				}
			}
		case "period":
			if err = d.once(&s, 3, "period"); err == nil {
				err = d.period(&in.Period)
			}
		case "price":
			if err = d.once(&s, 4, "price"); err == nil {
				err = d.price(&in.Price)
			}
		case "quota":
			if err = d.once(&s, 5, "quota"); err == nil {
				in.Quota, err = d.quantities("quota")
			}
		case "resource":
			if err = d.once(&s, 6, "resource"); err == nil {
				err = d.resource(&in.Resource)
			}
		case "tx":
			if err = d.once(&s, 7, "tx"); err == nil {
				err = d.tx(&in.Tx)
			}
		case "usage":
			if err = d.once(&s, 8, "usage"); err == nil {
				in.Usage, err = d.quantities("usage")
			}
		default:
			err = d.skip("", key)
		}
		return err
	})
	if err != nil {
		return err
	}
	for _, f := range [...]struct {
		bit  uint
		name string
	}{{0, "abi"}, {1, "currency"}, {2, "scale"}, {3, "period"}} {
		if s&(1<<f.bit) == 0 {
			return d.errorf("", "missing required field "+strconv.Quote(f.name))
		}
	}
	return nil
}

func (d *decoder) period(p *Period) error {
	var s seen
	err := d.object("period", func(key string) error {
		var err error
		switch key {
		case "start":
			if err = d.once(&s, 0, "period.start"); err == nil {
				p.Start, err = d.int("period.start")
			}
		case "end":
			if err = d.once(&s, 1, "period.end"); err == nil {
				p.End, err = d.int("period.end")
			}
		default:
			err = d.skip("period", key)
		}
		return err
	})
	if err != nil {
		return err
	}
	if s&1 == 0 {
		return d.errorf("period", `missing required field "start"`)
	}
	if s&2 == 0 {
		return d.errorf("period", `missing required field "end"`)
	}
	return nil
}

func (d *decoder) price(p *PriceBook) error {
	var s seen
	return d.object("price", func(key string) error {
		var err error
		switch key {
		case "effective_from":
			if err = d.once(&s, 0, "price.effective_from"); err == nil {
				p.EffectiveFrom, err = d.int("price.effective_from")
			}
		case "unit_prices":
			if err = d.once(&s, 1, "price.unit_prices"); err == nil {
				p.UnitPrices, err = d.quantities("price.unit_prices")
			}
		default:
			err = d.skip("price", key)
		}
		return err
	})
}

func (d *decoder) resource(r *Resource) error {
	var s seen
	return d.object("resource", func(key string) error {
		var err error
		switch key {
		case "id":
			if err = d.once(&s, 0, "resource.id"); err == nil {
				r.ID, err = d.str("resource.id")
			}
		case "type":
			if err = d.once(&s, 1, "resource.type"); err == nil {
				r.Type, err = d.str("resource.type")
			}
		case "provider":
			if err = d.once(&s, 2, "resource.provider"); err == nil {
				r.Provider, err = d.str("resource.provider")
			}
		case "consumer":
			if err = d.once(&s, 3, "resource.consumer"); err == nil {
				r.Consumer, err = d.str("resource.consumer")
			}
		case "spec":
			if err = d.once(&s, 4, "resource.spec"); err == nil {
				r.Spec, err = d.quantities("resource.spec")
			}
		case "attributes":
			if err = d.once(&s, 5, "resource.attributes"); err == nil {
				r.Attributes, err = d.attributes("resource.attributes")
			}
		default:
			err = d.skip("resource", key)
		}
		return err
	})
}

func (d *decoder) tx(t *Tx) error {
	var s seen
	return d.object("tx", func(key string) error {
		var err error
		switch key {
		case "id":
			if err = d.once(&s, 0, "tx.id"); err == nil {
				t.ID, err = d.str("tx.id")
			}
		case "time":
			if err = d.once(&s, 1, "tx.time"); err == nil {
				t.Time, err = d.int("tx.time")
			}
		default:
			err = d.skip("tx", key)
		}
		return err
	})
}

func cmpQuantity(a, b Quantity) int { return strings.Compare(a.Name, b.Name) }

// quantities reads an object of named integers into a run of the arena.
func (d *decoder) quantities(path string) (Quantities, error) {
	first := len(d.arena)
	err := d.object(path, func(key string) error {
		v, err := d.intAt(path, key)
		if err != nil {
			return err
		}
		d.arena = append(d.arena, Quantity{Name: key, Value: v})
		return nil
	})
	if err != nil {
		return nil, err
	}
	q := Quantities(d.arena[first:len(d.arena):len(d.arena)])
	if len(q) == 0 {
		return nil, nil
	}
	if !slices.IsSortedFunc(q, cmpQuantity) {
		slices.SortFunc(q, cmpQuantity)
	}
	for i := 1; i < len(q); i++ {
		if q[i].Name == q[i-1].Name {
			return nil, d.errorf(path, "duplicate key "+strconv.Quote(q[i].Name))
		}
	}
	return q, nil
}

func cmpAttribute(a, b Attribute) int { return strings.Compare(a.Name, b.Name) }

func (d *decoder) attributes(path string) (Attributes, error) {
	var a Attributes
	err := d.object(path, func(key string) error {
		v, err := d.strAt(path, key)
		if err != nil {
			return err
		}
		a = append(a, Attribute{Name: key, Value: v})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !slices.IsSortedFunc(a, cmpAttribute) {
		slices.SortFunc(a, cmpAttribute)
	}
	for i := 1; i < len(a); i++ {
		if a[i].Name == a[i-1].Name {
			return nil, d.errorf(path, "duplicate key "+strconv.Quote(a[i].Name))
		}
	}
	return a, nil
}
