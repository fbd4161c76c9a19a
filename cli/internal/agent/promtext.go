package agent

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// PromSample is one line of the Prometheus text exposition format (or of
// OpenMetrics text): a series name, its labels, the value as written and
// the timestamp if the line has one.
type PromSample struct {
	Name   string
	Labels map[string]string
	Value  string
	HasTS  bool
	TimeMS int64
}

// maxPromLine bounds one line: a scrape is untrusted input.
const maxPromLine = 64 << 10

// ParsePromText parses an exposition (Prometheus text format 0.0.4, or
// OpenMetrics 1.0 text when openMetrics: then a timestamp is in seconds and
// "# EOF" ends the exposition). Comments (# HELP, # TYPE, ...) are skipped;
// the first malformed line is an error naming its number.
func ParsePromText(data []byte, openMetrics bool) ([]PromSample, error) {
	var out []PromSample
	n := 0
	for len(data) > 0 {
		n++
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		if len(line) > maxPromLine {
			return out, fmt.Errorf("line %d: longer than %d bytes", n, maxPromLine)
		}
		line = bytes.TrimRight(line, "\r")
		t := bytes.TrimLeft(line, " \t")
		if len(t) == 0 {
			continue
		}
		if t[0] == '#' {
			if openMetrics && string(bytes.TrimSpace(t)) == "# EOF" {
				break
			}
			continue
		}
		s, err := parsePromLine(t, openMetrics)
		if err != nil {
			return out, fmt.Errorf("line %d: %v", n, err)
		}
		out = append(out, s)
	}
	return out, nil
}

func isNameStart(c byte) bool {
	return c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isNameChar(c byte) bool { return isNameStart(c) || (c >= '0' && c <= '9') }

func parsePromLine(l []byte, openMetrics bool) (PromSample, error) {
	var s PromSample
	i := 0
	for i < len(l) && (isNameChar(l[i]) && (i > 0 || isNameStart(l[i]))) {
		i++
	}
	if i == 0 {
		return s, errors.New("no metric name")
	}
	s.Name = string(l[:i])
	if i < len(l) && l[i] == '{' {
		i++
		s.Labels = map[string]string{}
		for {
			for i < len(l) && (l[i] == ' ' || l[i] == '\t') {
				i++
			}
			if i < len(l) && l[i] == '}' {
				i++
				break
			}
			j := i
			for i < len(l) && isNameChar(l[i]) && l[i] != ':' && (i > j || isNameStart(l[i])) {
				i++
			}
			if i == j {
				return s, errors.New("a label has no name")
			}
			name := string(l[j:i])
			if i >= len(l) || l[i] != '=' {
				return s, fmt.Errorf("label %s has no '='", name)
			}
			i++
			if i >= len(l) || l[i] != '"' {
				return s, fmt.Errorf("label %s: the value is not quoted", name)
			}
			i++
			var v strings.Builder
			closed := false
			for i < len(l) {
				c := l[i]
				i++
				if c == '"' {
					closed = true
					break
				}
				if c == '\\' {
					if i >= len(l) {
						break
					}
					switch l[i] {
					case 'n':
						v.WriteByte('\n')
					case '\\', '"':
						v.WriteByte(l[i])
					default:
						return s, fmt.Errorf("label %s: unknown escape \\%c", name, l[i])
					}
					i++
					continue
				}
				v.WriteByte(c)
			}
			if !closed {
				return s, fmt.Errorf("label %s: the value is not closed", name)
			}
			if _, dup := s.Labels[name]; dup {
				return s, fmt.Errorf("label %s appears twice", name)
			}
			s.Labels[name] = v.String()
			for i < len(l) && (l[i] == ' ' || l[i] == '\t') {
				i++
			}
			if i < len(l) && l[i] == ',' {
				i++
				continue
			}
			if i < len(l) && l[i] == '}' {
				i++
				break
			}
			return s, fmt.Errorf("after label %s: expected ',' or '}'", name)
		}
	}
	rest := strings.Fields(string(l[i:]))
	if len(rest) == 0 || (i < len(l) && l[i] != ' ' && l[i] != '\t') {
		return s, fmt.Errorf("%s: no value", s.Name)
	}
	if len(rest) > 2 {
		return s, fmt.Errorf("%s: more than a value and a timestamp", s.Name)
	}
	s.Value = rest[0]
	if len(rest) == 2 {
		s.HasTS = true
		if openMetrics {
			ms, err := ParseDecimal([]byte(rest[1]), 3)
			if err != nil {
				return s, fmt.Errorf("%s: timestamp %q is %v", s.Name, rest[1], err)
			}
			s.TimeMS = ms
		} else {
			ms, err := strconv.ParseInt(rest[1], 10, 64)
			if err != nil {
				return s, fmt.Errorf("%s: timestamp %q is not an integer of milliseconds", s.Name, rest[1])
			}
			s.TimeMS = ms
		}
	}
	return s, nil
}
