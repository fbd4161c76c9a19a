package app

import (
	"strings"
	"testing"
	"time"
)

// TestParseAt: --at takes RFC 3339 or Unix seconds, and refuses what the
// ledger cannot hold instead of silently wrapping (issue 19, item 4).
func TestParseAt(t *testing.T) {
	for _, c := range []struct {
		in, want, err string
	}{
		{"", "0001-01-01T00:00:00Z", ""},
		{"2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z", ""},
		{"1767225600", "2026-01-01T00:00:00Z", ""},
		{"0", "1970-01-01T00:00:00Z", ""},
		{"2262-04-11T23:47:16Z", "2262-04-11T23:47:16Z", ""},
		{"2262-04-11T23:47:17Z", "", "outside the times the ledger can hold"},
		{"9999-12-31T23:59:59Z", "", "outside the times the ledger can hold"},
		{"9223372037", "", "outside the times the ledger can hold"},
		{"-1", "", "outside the times the ledger can hold"},
		{"1969-12-31T23:59:59Z", "", "outside the times the ledger can hold"},
		{"tomorrow", "", "not a time"},
	} {
		got, err := parseAt(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("parseAt(%q) = %v, %v; want an error saying %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || got.Format(time.RFC3339) != c.want {
			t.Errorf("parseAt(%q) = %v, %v; want %s", c.in, got.Format(time.RFC3339), err, c.want)
		}
	}
}
