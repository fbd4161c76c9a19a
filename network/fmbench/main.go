// Command fmbench is fedmeter's benchmark: it loads a ledger (the embedded
// one, or a Fabric network through fabric-gateway) with fedmeter's own
// transactions and with a trivial Put/Get contract as the baseline they are
// compared with, and reports throughput, latency, errors, endorsement
// mismatches and, on a Fabric network started by network/fabric/network.sh,
// the CPU its processes spent per transaction and their CPU profiles.
//
// It is a lab tool, not part of the fedmeter command: it reads /proc, the
// peers' logs and network.sh's state folder. How to run it, what it
// measures and the goals its figures are judged against are in README.md;
// the measured numbers are in docs/benchmarks.md.
//
//	go run ./network/fmbench --help
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"

	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/fedmeter/fedmeter/cli/client/embedded"
	"github.com/urfave/cli/v2"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args, IO{Stdout: os.Stdout, Stderr: os.Stderr})
	stop()
	os.Exit(code)
}

// IO is where a run writes.
type IO struct {
	Stdout io.Writer
	Stderr io.Writer
}

// run runs fmbench with args (args[0] is the program name) and returns its
// exit code: fedmeter's (0 ok, 1 usage or input error, 2 not found, 3
// permission denied, 4 rule or ledger error).
func run(ctx context.Context, args []string, stdio IO) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stdio.Stderr, "fmbench: internal error (a bug in fmbench): %v\n", r)
			if os.Getenv("FEDMETER_DEBUG") != "" {
				fmt.Fprintf(stdio.Stderr, "%s", debug.Stack())
			}
			code = int(client.KindInternal)
		}
	}()
	st := &state{io: stdio}
	app := newApp(st)
	err := app.RunContext(ctx, normalizeArgs(app, args))
	if err == nil {
		return 0
	}
	return st.report(err)
}

// state is one run's: where it writes and whether it writes JSON.
type state struct {
	io     IO
	jsonOn bool
}

func newApp(st *state) *cli.App {
	flags := []cli.Flag{
		&cli.StringFlag{Name: "data", Aliases: []string{"d"}, Usage: "embedded ledger `DIR` (default ./.fedmeter; fedmeter init makes one)", EnvVars: []string{"FEDMETER_DATA"}},
		&cli.StringFlag{Name: "profile", Usage: "reach Fabric through fabric-gateway with this YAML connection profile `FILE` (the provider's admin) instead of the embedded ledger", EnvVars: []string{"FEDMETER_PROFILE"}},
		&cli.StringFlag{Name: "as", Usage: "embedded ledger: act as the local identity `ORG/USER` (default: the ledger's, Org1/Admin)", EnvVars: []string{"FEDMETER_AS"}},
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "table", Usage: "output `FORMAT`: table or json", EnvVars: []string{"FEDMETER_OUTPUT"}},
	}
	return &cli.App{
		Name:            "fmbench",
		Usage:           benchUsage,
		UsageText:       benchUsageText,
		Description:     benchHelp,
		Version:         version(),
		HideHelpCommand: true,
		Writer:          st.io.Stdout,
		ErrWriter:       st.io.Stderr,
		ExitErrHandler:  func(*cli.Context, error) {},
		Flags:           append(flags, benchFlags()...),
		Before: func(c *cli.Context) error {
			switch c.String("output") {
			case "table":
			case "json":
				st.jsonOn = true
			default:
				return client.Errorf(client.KindInvalid, "--output %q is not valid: it must be table or json", c.String("output"))
			}
			return nil
		},
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return client.Errorf(client.KindInvalid, "%s", strings.TrimSuffix(firstLine(err.Error()), ".")).
				WithHint("see `fmbench --help`")
		},
		Action: func(c *cli.Context) error { return st.bench(c) },
	}
}

// usageErr is a command-line mistake: exit code 1, with a hint.
func usageErr(_ *cli.Context, format string, args ...any) error {
	return client.Errorf(client.KindInvalid, format, args...).WithHint("see `fmbench --help`")
}

// open opens the backend the flags select; the caller closes it.
func (st *state) open(c *cli.Context) (client.Backend, error) {
	if profile := c.String("profile"); profile != "" {
		if c.String("as") != "" {
			return nil, client.Errorf(client.KindInvalid, "--as selects an identity of the embedded ledger, but a connection profile (%s) is in use", profile).
				WithHint("with a profile the identity is the profile's mspID, certPath and keyPath; drop --as or use another profile")
		}
		g, err := client.Dial(c.Context, profile)
		if err != nil {
			return nil, err
		}
		return g, nil
	}
	e, err := embedded.Open(c.String("data"), embedded.Options{As: c.String("as")})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// report prints err as one sentence and a hint, and returns the exit code.
func (st *state) report(err error) int {
	var ce *client.Error
	if !errors.As(err, &ce) {
		var ee cli.ExitCoder
		if errors.As(err, &ee) && ee.ExitCode() == 0 {
			return 0
		}
		ce = &client.Error{Kind: client.KindInvalid, Msg: strings.TrimSuffix(firstLine(err.Error()), "."), Hint: "see `fmbench --help`"}
	}
	if st.jsonOn {
		b, _ := json.Marshal(struct {
			Error string `json:"error"`
			Kind  string `json:"kind"`
			Exit  int    `json:"exit"`
			Hint  string `json:"hint,omitempty"`
			Op    string `json:"op,omitempty"`
			TxID  string `json:"tx,omitempty"`
		}{ce.Msg, ce.Kind.String(), ce.ExitCode(), ce.Hint, ce.Op, ce.TxID})
		fmt.Fprintf(st.io.Stderr, "%s\n", b)
	} else {
		msg := strings.TrimSuffix(firstLine(ce.Msg), ".")
		if msg == "" {
			msg = "failed"
		}
		fmt.Fprintf(st.io.Stderr, "fmbench: %s.\n", msg)
		if ce.Hint != "" {
			fmt.Fprintf(st.io.Stderr, "hint: %s\n", ce.Hint)
		}
	}
	return ce.ExitCode()
}

// normalizeArgs lets flags appear anywhere on the command line
// ("fmbench usage --inflight 4"): urfave/cli v2 stops reading flags at the
// first argument. It reorders args into prog [flags] [--] [workloads];
// tokens after "--" are arguments.
func normalizeArgs(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	var flags, pos []string
	rest := args[1:]
	for i := 0; i < len(rest); i++ {
		t := rest[i]
		if t == "--" {
			pos = append(pos, rest[i+1:]...)
			break
		}
		if len(t) > 1 && t[0] == '-' {
			flags = append(flags, t)
			name, _, hasValue := strings.Cut(strings.TrimLeft(t, "-"), "=")
			if takesValue(app.Flags, name) && !hasValue && i+1 < len(rest) {
				i++
				flags = append(flags, rest[i])
			}
			continue
		}
		pos = append(pos, t)
	}
	out := append([]string{args[0]}, flags...)
	for _, p := range pos {
		if len(p) > 1 && p[0] == '-' {
			out = append(out, "--")
			break
		}
	}
	return append(out, pos...)
}

// takesValue reports whether the flag called name takes a value.
func takesValue(fs []cli.Flag, name string) bool {
	for _, f := range fs {
		for _, n := range f.Names() {
			if n == name {
				_, isBool := f.(*cli.BoolFlag)
				return !isBool
			}
		}
	}
	return false
}

// printer writes the run's result: JSON (one document) or text for people.
type printer struct {
	w    io.Writer
	json bool
}

func (st *state) printer(*cli.Context) *printer {
	return &printer{w: st.io.Stdout, json: st.jsonOn}
}

// JSON writes v as indented JSON.
func (p *printer) JSON(v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(p.w, "%s\n", b)
	return err
}

// Printf writes text (in table mode only).
func (p *printer) Printf(format string, args ...any) {
	if !p.json {
		fmt.Fprintf(p.w, format, args...)
	}
}

// Table writes a table with a header row; empty is printed instead of an
// empty table (table mode only).
func (p *printer) Table(empty string, head []string, rows [][]string) {
	if p.json {
		return
	}
	if len(rows) == 0 {
		fmt.Fprintf(p.w, "%s\n", empty)
		return
	}
	tw := tabwriter.NewWriter(p.w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "%s\n", strings.Join(head, "\t"))
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\n", strings.Join(r, "\t"))
	}
	tw.Flush()
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

func errUnwrap(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
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

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
