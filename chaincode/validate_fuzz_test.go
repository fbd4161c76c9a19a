package chaincode

import (
	"testing"
)

// FuzzArgs: the parsers of transaction arguments (untrusted bytes from any
// client) never panic, and what they accept keeps their promises.
//
//	go test -run '^$' -fuzz FuzzArgs -fuzztime 60s ./chaincode/
func FuzzArgs(f *testing.F) {
	for _, s := range []string{`{"vcpu":2,"memory_gib":4}`, `{"zone":"bj-1"}`, `["Org1MSP","Org2MSP"]`,
		`1767225600`, `2026-01-01T00:00:00Z`, `{"a":1e3}`, `{"a":-1}`, `{"a":9223372036854775808}`, ``, `null`, `{}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if m, err := parseIntMap("f", s, true); err == nil {
			for k, v := range m {
				if v < 0 {
					t.Fatalf("parseIntMap accepted a negative value %s=%d from %q", k, v, s)
				}
			}
		}
		parseStringMap("f", s)
		if l, err := parseList("f", s); err == nil {
			if len(l) == 0 {
				t.Fatalf("parseList accepted an empty list from %q", s)
			}
			if u, err := uniqueSorted("f", l); err == nil {
				for i := 1; i < len(u); i++ {
					if u[i] <= u[i-1] {
						t.Fatalf("uniqueSorted returned %q from %q", u, s)
					}
				}
			}
		}
		if v, err := parseTime("f", s, 0); err == nil && v < 0 {
			t.Fatalf("parseTime accepted a time before 1970 from %q", s)
		}
		if v, err := parseInt("f", s, -5, 5); err == nil && (v < -5 || v > 5) {
			t.Fatalf("parseInt accepted %d outside [-5, 5] from %q", v, s)
		}
		parsePage(s)
	})
}
