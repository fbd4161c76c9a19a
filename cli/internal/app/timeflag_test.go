package app

import (
	"strings"
	"testing"
	"time"
)

// TestParseTime: every form a command takes, and the refusals.
func TestParseTime(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Time
		err  string
	}{
		{"2026-03-01", time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), ""},
		{"2026-03-01T08:30:00+08:00", time.Date(2026, 3, 1, 0, 30, 0, 0, time.UTC), ""},
		{"1772323200", time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), ""},
		{" 0 ", time.Unix(0, 0).UTC(), ""},
		{"2026-3-1", time.Time{}, "is not a time: it must be a date (2026-01-01"},
		{"2026-02-30", time.Time{}, "is not a time"},
		{"yesterday", time.Time{}, "is not a time"},
		{"1969-12-31", time.Time{}, "is before 1970"},
		{"-5", time.Time{}, "is before 1970"},
	} {
		got, err := parseTime("--to", c.in)
		if c.err == "" {
			if err != nil || !got.Equal(c.want) {
				t.Errorf("parseTime(%q) = %v, %v; want %v", c.in, got, err, c.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), "--to") {
			t.Errorf("parseTime(%q) = %v, %v; want an error naming --to and saying %q", c.in, got, err, c.err)
		}
	}
}
