package usageimport

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// parseAPELText reads an APEL text message: a header line "<header>: v<version>",
// then records of "Key: Value" lines separated by lines "%%". Several
// messages may follow one another (a header line starts a new one). A value
// that is empty or "None" is absent. A record's identity is its idField.
func parseAPELText(name string, data []byte, header string, versions []string, idField string) ([]Record, []Problem) {
	var recs []Record
	var probs []Problem
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	var cur *Record
	bad := false // the current record has a problem: dropped at its end
	seenHeader := false
	hint := 8 // fields per record, from the largest record so far
	end := func() {
		if cur != nil && len(cur.Fields) > hint {
			hint = len(cur.Fields)
		}
		if cur != nil && !bad {
			if len(cur.Fields) == 0 {
				// an empty record (%% twice): nothing to import
			} else if id := cur.Fields[idField]; id == "" {
				probs = append(probs, cur.problem(Malformed, "the record has no %s, which identifies it", idField))
			} else {
				cur.Identity = id
				recs = append(recs, *cur)
			}
		}
		cur, bad = nil, false
	}
	// One copy of the file as a string: every key and value is a substring
	// of it, so reading a line allocates nothing (the records keep the
	// text alive, as they would their own copies).
	text := string(data)
	lineNo := 0
	for len(text) > 0 {
		lineNo++
		var ln string
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			ln, text = text[:i], text[i+1:]
		} else {
			ln, text = text, ""
		}
		ln = strings.TrimRight(ln, "\r")
		if !utf8.ValidString(ln) {
			at := invalidAt([]byte(ln))
			p := Problem{File: name, Line: lineNo, Kind: Malformed, Msg: fmt.Sprintf("the line is not UTF-8 (byte 0x%02x at column %d)", ln[at], at+1)}
			probs = append(probs, p)
			if cur == nil {
				cur = &Record{File: name, Line: lineNo, Fields: make(map[string]string, hint)}
			}
			bad = true
			continue
		}
		s := strings.TrimSpace(ln)
		if s == "" {
			continue
		}
		if s == "%%" {
			end()
			continue
		}
		k, v, ok := strings.Cut(s, ":")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if strings.HasSuffix(k, "-message") || (!seenHeader && strings.HasPrefix(strings.ToUpper(k), "APEL")) {
			end()
			seenHeader = true
			if k != header {
				probs = append(probs, Problem{File: name, Line: lineNo, Kind: Malformed, Msg: fmt.Sprintf("the header is %q, not %s: this is not a message of this format", s, header)})
				return recs, probs
			}
			ver := strings.TrimPrefix(v, "v")
			known := false
			for _, x := range versions {
				known = known || x == ver
			}
			if !known {
				probs = append(probs, Problem{File: name, Line: lineNo, Kind: Malformed, Msg: fmt.Sprintf("%s version %q is not one this import reads (v%s)", header, v, strings.Join(versions, ", v"))})
				return recs, probs
			}
			continue
		}
		if !seenHeader {
			probs = append(probs, Problem{File: name, Line: lineNo, Kind: Malformed, Msg: fmt.Sprintf("the file does not start with the header line %q", header+": v"+versions[len(versions)-1])})
			return recs, probs
		}
		if cur == nil {
			cur = &Record{File: name, Line: lineNo, Fields: make(map[string]string, hint)}
		}
		if !ok || !validKey(k) {
			probs = append(probs, Problem{File: name, Line: lineNo, Kind: Malformed, Msg: fmt.Sprintf("%q is not a \"Key: Value\" line", clip(s))})
			bad = true
			continue
		}
		if v == "None" {
			v = ""
		}
		if _, dup := cur.Fields[k]; dup {
			probs = append(probs, Problem{File: name, Line: lineNo, Kind: Malformed, Msg: fmt.Sprintf("field %s appears twice in the record that starts at line %d", k, cur.Line)})
			bad = true
			continue
		}
		cur.Fields[k] = v
	}
	end()
	if !seenHeader && len(probs) == 0 {
		probs = append(probs, Problem{File: name, Kind: Malformed, Msg: "the file is empty: an APEL message starts with the line " + header + ": v" + versions[len(versions)-1]})
	}
	return recs, probs
}

func validKey(k string) bool {
	if k == "" || len(k) > 64 {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && (c >= '0' && c <= '9' || c == '_')) {
			return false
		}
	}
	return true
}

func invalidAt(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return 0
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}

// parseAccelerator reads APEL accelerator records v0.1: cASO's JSON message
// {"Type":"APEL-accelerator-message","Version":"0.1","UsageRecords":[...]}
// (several may follow one another), or the text form
// "APEL-accelerator-message: v0.1" with %%-separated records. A record
// covers its month: the parser adds PeriodStart and PeriodEnd (Unix
// seconds, UTC) from MeasurementYear and MeasurementMonth. Its identity is
// AccUUID and the month.
func parseAccelerator(name string, data []byte) ([]Record, []Problem) {
	t := bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\ufeff")))
	var recs []Record
	var probs []Problem
	if len(t) > 0 && t[0] == '{' {
		recs, probs = parseAccJSON(name, data)
	} else {
		recs, probs = parseAPELText(name, data, "APEL-accelerator-message", []string{"0.1"}, "AccUUID")
	}
	out := recs[:0]
	for _, r := range recs {
		y, ey := strconv.Atoi(r.Fields["MeasurementYear"])
		m, em := strconv.Atoi(r.Fields["MeasurementMonth"])
		switch {
		case ey != nil || y < 1970 || y > 9999:
			probs = append(probs, r.problem(Malformed, "MeasurementYear %q is not a year (1970 to 9999)", clip(r.Fields["MeasurementYear"])))
		case em != nil || m < 1 || m > 12:
			probs = append(probs, r.problem(Malformed, "MeasurementMonth %q is not a month (1 to 12)", clip(r.Fields["MeasurementMonth"])))
		default:
			s := time.Date(y, time.Month(m), 1, 0, 0, 0, 0, time.UTC)
			r.Fields["PeriodStart"] = strconv.FormatInt(s.Unix(), 10)
			r.Fields["PeriodEnd"] = strconv.FormatInt(s.AddDate(0, 1, 0).Unix(), 10)
			r.Identity = fmt.Sprintf("%s %04d-%02d", r.Identity, y, m)
			out = append(out, r)
		}
	}
	return out, probs
}

// jsonMessages says what a format of cASO's JSON messages looks like:
// {"Type": Type, "Version": one of Versions, "UsageRecords": [...]}, several
// of which may follow one another in a file. Noun names the messages in
// reports ("accelerator"); identify checks one record's fields and sets its
// Identity, or says why it cannot.
type jsonMessages struct {
	Type     string
	Versions []string
	Noun     string
	identify func(r *Record) *Problem
}

func parseAccJSON(name string, data []byte) ([]Record, []Problem) {
	return parseJSONMessages(name, data, jsonMessages{Type: "APEL-accelerator-message", Versions: []string{"0.1"}, Noun: "accelerator",
		identify: func(r *Record) *Problem {
			if r.Fields["AccUUID"] == "" {
				p := r.problem(Malformed, "the record has no AccUUID, which identifies it")
				return &p
			}
			r.Identity = r.Fields["AccUUID"]
			return nil
		}})
}

func parseJSONMessages(name string, data []byte, kind jsonMessages) ([]Record, []Problem) {
	var recs []Record
	var probs []Problem
	if p, bad := notUTF8(name, data); bad {
		return nil, []Problem{p}
	}
	ln := &lines{data: data}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	msg := 0
	for {
		start := skipSpace(data, dec.InputOffset())
		if start >= int64(len(data)) {
			break
		}
		msg++
		var m struct {
			Type         string            `json:"Type"`
			Version      string            `json:"Version"`
			UsageRecords []json.RawMessage `json:"UsageRecords"`
		}
		if err := dec.Decode(&m); err != nil {
			probs = append(probs, Problem{File: name, Line: ln.at(jsonErrOffset(err, start)), Kind: Malformed, Msg: "not a JSON " + kind.Noun + " message: " + jsonMsg(err)})
			return recs, probs
		}
		at := ln.at(start)
		if m.Type != kind.Type {
			probs = append(probs, Problem{File: name, Line: at, Element: fmt.Sprintf("message %d", msg), Kind: Malformed, Msg: fmt.Sprintf("Type is %q, not %s", clip(m.Type), kind.Type)})
			continue
		}
		known := false
		for _, v := range kind.Versions {
			known = known || strings.TrimPrefix(m.Version, "v") == v
		}
		if !known {
			probs = append(probs, Problem{File: name, Line: at, Element: fmt.Sprintf("message %d", msg), Kind: Malformed, Msg: fmt.Sprintf("Version %q is not one this import reads (%s)", clip(m.Version), strings.Join(kind.Versions, ", "))})
			continue
		}
		// Find each record's line: the records are in order in the text.
		search := start
		for i, raw := range m.UsageRecords {
			off := int64(bytes.Index(data[search:], raw))
			if off < 0 {
				off = 0
			}
			off += search
			search = off + int64(len(raw))
			r := Record{File: name, Line: ln.at(off), Element: fmt.Sprintf("message %d record %d", msg, i+1), Fields: map[string]string{}}
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(raw, &obj); err != nil {
				probs = append(probs, r.problem(Malformed, "the record is not a JSON object"))
				continue
			}
			ok := true
			for _, k := range slices.Sorted(maps.Keys(obj)) {
				s, err := jsonScalar(obj[k])
				if err != nil {
					probs = append(probs, r.problem(Malformed, "field %s: %v", k, err))
					ok = false
					break
				}
				r.Fields[k] = s
			}
			if !ok {
				continue
			}
			if p := kind.identify(&r); p != nil {
				probs = append(probs, *p)
				continue
			}
			recs = append(recs, r)
		}
	}
	if msg == 0 {
		probs = append(probs, Problem{File: name, Kind: Malformed, Msg: "the file holds no " + kind.Noun + " message"})
	}
	return recs, probs
}

// jsonScalar is a JSON string, number or boolean as text; null is "".
func jsonScalar(v json.RawMessage) (string, error) {
	t := bytes.TrimSpace(v)
	if len(t) == 0 || string(t) == "null" {
		return "", nil
	}
	switch t[0] {
	case '"':
		var s string
		if err := json.Unmarshal(t, &s); err != nil {
			return "", err
		}
		return s, nil
	case '{', '[':
		return "", fmt.Errorf("is an object or array, not a value")
	}
	return string(t), nil
}

func skipSpace(data []byte, off int64) int64 {
	for off < int64(len(data)) {
		switch data[off] {
		case ' ', '\t', '\r', '\n', ',':
			off++
		default:
			return off
		}
	}
	return off
}

func jsonErrOffset(err error, def int64) int64 {
	if se, ok := err.(*json.SyntaxError); ok {
		return se.Offset
	}
	if ue, ok := err.(*json.UnmarshalTypeError); ok {
		return ue.Offset
	}
	return def
}

func jsonMsg(err error) string { return strings.TrimPrefix(err.Error(), "json: ") }

// notUTF8 reports the first byte of data that is not UTF-8, by line.
func notUTF8(name string, data []byte) (Problem, bool) {
	if utf8.Valid(data) {
		return Problem{}, false
	}
	i := invalidAt(data)
	return Problem{File: name, Line: lineOf(data, int64(i)), Kind: Malformed,
		Msg: fmt.Sprintf("the file is not UTF-8 (byte 0x%02x at offset %d); convert it (iconv -t UTF-8) and import again", data[i], i)}, true
}
