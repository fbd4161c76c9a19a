package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/fedmeter/fedmeter/cli/client/embedded"
	"github.com/fedmeter/fedmeter/cli/internal/serve"
	"github.com/urfave/cli/v2"
)

const serveHelp = `Serves the HTTP/JSON API (under /api/v1/), /openapi.json, /metrics and
/healthz over the embedded ledger in --data (this process owns it: many HTTP
clients, one ledger) or over Fabric with --profile (the profile's identity).

Every request but /healthz acts as the identity of its bearer token:
   fedmeter serve token create --as Org2/Admin     prints a token, once
   curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8080/api/v1/bills
The ledger folder keeps only each token's SHA-256 (serve-tokens.json);
tokens created or revoked while the server runs take effect at once.
Over TLS (--tls-cert, --tls-key) a client may instead present the X.509
certificate of one of the ledger folder's identities (mutual TLS; the
embedded ledger only): it acts as that identity.

Events: GET /api/v1/events streams the contract's events (bills issued,
rule and consortium proposals, votes, activations) as server-sent events,
each as the token's identity may read it; Last-Event-ID or ?after=ID
resumes. Webhooks (fedmeter serve webhook add) get the same events as
signed POSTs, retried with backoff; see fedmeter serve webhook --help.

The console for finance staff is at / (log in with a token): receivables
and payables per counterparty, the bills, a bill with a verify button.

Plain HTTP is served on loopback addresses only; another address needs
--tls-cert and --tls-key. Errors are application/problem+json with the
contract's refusal code and the client's kind (cli/README.md, "fedmeter serve").
SIGINT or SIGTERM stops accepting requests and finishes those in flight.`

func serveCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:        "serve",
		Category:    "Ledger",
		Usage:       "serve the HTTP/JSON API, /metrics and /openapi.json over the ledger (tokens: serve token)",
		UsageText:   "fedmeter serve [--listen ADDR] [--tls-cert FILE --tls-key FILE]\nfedmeter serve token create|list|revoke\nfedmeter serve webhook add|list|remove|deliveries",
		Description: serveHelp,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:8080", Usage: "listen on `ADDR` (host:port; plain HTTP on loopback only)", EnvVars: []string{"FEDMETER_LISTEN"}},
			&cli.StringFlag{Name: "tls-cert", Usage: "serve HTTPS with this PEM certificate `FILE` (with --tls-key)"},
			&cli.StringFlag{Name: "tls-key", Usage: "the PEM private key `FILE` of --tls-cert"},
			&cli.StringFlag{Name: "tokens", Usage: "the token `FILE` (default: serve-tokens.json in the ledger folder; with --profile, PROFILE.tokens.json)"},
			webhookFlag(),
		},
		Action: func(c *cli.Context) error { return st.serve(c) },
		Subcommands: []*cli.Command{
			webhookCommand(st), // cmd_serve_webhook.go
			{
				Name:  "token",
				Usage: "bearer tokens of the server: create, list, revoke",
				Subcommands: []*cli.Command{
					{
						Name:      "create",
						Usage:     "create a token acting as an identity (printed once; only its hash is kept)",
						UsageText: "fedmeter serve token create --as ORG/USER [--note TEXT]  (with --profile: the profile's identity)",
						Flags: []cli.Flag{
							&cli.StringFlag{Name: "note", Usage: "what the token is for (`TEXT`), shown by token list"},
							&cli.StringFlag{Name: "tokens", Usage: "the token `FILE` (default: the server's)"},
						},
						Action: func(c *cli.Context) error { return st.tokenCreate(c) },
					},
					{
						Name:      "list",
						Usage:     "the tokens the server accepts (IDs and identities; never the tokens)",
						UsageText: "fedmeter serve token list",
						Flags:     []cli.Flag{&cli.StringFlag{Name: "tokens", Usage: "the token `FILE` (default: the server's)"}},
						Action:    func(c *cli.Context) error { return st.tokenList(c) },
					},
					{
						Name:      "revoke",
						Usage:     "revoke a token by its ID (at once, also for a running server)",
						UsageText: "fedmeter serve token revoke ID",
						Flags:     []cli.Flag{&cli.StringFlag{Name: "tokens", Usage: "the token `FILE` (default: the server's)"}},
						Action:    func(c *cli.Context) error { return st.tokenRevoke(c) },
					},
				},
			},
		},
	}
}

// tokenFile is the token file the flags select.
func tokenFile(c *cli.Context) string {
	if f := c.String("tokens"); f != "" {
		return f
	}
	if p := c.String("profile"); p != "" {
		return serve.ProfileTokenFile(p)
	}
	return serve.TokenFile(dataDir(c))
}

func (st *state) serve(c *cli.Context) error {
	if _, err := args(c, 0, 0); err != nil {
		return err
	}
	if c.String("as") != "" {
		return usageErr(c, "--as does not apply to serve: every request acts as the identity of its bearer token")
	}
	if c.String("at") != "" {
		return usageErr(c, "--at does not apply to serve: transactions take the clock's time")
	}
	addr := c.String("listen")
	certFile, keyFile := c.String("tls-cert"), c.String("tls-key")
	if (certFile == "") != (keyFile == "") {
		return usageErr(c, "--tls-cert and --tls-key go together")
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return usageErr(c, "--listen %q is not host:port: %v", addr, err)
	}
	if certFile == "" && !loopback(host) {
		return usageErr(c, "--listen %s is not a loopback address: plain HTTP would carry bearer tokens in the clear; give --tls-cert and --tls-key, or listen on 127.0.0.1", addr)
	}
	srv, err := serve.New(c.Context, serve.Options{Dir: dataDir(c), Profile: c.String("profile"), Tokens: c.String("tokens"), Wait: waitFlag(c),
		Webhooks: c.String("webhooks"), Logf: func(format string, args ...any) { fmt.Fprintf(st.io.Stderr, format+"\n", args...) }})
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return client.Errorf(client.KindInvalid, "cannot listen on %s: %v", addr, err).
			WithHint("choose another address with --listen")
	}
	hs := srv.HTTPServer(serve.DefaultTimeouts)
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	scheme := "http"
	if certFile != "" {
		scheme = "https"
	}
	where := "the embedded ledger in " + dataDir(c)
	if c.String("profile") != "" {
		where = "Fabric through " + c.String("profile")
	}
	fmt.Fprintf(st.io.Stdout, "fedmeter serve: %s://%s over %s (tokens: %s)\n", scheme, ln.Addr(), where, srv.TokenFile())
	errc := make(chan error, 1)
	go func() {
		if certFile != "" {
			errc <- hs.ServeTLS(ln, certFile, keyFile)
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return client.Errorf(client.KindInternal, "the server stopped: %v", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return client.Errorf(client.KindInternal, "requests in flight did not finish within 30s: %v", err)
	}
	fmt.Fprintf(st.io.Stdout, "fedmeter serve: stopped\n")
	return nil
}

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (st *state) tokenCreate(c *cli.Context) error {
	if _, err := args(c, 0, 0); err != nil {
		return err
	}
	as, mspID, err := serveIdentity(c)
	if err != nil {
		return err
	}
	file := tokenFile(c)
	tok, t, err := serve.CreateToken(file, as, mspID, c.String("note"))
	if err != nil {
		return err
	}
	p := st.printer(c)
	if p.json {
		return p.JSON(struct {
			Token string      `json:"token"`
			Entry serve.Token `json:"entry"`
		}{tok, *t})
	}
	p.Printf("%s\n", tok)
	fmt.Fprintf(st.io.Stderr, "token %s acts as %s (%s); it is shown only now: keep it, the server keeps only its hash in %s\n", t.ID, t.As, t.MSPID, file)
	return nil
}

// serveIdentity is the identity --as names (with --profile: the
// profile's), for a token or a webhook: "Org/User" and its MSP ID.
func serveIdentity(c *cli.Context) (as, mspID string, err error) {
	if p := c.String("profile"); p != "" {
		if c.String("as") != "" {
			return "", "", usageErr(c, "--as selects an identity of the embedded ledger; with --profile it acts as the profile's identity")
		}
		prof, err := client.LoadProfile(p)
		if err != nil {
			return "", "", err
		}
		as, mspID = prof.MSPID, prof.MSPID
	} else {
		who := strings.TrimSpace(c.String("as"))
		if who == "" {
			return "", "", usageErr(c, "%s needs --as ORG/USER: the identity it acts as", c.Command.HelpName)
		}
		cfg, err := embedded.LoadConfig(dataDir(c))
		if err != nil {
			return "", "", err
		}
		orgRef, user, ok := strings.Cut(who, "/")
		org := cfg.Org(orgRef)
		if !ok || org == nil {
			return "", "", client.Errorf(client.KindNotFound, "--as %q names no identity of the ledger in %s: it must be ORG/USER", who, dataDir(c)).
				WithHint("fedmeter org list shows the local identities")
		}
		found := ""
		for _, u := range org.Users {
			if strings.EqualFold(u.Name, user) {
				found = u.Name
			}
		}
		if found == "" {
			return "", "", client.Errorf(client.KindNotFound, "--as %q names no identity of the ledger in %s: %s has no user %s", who, dataDir(c), org.Name, user).
				WithHint("fedmeter org list shows the local identities")
		}
		as, mspID = org.Name+"/"+found, org.MSPID
	}
	return as, mspID, nil
}

func (st *state) tokenList(c *cli.Context) error {
	if _, err := args(c, 0, 0); err != nil {
		return err
	}
	ts, err := serve.ReadTokens(tokenFile(c))
	if err != nil {
		return err
	}
	p := st.printer(c)
	if p.json {
		if ts == nil {
			ts = []serve.Token{}
		}
		return p.JSON(ts)
	}
	rows := make([][]string, 0, len(ts))
	for _, t := range ts {
		rows = append(rows, []string{t.ID, t.As, t.MSPID, t.Created.Format(time.RFC3339), t.Note})
	}
	p.Table("no tokens (fedmeter serve token create --as ORG/USER makes one)", []string{"ID", "AS", "MSP ID", "CREATED", "NOTE"}, rows)
	return nil
}

func (st *state) tokenRevoke(c *cli.Context) error {
	a, err := args(c, 1, 1, "ID")
	if err != nil {
		return err
	}
	t, err := serve.RevokeToken(tokenFile(c), a[0])
	if err != nil {
		return err
	}
	p := st.printer(c)
	if p.json {
		return p.JSON(t)
	}
	p.Printf("revoked token %s (%s)\n", t.ID, t.As)
	return nil
}
