package agent

import (
	"time"
	"unsafe"
)

// The fast path of lineParser.Parse: one pass over a flat JSON object
// (string, number and literal values; no nested object or array, no escape
// in a string it needs) that picks out the four configured fields without
// building a map. It answers only when it is sure; anything else (a
// nested value, an escape, invalid JSON, a field it cannot read) goes to
// the general decoder, which also writes the error messages. FuzzParseFast
// checks that both agree.

type fastField struct {
	raw    []byte // a number's text or a string's content
	isStr  bool
	exists bool
}

// parseFast returns ok=false when the general decoder must decide.
func (p *lineParser) parseFast(line []byte) (s Sample, err error, ok bool) {
	if !p.flat {
		return s, nil, false
	}
	var f [4]fastField
	i := skipWS(line, 0)
	if i >= len(line) || line[i] != '{' {
		return s, nil, false
	}
	i = skipWS(line, i+1)
	if i < len(line) && line[i] == '}' {
		i++
	} else {
		for {
			if i >= len(line) || line[i] != '"' {
				return s, nil, false
			}
			k0 := i + 1
			j, plain := scanString(line, k0)
			if j < 0 || !plain {
				return s, nil, false
			}
			key := line[k0:j]
			i = skipWS(line, j+1)
			if i >= len(line) || line[i] != ':' {
				return s, nil, false
			}
			i = skipWS(line, i+1)
			if i >= len(line) {
				return s, nil, false
			}
			var v fastField
			switch c := line[i]; {
			case c == '"':
				e, plain := scanString(line, i+1)
				if e < 0 {
					return s, nil, false
				}
				v = fastField{raw: line[i+1 : e], isStr: true, exists: true}
				if !plain {
					v.raw = nil // readable only by the general decoder
				}
				i = e + 1
			case c == '-' || (c >= '0' && c <= '9'):
				e := scanNumber(line, i)
				if e < 0 {
					return s, nil, false
				}
				v = fastField{raw: line[i:e], exists: true}
				i = e
			case c == 't' && hasPrefix(line[i:], "true"):
				i += 4
				v = fastField{exists: true}
			case c == 'f' && hasPrefix(line[i:], "false"):
				i += 5
				v = fastField{exists: true}
			case c == 'n' && hasPrefix(line[i:], "null"):
				i += 4
				// a null field is as absent for a map decode? No: it is
				// present with a nil value; let the decoder say so.
				v = fastField{exists: true}
			default:
				return s, nil, false
			}
			for n := range p.names {
				if string(key) == p.names[n] {
					f[n] = v // the last of repeated keys wins, as in encoding/json
				}
			}
			i = skipWS(line, i)
			if i < len(line) && line[i] == ',' {
				i = skipWS(line, i+1)
				continue
			}
			if i < len(line) && line[i] == '}' {
				i++
				break
			}
			return s, nil, false
		}
	}
	if skipWS(line, i) != len(line) {
		return s, nil, false
	}
	// resource 0, metric 1, value 2, time 3
	for n := 0; n < 3; n++ {
		if !f[n].exists || f[n].raw == nil {
			return s, nil, false
		}
	}
	rule, found := p.rules[unsafeString(f[1].raw)]
	if !found {
		return s, ErrIgnored, true
	}
	if len(f[0].raw) == 0 || !f[3].exists || f[3].raw == nil {
		return s, nil, false
	}
	s.Rule = rule
	if s.Value, err = ParseDecimal(f[2].raw, p.cfg.Metrics[rule].Scale); err != nil {
		return s, nil, false
	}
	if f[3].isStr {
		t, err := time.Parse(time.RFC3339Nano, unsafeString(f[3].raw))
		if err != nil {
			return s, nil, false
		}
		s.Time = t.UnixMilli()
	} else {
		scale := 3
		if p.timeMS {
			scale = 0
		}
		if s.Time, err = ParseDecimal(f[3].raw, scale); err != nil {
			return s, nil, false
		}
	}
	s.Resource = p.intern(f[0].raw)
	return s, nil, true
}

// intern returns the resource name as a string, reusing the one seen last
// time: a stream names the same few resources over and over.
func (p *lineParser) intern(b []byte) string {
	if s, ok := p.names2[unsafeString(b)]; ok {
		return s
	}
	s := string(b)
	if len(p.names2) < 1<<16 {
		p.names2[s] = s
	}
	return s
}

func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

func hasPrefix(b []byte, s string) bool { return len(b) >= len(s) && string(b[:len(s)]) == s }

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scanString returns the index of the closing quote of a string whose
// content starts at i, and whether the content is plain (printable ASCII
// with no escape: its bytes are its value). -1: not a valid string.
func scanString(b []byte, i int) (int, bool) {
	plain := true
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			return i, plain
		case c < 0x20:
			return -1, false
		case c == '\\':
			plain = false
			if i+1 >= len(b) {
				return -1, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+5 >= len(b) {
					return -1, false
				}
				for _, h := range b[i+2 : i+6] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return -1, false
					}
				}
				i += 6
			default:
				return -1, false
			}
			continue
		case c >= 0x80:
			plain = false
		}
		i++
	}
	return -1, false
}

// scanNumber returns the end of a JSON number starting at i, or -1.
func scanNumber(b []byte, i int) int {
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(b) && b[i] == '0' {
		i++
	} else if digits() == 0 {
		return -1
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return -1
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return -1
		}
	}
	return i
}
