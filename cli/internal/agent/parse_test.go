package agent

import (
	"errors"
	"math/big"
	"strings"
	"testing"
)

func TestParseDecimal(t *testing.T) {
	for _, c := range []struct {
		in    string
		scale int
		want  int64
		err   error
	}{
		{"12", 0, 12, nil},
		{"-3.25", 2, -325, nil},
		{"1.25", 1, 13, nil},   // half away from zero
		{"-1.25", 1, -13, nil}, // half away from zero
		{"1.24", 1, 12, nil},
		{"0.0006", 3, 1, nil},
		{"0.00006", 3, 0, nil},
		{"1.5e+09", 0, 1500000000, nil},
		{"1.073741824e9", 0, 1073741824, nil},
		{"25E-1", 0, 3, nil},
		{".5", 0, 1, nil},
		{"5.", 0, 5, nil},
		{"+7", 0, 7, nil},
		{"000123", 0, 123, nil},
		{"9223372036854775807", 0, 9223372036854775807, nil},
		{"-9223372036854775808", 0, -9223372036854775808, nil},
		{"9223372036854775808", 0, 0, ErrRange},
		{"1e19", 0, 0, ErrRange},
		{"1e-400", 0, 0, nil},
		{"1e99999999", 0, 0, ErrRange},
		{"NaN", 0, 0, ErrNotNumber},
		{"+Inf", 0, 0, ErrNotNumber},
		{"", 0, 0, ErrNotNumber},
		{"-", 0, 0, ErrNotNumber},
		{"1e", 0, 0, ErrNotNumber},
		{"1.2.3", 0, 0, ErrNotNumber},
		{"0x10", 0, 0, ErrNotNumber},
		{"1 ", 0, 0, ErrNotNumber},
	} {
		got, err := ParseDecimal([]byte(c.in), c.scale)
		if !errors.Is(err, c.err) || (err == nil && got != c.want) {
			t.Errorf("ParseDecimal(%q, %d) = %d, %v; want %d, %v", c.in, c.scale, got, err, c.want, c.err)
		}
	}
}

// FuzzParseDecimal checks ParseDecimal against exact big.Rat arithmetic.
func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"12", "-3.25", "1.5e+09", "0.0006", "9223372036854775807", "1e-3", ".5"} {
		f.Add(s, 2)
	}
	f.Fuzz(func(t *testing.T, s string, scale int) {
		if scale < 0 || scale > 9 {
			return
		}
		got, err := ParseDecimal([]byte(s), scale)
		if err != nil {
			return
		}
		if strings.ContainsAny(s, "eE") {
			// big.Rat accepts exponents too, but huge ones are slow.
			if i := strings.IndexAny(s, "eE"); len(s)-i > 6 {
				return
			}
		}
		r, ok := new(big.Rat).SetString(s)
		if !ok {
			t.Fatalf("ParseDecimal(%q) = %d, but it is not a number", s, got)
		}
		r.Mul(r, new(big.Rat).SetInt64(pow10[scale]))
		// round half away from zero
		num, den := r.Num(), r.Denom()
		q, m := new(big.Int).QuoRem(num, den, new(big.Int))
		m.Abs(m).Lsh(m, 1)
		if m.Cmp(den) >= 0 {
			if num.Sign() < 0 {
				q.Sub(q, big.NewInt(1))
			} else {
				q.Add(q, big.NewInt(1))
			}
		}
		if !q.IsInt64() || q.Int64() != got {
			t.Fatalf("ParseDecimal(%q, %d) = %d, want %s", s, scale, got, q)
		}
	})
}

func TestParsePromText(t *testing.T) {
	in := `# HELP node_memory_used_bytes Memory in use.
# TYPE node_memory_used_bytes gauge
node_memory_used_bytes{instance="ecs-1",job="node"} 2.147483648e+09
node_memory_used_bytes{instance="ecs-2"} 1024 1767229200000
cpu_seconds_total 12.5
escaped{a="x\"y\\z\nw",b=""} 1

weird_ws{ instance="ecs-3" , }   3
`
	ps, err := ParsePromText([]byte(in), false)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 5 {
		t.Fatalf("%d samples: %+v", len(ps), ps)
	}
	if ps[0].Name != "node_memory_used_bytes" || ps[0].Labels["instance"] != "ecs-1" || ps[0].Value != "2.147483648e+09" || ps[0].HasTS {
		t.Errorf("0: %+v", ps[0])
	}
	if !ps[1].HasTS || ps[1].TimeMS != 1767229200000 {
		t.Errorf("1: %+v", ps[1])
	}
	if ps[2].Labels != nil || ps[2].Value != "12.5" {
		t.Errorf("2: %+v", ps[2])
	}
	if ps[3].Labels["a"] != "x\"y\\z\nw" || ps[3].Labels["b"] != "" {
		t.Errorf("3: %+v", ps[3])
	}
	if ps[4].Name != "weird_ws" || ps[4].Labels["instance"] != "ecs-3" {
		t.Errorf("4: %+v", ps[4])
	}
	om, err := ParsePromText([]byte("up{instance=\"a\"} 1 1767229200.5\n# EOF\ngarbage {\n"), true)
	if err != nil || len(om) != 1 || om[0].TimeMS != 1767229200500 {
		t.Fatalf("openmetrics: %+v %v", om, err)
	}
	for _, bad := range []struct{ in, want string }{
		{"x{a=\"1\n", "line 1: label a: the value is not closed"},
		{"x{a=1} 2\n", "not quoted"},
		{"x{a=\"1\" b=\"2\"} 3\n", "expected ',' or '}'"},
		{"x{a=\"1\",a=\"2\"} 3\n", "appears twice"},
		{"ok 1\nx\n", "line 2: x: no value"},
		{"x 1 2 3\n", "more than a value and a timestamp"},
		{"x 1 soon\n", "not an integer of milliseconds"},
		{"9x 1\n", "no metric name"},
		{"x{a=\"\\q\"} 1\n", "unknown escape"},
	} {
		if _, err := ParsePromText([]byte(bad.in), false); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: got %v, want %q", bad.in, err, bad.want)
		}
	}
}

// FuzzParsePromText: any bytes parse without panic, and what parses
// prints back (name, labels, value) to text that parses the same.
func FuzzParsePromText(f *testing.F) {
	f.Add([]byte("a{b=\"c\"} 1 2\n# HELP a x\n"), false)
	f.Add([]byte("up 1 1767229200.5\n# EOF\n"), true)
	f.Add([]byte("x{a=\"x\\\"y\\\\z\\nw\"} 1e3\n"), false)
	f.Fuzz(func(t *testing.T, data []byte, om bool) {
		ps, err := ParsePromText(data, om)
		if err != nil {
			return
		}
		for _, p := range ps {
			var b strings.Builder
			b.WriteString(p.Name)
			if p.Labels != nil {
				b.WriteByte('{')
				keys := sortedKeys(p.Labels)
				for i, k := range keys {
					if i > 0 {
						b.WriteByte(',')
					}
					v := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(p.Labels[k])
					b.WriteString(k + `="` + v + `"`)
				}
				b.WriteByte('}')
			}
			b.WriteString(" " + p.Value + "\n")
			again, err := ParsePromText([]byte(b.String()), false)
			if err != nil || len(again) != 1 || again[0].Name != p.Name || again[0].Value != p.Value || len(again[0].Labels) != len(p.Labels) {
				t.Fatalf("%q parsed to %+v; printed %q, reparsed %+v, %v", data, p, b.String(), again, err)
			}
			for k, v := range p.Labels {
				if again[0].Labels[k] != v {
					t.Fatalf("label %s: %q, reparsed %q", k, v, again[0].Labels[k])
				}
			}
		}
	})
}

func sortedKeys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	for i := range ks {
		for j := i + 1; j < len(ks); j++ {
			if ks[j] < ks[i] {
				ks[i], ks[j] = ks[j], ks[i]
			}
		}
	}
	return ks
}

func TestParseLine(t *testing.T) {
	cfg, err := ParseConfig([]byte(`period: 1h
fields: {resource: labels.host, metric: name, value: v, time: ts, time_unit: ms}
metrics:
  - {sample: temp, metric: temp_max, aggregate: max, scale: 1}
`))
	if err != nil {
		t.Fatal(err)
	}
	p := newLineParser(cfg)
	s, err := p.Parse([]byte(`{"labels":{"host":"fridge-7"},"name":"temp","v":-18.45,"ts":1767229200123}`))
	if err != nil || s.Resource != "fridge-7" || s.Value != -185 || s.Time != 1767229200123 || s.Rule != 0 {
		t.Fatalf("%+v %v", s, err)
	}
	s, err = p.Parse([]byte(`{"labels":{"host":"f"},"name":"temp","v":"4.0","ts":"2026-01-01T01:00:00.5Z"}`))
	if err != nil || s.Value != 40 || s.Time != 1767229200500 {
		t.Fatalf("%+v %v", s, err)
	}
	for _, c := range []struct{ in, want string }{
		{`{"labels":{"host":"f"},"name":"humidity","v":1,"ts":1}`, "no rule"},
		{`# a comment`, "no rule"},
		{`{"name":"temp","v":1,"ts":1}`, "field labels.host is missing"},
		{`{"labels":{"host":"f"},"name":"temp","v":"warm","ts":1}`, `field v: "warm" is not a decimal number`},
		{`{"labels":{"host":"f"},"name":"temp","v":1}`, "field ts is missing"},
		{`{"labels":{"host":"f"},"name":"temp","v":1,"ts":"yesterday"}`, "not an RFC 3339 time"},
		{`{"labels":{"host":"f"},"name":"temp","v":1,"ts":1} {}`, "more than one JSON value"},
		{`[1]`, "not a JSON object"},
		{`{"labels":{"host":["f"]},"name":"temp","v":1,"ts":1}`, "is not a string"},
	} {
		if _, err := p.Parse([]byte(c.in)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.in, err, c.want)
		}
	}
}

// FuzzParseLine: no input line panics the JSON-lines reader, and a parsed
// sample names a rule.
func FuzzParseLine(f *testing.F) {
	f.Add([]byte(`{"resource":"ecs-1","metric":"cpu","value":12.5,"time":1767229200}`))
	f.Add([]byte(`{"resource":"ecs-1","metric":"cpu","value":"1e3","time":"2026-01-01T00:00:00Z"}`))
	cfg, err := ParseConfig([]byte("period: 1h\nmetrics: [{sample: cpu, aggregate: sum, scale: 3}]\n"))
	if err != nil {
		f.Fatal(err)
	}
	p := newLineParser(cfg)
	f.Fuzz(func(t *testing.T, line []byte) {
		s, err := p.Parse(line)
		if err == nil && (s.Rule != 0 || s.Resource == "") {
			t.Fatalf("%q: %+v", line, s)
		}
	})
}

// FuzzParseFast: whenever the fast path answers, the general decoder gives
// the same sample (or also ignores the line).
func FuzzParseFast(f *testing.F) {
	for _, s := range []string{
		`{"resource":"ecs-1","metric":"cpu","value":12.5,"time":1767229200}`,
		`{"resource":"ecs-1","metric":"cpu","value":"1e3","time":"2026-01-01T00:00:00Z"}`,
		`{"metric":"mem","resource":"r","value":-0.001,"time":1.5,"x":[1,{"a":null}]}`,
		`{"resource":"a\u0062","metric":"cpu","value":1,"time":1,"resource":"b"}`,
		` {"resource":"r", "metric":"cpu" , "value":1 ,"time":1 , "ok":true,"n":null} `,
		`{"resource":null,"metric":"cpu","value":1,"time":1}`,
	} {
		f.Add([]byte(s))
	}
	cfg, err := ParseConfig([]byte("period: 1h\nmetrics: [{sample: cpu, aggregate: sum, scale: 3}, {sample: mem, aggregate: max}]\n"))
	if err != nil {
		f.Fatal(err)
	}
	p := newLineParser(cfg)
	f.Fuzz(func(t *testing.T, line []byte) {
		fs, ferr, ok := p.parseFast(line)
		if !ok {
			return
		}
		ss, serr := p.parseSlow(line)
		if (ferr == nil) != (serr == nil) || (ferr != nil && ferr != serr) || fs != ss {
			t.Fatalf("%q: fast %+v, %v; general %+v, %v", line, fs, ferr, ss, serr)
		}
	})
}
