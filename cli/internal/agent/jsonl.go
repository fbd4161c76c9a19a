package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrIgnored marks a sample whose metric no rule names: skipped, counted.
var ErrIgnored = errors.New("no rule for this metric")

// lineParser turns JSON lines into samples by the configuration's fields.
type lineParser struct {
	cfg    *Config
	rules  map[string]int // sample metric -> rule
	paths  [4][]string    // resource, metric, value, time
	timeMS bool
	// the fast path (jsonfast.go): flat field names only
	flat   bool
	names  [4]string
	names2 map[string]string
}

func newLineParser(cfg *Config) *lineParser {
	p := &lineParser{cfg: cfg, rules: rulesBySample(cfg), timeMS: cfg.Fields.TimeUnit == "ms"}
	p.flat, p.names2 = true, map[string]string{}
	for i, f := range []string{cfg.Fields.Resource, cfg.Fields.Metric, cfg.Fields.Value, cfg.Fields.Time} {
		p.paths[i] = strings.Split(f, ".")
		p.names[i] = f
		p.flat = p.flat && len(p.paths[i]) == 1
	}
	return p
}

func rulesBySample(cfg *Config) map[string]int {
	m := make(map[string]int, len(cfg.Metrics))
	for i, r := range cfg.Metrics {
		m[r.Sample] = i
	}
	return m
}

func lookup(obj map[string]any, path []string) (any, bool) {
	var v any = obj
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

// Parse reads one JSON object. A blank line or one starting with '#' is
// ErrIgnored too. Errors name the field at fault.
func (p *lineParser) Parse(line []byte) (Sample, error) {
	if s, err, ok := p.parseFast(line); ok {
		return s, err
	}
	return p.parseSlow(line)
}

// parseSlow is the general decoder (encoding/json).
func (p *lineParser) parseSlow(line []byte) (Sample, error) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] == '#' {
		return Sample{}, ErrIgnored
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return Sample{}, fmt.Errorf("not a JSON object: %v", strings.TrimPrefix(err.Error(), "json: "))
	}
	if dec.More() {
		return Sample{}, errors.New("more than one JSON value on the line")
	}
	name := func(i int) string { return strings.Join(p.paths[i], ".") }
	str := func(i int) (string, error) {
		v, ok := lookup(obj, p.paths[i])
		if !ok {
			return "", fmt.Errorf("field %s is missing", name(i))
		}
		switch x := v.(type) {
		case string:
			return x, nil
		case json.Number:
			return x.String(), nil
		}
		return "", fmt.Errorf("field %s is not a string", name(i))
	}
	metric, err := str(1)
	if err != nil {
		return Sample{}, err
	}
	rule, ok := p.rules[metric]
	if !ok {
		return Sample{}, ErrIgnored
	}
	s := Sample{Rule: rule}
	if s.Resource, err = str(0); err != nil {
		return Sample{}, err
	}
	if s.Resource == "" {
		return Sample{}, fmt.Errorf("field %s is empty", name(0))
	}
	val, err := str(2)
	if err != nil {
		return Sample{}, err
	}
	if s.Value, err = ParseDecimal([]byte(val), p.cfg.Metrics[rule].Scale); err != nil {
		return Sample{}, fmt.Errorf("field %s: %q is %v", name(2), val, err)
	}
	tv, ok := lookup(obj, p.paths[3])
	if !ok {
		return Sample{}, fmt.Errorf("field %s is missing", name(3))
	}
	switch x := tv.(type) {
	case json.Number:
		scale := 3
		if p.timeMS {
			scale = 0
		}
		if s.Time, err = ParseDecimal([]byte(x), scale); err != nil {
			return Sample{}, fmt.Errorf("field %s: %s is %v", name(3), x, err)
		}
	case string:
		t, err := time.Parse(time.RFC3339Nano, x)
		if err != nil {
			return Sample{}, fmt.Errorf("field %s: %q is not an RFC 3339 time", name(3), x)
		}
		s.Time = t.UnixMilli()
	default:
		return Sample{}, fmt.Errorf("field %s is not a number or an RFC 3339 string", name(3))
	}
	return s, nil
}
