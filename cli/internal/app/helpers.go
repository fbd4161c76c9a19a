package app

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/urfave/cli/v2"
)

// args returns the command's arguments, requiring between min and max of
// them (max < 0: no limit); names are the arguments' names for the message.
func args(c *cli.Context, min, max int, names ...string) ([]string, error) {
	a := c.Args().Slice()
	if len(a) >= min && (max < 0 || len(a) <= max) {
		return a, nil
	}
	want := strings.Join(names, " ")
	if len(a) < min {
		missing := names[len(a):min]
		return nil, usageErr(c, "%s needs %s (usage: %s %s)", c.Command.HelpName, strings.Join(missing, " and "), c.Command.HelpName, want)
	}
	return nil, usageErr(c, "%s takes %s, but got %d arguments: %s", c.Command.HelpName, plural(max, "argument"), len(a), strings.Join(a, " "))
}

func plural(n int, what string) string {
	many := what + "s"
	if strings.HasSuffix(what, "ch") || strings.HasSuffix(what, "s") {
		many = what + "es"
	}
	switch n {
	case 0:
		return "no " + many
	case 1:
		return "1 " + what
	}
	return fmt.Sprintf("%d %s", n, many)
}

// kvInts parses NAME=INT pairs, each argument holding one or a comma list.
func kvInts(field string, list []string) (map[string]int64, error) {
	out := map[string]int64{}
	for _, arg := range list {
		for _, kv := range strings.Split(arg, ",") {
			kv = strings.TrimSpace(kv)
			if kv == "" {
				continue
			}
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return nil, client.Errorf(client.KindInvalid, "%s %q is not NAME=VALUE", field, kv).
					WithHint("write e.g. vcpu=2,memory_gib=4")
			}
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return nil, client.Errorf(client.KindInvalid, "%s %s: %q is not an integer", field, k, v).
					WithHint("amounts are integers in minor units (scale 2: 1250 is 12.50); sizes are whole units")
			}
			if _, dup := out[k]; dup {
				return nil, client.Errorf(client.KindInvalid, "%s names %s twice", field, k)
			}
			out[strings.TrimSpace(k)] = n
		}
	}
	return out, nil
}

// kvStrings parses NAME=VALUE pairs (comma lists allowed).
func kvStrings(field string, list []string) (map[string]string, error) {
	out := map[string]string{}
	for _, arg := range list {
		for _, kv := range strings.Split(arg, ",") {
			kv = strings.TrimSpace(kv)
			if kv == "" {
				continue
			}
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return nil, client.Errorf(client.KindInvalid, "%s %q is not NAME=VALUE", field, kv).
					WithHint("write e.g. zone=bj-1")
			}
			out[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return out, nil
}

// decision checks an approve/reject argument.
func decision(c *cli.Context, s string) (string, error) {
	switch s {
	case "approve", "reject":
		return s, nil
	}
	return "", usageErr(c, "the decision %q is not valid: it must be approve or reject", s)
}

// parallel runs f(0..n-1) with at most width at once; the first error
// stops it.
func parallel(ctx context.Context, n, width int, f func(i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		once     sync.Once
		firstErr error
		wg       sync.WaitGroup
		next     atomic.Int64
	)
	for w := 0; w < min(width, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					once.Do(func() { firstErr = err; cancel() })
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return firstErr
}
