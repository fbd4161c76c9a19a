package app

import (
	"strconv"
	"strings"
	"time"

	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/urfave/cli/v2"
)

// timeForms is how every time a user types is described in errors and help.
const timeForms = "a date (2026-01-01, midnight UTC), an RFC 3339 time (2026-01-01T00:00:00Z) or Unix seconds"

// parseTime reads a time a user typed, in any of the forms every command
// accepts: YYYY-MM-DD (midnight UTC, the start of that day), RFC 3339, or
// Unix seconds. One parser for all flags, so a form that one command takes
// is taken by all (finance staff type dates). Times before 1970 are
// refused: the contract counts from 1970. what names the flag in errors
// ("--to").
func parseTime(what, s string) (time.Time, error) {
	t, err := parseAnyTime(what, s)
	if err == nil && t.Unix() < 0 {
		err = client.Errorf(client.KindInvalid, "%s %q is before 1970: the ledger counts time from 1970-01-01T00:00:00Z", what, s)
	}
	return t, err
}

// parseAnyTime is parseTime without the range check, for a caller that
// checks a range of its own (--at).
func parseAnyTime(what, s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0).UTC(), nil
	}
	if d, err := time.Parse("2006-01-02", s); err == nil {
		return d, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, client.Errorf(client.KindInvalid, "%s %q is not a time: it must be %s", what, s, timeForms)
}

// timeFlag is the flag name's time, the zero time when the flag is unset.
// A bad time is a usage error, with the command's help as hint.
func timeFlag(c *cli.Context, name string) (time.Time, error) {
	s := strings.TrimSpace(c.String(name))
	if s == "" {
		return time.Time{}, nil
	}
	t, err := parseTime("--"+name, s)
	if err != nil {
		return time.Time{}, usageErr(c, "%s", strings.TrimSuffix(err.Error(), "."))
	}
	return t, nil
}

// timeArgFlag is the flag's time as the contract's argument (Unix seconds),
// "" when the flag is unset: the commands that hand a time to the contract
// as it was typed take the same forms as the others.
func timeArgFlag(c *cli.Context, name string) (string, error) {
	t, err := timeFlag(c, name)
	if err != nil || t.IsZero() {
		return "", err
	}
	return strconv.FormatInt(t.Unix(), 10), nil
}
