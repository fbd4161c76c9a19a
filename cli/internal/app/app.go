// Package app is the fedmeter command: urfave/cli v2 commands over package
// cli/client. cmd/fedmeter's main calls Main; tests call it in process.
package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/fedmeter/fedmeter/cli/client/embedded"
	"github.com/urfave/cli/v2"
)

// Exit codes (also client.Kind values).
const (
	ExitOK       = 0
	ExitInvalid  = int(client.KindInvalid)
	ExitNotFound = int(client.KindNotFound)
	ExitDenied   = int(client.KindDenied)
	ExitRule     = int(client.KindRule)
	ExitMismatch = int(client.KindMismatch)
	ExitLedger   = int(client.KindLedger)
	ExitInternal = int(client.KindInternal)
	ExitBusy     = int(client.KindBusy)
)

// IO is where a run reads and writes.
type IO struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Terminal reports whether f (Stdin, Stdout or Stderr) is an
	// interactive terminal: progress bars are drawn only then, and stdin is
	// not read without "-". Nil means never.
	Terminal func(f any) bool
}

// Main runs the fedmeter command with args (args[0] is the program name)
// and returns its exit code. It never panics and never prints a stack
// trace.
func Main(ctx context.Context, args []string, stdio IO) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stdio.Stderr, "fedmeter: internal error (a bug in fedmeter): %v\n", r)
			fmt.Fprintf(stdio.Stderr, "hint: please report it with the command you ran; FEDMETER_DEBUG=1 prints where it happened\n")
			if os.Getenv("FEDMETER_DEBUG") != "" {
				fmt.Fprintf(stdio.Stderr, "%s", debug.Stack())
			}
			code = ExitInternal
		}
	}()
	st := &state{io: stdio}
	app := newApp(st)
	err := app.RunContext(ctx, normalizeArgs(app, args))
	if err == nil {
		return ExitOK
	}
	return st.report(err)
}

// state is one run's: the flags' effects and the open backend.
type state struct {
	io     IO
	jsonOn bool
	// profile: a connection profile (Fabric) is in use, so hints that
	// name --as (the embedded ledger's identities) are rewritten.
	profile bool
}

func (st *state) printer(c *cli.Context) *printer {
	return &printer{w: st.io.Stdout, json: c.String("output") == "json"}
}

// usageErr is a command-line mistake: exit code 1, with a hint.
func usageErr(c *cli.Context, format string, args ...any) error {
	e := client.Errorf(client.KindInvalid, format, args...)
	if c != nil && c.Command != nil {
		e.Hint = fmt.Sprintf("see `%s --help`", c.Command.HelpName)
	}
	return e
}

// report prints err as one sentence and a hint, and returns the exit code.
func (st *state) report(err error) int {
	cliHint(err)
	var ce *client.Error
	if !errors.As(err, &ce) {
		msg := err.Error()
		// urfave/cli's own messages: flag parsing and the like.
		ce = &client.Error{Kind: client.KindInvalid, Msg: strings.TrimSuffix(firstLine(msg), "."), Hint: "see `fedmeter --help`"}
		var ee cli.ExitCoder
		if errors.As(err, &ee) && ee.ExitCode() == 0 {
			return ExitOK
		}
	}
	if st.profile {
		ce.Hint = profileHint(ce.Hint)
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
		fmt.Fprintf(st.io.Stderr, "fedmeter: %s.\n", sentence(ce.Msg))
		if ce.Hint != "" {
			fmt.Fprintf(st.io.Stderr, "hint: %s\n", ce.Hint)
		}
	}
	return ce.ExitCode()
}

var reAsFlag = regexp.MustCompile(`--as [^ ),;]+`)

// profileHint rewrites a hint for a user of a connection profile: --as
// selects identities of the embedded ledger and does not apply there; the
// identity is the profile's (mspID, certPath, keyPath).
func profileHint(h string) string {
	if !strings.Contains(h, "--as ") {
		return h
	}
	h = strings.ReplaceAll(h, " (fedmeter org list shows the local ones)", "")
	h = reAsFlag.ReplaceAllString(h, "--profile FILE")
	return h + " (with a connection profile the identity is the profile's mspID, certPath and keyPath: use a profile of an identity that may)"
}

func sentence(s string) string {
	s = strings.TrimSuffix(firstLine(s), ".")
	if s == "" {
		return "failed"
	}
	return s
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// open opens the backend the global flags select; the caller closes it.
func (st *state) open(c *cli.Context) (client.Backend, error) {
	at, err := parseAt(c.String("at"))
	if err != nil {
		return nil, err
	}
	// An empty --as (a script's unset variable) must not act as the
	// ledger's default identity, an admin.
	if c.IsSet("as") && strings.TrimSpace(c.String("as")) == "" {
		return nil, client.Errorf(client.KindInvalid, "--as is empty: name the identity to act as, ORG/USER").
			WithHint("fedmeter org list shows the local identities; leave --as out to act as the ledger's default")
	}
	if server := c.String("server"); server != "" {
		switch {
		case c.String("profile") != "":
			return nil, client.Errorf(client.KindInvalid, "--server and --profile both name a ledger; give one")
		case c.String("as") != "":
			return nil, client.Errorf(client.KindInvalid, "--as selects an identity of the embedded ledger, but --server is in use: the server acts as its token's identity").
				WithHint("drop --as; FEDMETER_TOKEN holds the token of the identity to act as (fedmeter serve token create --as ORG/USER)")
		case !at.IsZero():
			return nil, client.Errorf(client.KindInvalid, "--at sets the transaction time of a local embedded ledger only; through --server the server's clock is used").
				WithHint("drop --at when using --server")
		}
		return client.DialServer(c.Context, server, os.Getenv("FEDMETER_TOKEN"), nil)
	}
	if profile := c.String("profile"); profile != "" {
		if c.String("as") != "" {
			return nil, client.Errorf(client.KindInvalid, "--as selects an identity of the embedded ledger, but a connection profile (%s) is in use", profile).
				WithHint("with a profile the identity is the profile's mspID, certPath and keyPath; drop --as or use another profile")
		}
		if !at.IsZero() {
			return nil, client.Errorf(client.KindInvalid, "--at sets the transaction time of the embedded ledger only; Fabric peers use their own clock").
				WithHint("drop --at when using --profile")
		}
		g, err := client.Dial(c.Context, profile)
		if err != nil {
			return nil, err
		}
		return g, nil
	}
	e, err := embedded.Open(dataDir(c), embedded.Options{As: c.String("as"), At: at, Wait: waitFlag(c)})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// embeddedLedger is the embedded ledger's backend (ledger verify, ledger
// info, org add).
type embeddedLedger = embedded.Backend

// waitFlag is --wait; 0 means do not wait.
func waitFlag(c *cli.Context) time.Duration {
	if w := c.Duration("wait"); w > 0 {
		return w
	}
	return -1
}

// withClient runs f with a client on the selected backend.
func (st *state) withClient(c *cli.Context, f func(cl *client.Client, p *printer) error) error {
	b, err := st.open(c)
	if err != nil {
		return err
	}
	defer b.Close()
	return f(client.New(b), st.printer(c))
}

func dataDir(c *cli.Context) string {
	if d := c.String("data"); d != "" {
		return d
	}
	return embedded.DefaultDataDir()
}

// parseAt parses --at (parseTime's forms).
func parseAt(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := parseAnyTime("--at", s)
	if err != nil {
		return time.Time{}, err
	}
	// The ledger keeps block times in Unix nanoseconds (an int64), so a
	// later time would wrap; the contract counts from 1970.
	if t.Before(minAt) || t.After(maxAt) {
		return time.Time{}, client.Errorf(client.KindInvalid, "--at %s is outside the times the ledger can hold (%s to %s)",
			s, minAt.Format(time.RFC3339), maxAt.Format(time.RFC3339))
	}
	return t, nil
}

// The range of --at: from the Unix epoch to the last whole second an int64
// of nanoseconds can count.
var (
	minAt = time.Unix(0, 0).UTC()
	maxAt = time.Unix(0, math.MaxInt64).UTC().Truncate(time.Second)
)

const rootHelp = `fedmeter meters and bills a federation of research clouds on a ledger.
Providers publish prices and quotas, consumers hold resources, usage and bills
live on the ledger, and the formula that turns usage into money is a
WebAssembly billing rule that the member orgs vote on.

GETTING STARTED (an embedded ledger in ./.fedmeter):
   fedmeter init                                  create a ledger: Org1, Org2, Org3
   fedmeter org list                              the local identities (--as ORG/USER)
   fedmeter --as Org1/Admin price set ecs --currency CNY --scale 2 vcpu_hour=12 memory_gib_hour=3 disk_gib_hour=1 public_ip_hour=5
   fedmeter --as Org1/Admin quota set Org2MSP max_days=365 vcpu=16 memory_gib=64 system_disk_gib=100 public_ips=2
   fedmeter --as Org2/User1 resource request --provider Org1MSP --type ecs --days 30 --spec vcpu=2,memory_gib=4,system_disk_gib=40
   fedmeter rule --help                           build, test, upload, vote on and activate billing rules
   make demo                                      the whole story, narrated, on a fresh ledger

IDENTITIES: every org has Admin (votes, rule uploads, prices, quotas), User1
(requests resources) and Agent1 (submits usage); pick one with --as Org2/User1.
FABRIC: --profile FILE reaches a Fabric network through fabric-gateway with a
YAML connection profile instead of the embedded ledger (cli/README.md).
Flags may come anywhere on the line; every command has --help.

EXIT CODES:
   0  ok
   1  usage or input error (a bad flag, argument or file; a refused request)
   2  not found (an ID, hash or key names nothing)
   3  permission denied (the identity may not do this)
   4  rule error (a rule was refused, failed to prepare or run, or none is active)
   5  verification mismatch (bill verify, ledger verify; an embedded ledger altered on disk)
   6  ledger or network error (the gateway, a commit, the embedded ledger failed)
   7  internal error (a fault of fedmeter or its machine; FEDMETER_DEBUG=1 for details)
   8  busy: another process is writing to the embedded ledger (see --wait)`

func newApp(st *state) *cli.App {
	app := &cli.App{
		Name:                 "fedmeter",
		Usage:                "metering and billing for a federation of research clouds",
		UsageText:            "fedmeter [global options] command [command options] [arguments...]",
		Description:          rootHelp,
		Version:              version(),
		EnableBashCompletion: true,
		Suggest:              true,
		HideHelpCommand:      true,
		Reader:               st.io.Stdin,
		Writer:               st.io.Stdout,
		ErrWriter:            st.io.Stderr,
		ExitErrHandler:       func(*cli.Context, error) {},
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "data", Aliases: []string{"d"}, Usage: "embedded ledger `DIR` (default ./.fedmeter)", EnvVars: []string{"FEDMETER_DATA"}},
			&cli.StringFlag{Name: "profile", Usage: "reach Fabric through fabric-gateway with this YAML connection profile `FILE` instead of the embedded ledger", EnvVars: []string{"FEDMETER_PROFILE"}},
			&cli.StringFlag{Name: "server", Usage: "send every transaction to a fedmeter server at `URL` (fedmeter serve), as the identity of the token in $FEDMETER_TOKEN: how to use a ledger a server holds", EnvVars: []string{"FEDMETER_SERVER"}},
			&cli.StringFlag{Name: "as", Usage: "act as the local identity `ORG/USER`, e.g. Org2/User1 (default: the ledger's, Org1/Admin)", EnvVars: []string{"FEDMETER_AS"}},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "table", Usage: "output `FORMAT`: table or json", EnvVars: []string{"FEDMETER_OUTPUT"}},
			&cli.DurationFlag{Name: "wait", Value: 2 * time.Second, Usage: "embedded ledger only: wait up to `DURATION` (e.g. 30s, 10m; 0: not at all) for another process writing to the ledger, then exit 8; reading never waits for a writer's import, only for its transaction in progress", EnvVars: []string{"FEDMETER_WAIT"}},
			&cli.StringFlag{Name: "at", Usage: "embedded ledger only: use `TIME` (YYYY-MM-DD, RFC 3339 or Unix seconds, 1970 to 2262-04-11T23:47:16Z) as the transaction time, for demos, tests and replays", EnvVars: []string{"FEDMETER_AT"}},
		},
		Before: func(c *cli.Context) error {
			switch c.String("output") {
			case "table":
			case "json":
				st.jsonOn = true
			default:
				return client.Errorf(client.KindInvalid, "--output %q is not valid: it must be table or json", c.String("output"))
			}
			st.profile = c.String("profile") != ""
			return nil
		},
		Action: unknownCommand,
		Commands: []*cli.Command{
			initCommand(st),
			orgCommand(st),
			ruleCommand(st),
			priceCommand(st),
			quotaCommand(st),
			resourceCommand(st),
			usageCommand(st),
			agentCommand(st),
			billCommand(st),
			allocationCommand(st),
			statementCommand(st),
			memberCommand(st),
			historyCommand(st),
			ledgerCommand(st),
			serveCommand(st),
			completionCommand(st),
		},
	}
	var setup func(prefix string, cmds []*cli.Command)
	setup = func(prefix string, cmds []*cli.Command) {
		for _, c := range cmds {
			if c.OnUsageError == nil {
				c.OnUsageError = onUsageError
			}
			if len(c.Subcommands) > 0 {
				if c.Action == nil {
					c.Action = unknownCommand
				}
				if c.UsageText == "" {
					c.UsageText = prefix + " " + c.Name + " COMMAND [options] [arguments...]"
				}
				c.HideHelpCommand = true
				setup(prefix+" "+c.Name, c.Subcommands)
			}
		}
	}
	setup("fedmeter", app.Commands)
	app.OnUsageError = onUsageError
	app.CustomAppHelpTemplate = strings.Replace(cli.AppHelpTemplate,
		`{{template "visibleCommandCategoryTemplate" .}}`, commandList(app.Commands), 1)
	return app
}

// categories in the order of the story (urfave/cli sorts them by name).
var categories = []string{"Setup", "Market", "Resources", "Rules", "Bills", "Governance", "Ledger", "Shell"}

// commandList is the root help's COMMANDS section, by category in story order.
func commandList(cmds []*cli.Command) string {
	var b strings.Builder
	for _, cat := range categories {
		fmt.Fprintf(&b, "\n   %s:", cat)
		for _, c := range cmds {
			if c.Category == cat && !c.Hidden {
				fmt.Fprintf(&b, "\n     %s\t%s", c.Name, strings.ReplaceAll(c.Usage, "{{", "{{`{{`}}"))
			}
		}
	}
	return b.String()
}

func onUsageError(c *cli.Context, err error, _ bool) error {
	name := "fedmeter"
	if c.Command != nil && c.Command.HelpName != "" {
		name = c.Command.HelpName
	}
	return client.Errorf(client.KindInvalid, "%s: %s", name, strings.TrimSuffix(firstLine(err.Error()), ".")).
		WithHint("see `%s --help`", name)
}

// unknownCommand is the action of the root and of each command group: with
// no argument it shows the help; with one it refuses the unknown name.
func unknownCommand(c *cli.Context) error {
	group := c.Command != nil && c.Command.Name != "" && c.Command.Name != c.App.Name
	if !c.Args().Present() {
		if group {
			return cli.ShowSubcommandHelp(c)
		}
		return cli.ShowAppHelp(c)
	}
	name := c.Args().First()
	var cmds []*cli.Command
	where := "fedmeter"
	if group {
		cmds, where = c.Command.Subcommands, c.Command.HelpName
	} else {
		cmds = c.App.Commands
	}
	if name == "help" { // "fedmeter help", "fedmeter rule help", "fedmeter help rule"
		if sub := findCommand(cmds, c.Args().Get(1)); sub != nil {
			return cli.ShowCommandHelp(c, sub.Name)
		}
		if group {
			return cli.ShowSubcommandHelp(c)
		}
		return cli.ShowAppHelp(c)
	}
	names := make([]string, 0, len(cmds))
	for _, x := range cmds {
		if !x.Hidden {
			names = append(names, x.Name)
		}
	}
	e := client.Errorf(client.KindInvalid, "%q is not a command of %s (commands: %s)", name, where, strings.Join(names, ", "))
	if s := cli.SuggestCommand(cmds, name); s != "" && !strings.Contains(s, `"help"`) && !strings.Contains(s, `"h"`) &&
		name != "" && strings.Contains(s, `"`+name[:1]) {
		e.Hint = strings.TrimSuffix(s, "?") + "? See `" + where + " --help`"
	} else {
		e.Hint = "see `" + where + " --help`"
	}
	return e
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
