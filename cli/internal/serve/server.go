// Package serve is `fedmeter serve`: an HTTP/JSON API over the fedmeter
// client (cli/client), for apps and finance staff who do not run the
// command on the ledger's machine. One process owns the embedded ledger
// (or a Fabric gateway connection); every request acts as the identity of
// its bearer token. Routes are listed in routes (api.go) and described by
// the OpenAPI document at /openapi.json (openapi.go). The contract's
// events go out as a stream of server-sent events (events.go) and as
// signed webhooks with a delivery log (webhooks.go); README.md says how
// and why.
package serve

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/fedmeter/fedmeter/cli/client/embedded"
)

// Options configures New.
type Options struct {
	// Dir is the embedded ledger's folder (used when Profile is empty).
	Dir string
	// Profile is a Fabric connection profile: the server acts as its one
	// identity, and accepts only tokens of that identity's MSP ID.
	Profile string
	// Tokens is the token file (default: TokenFile(Dir), or
	// ProfileTokenFile(Profile)).
	Tokens string
	// Wait is how long a write waits for another process holding the
	// embedded ledger (default 2s; negative: not at all).
	Wait time.Duration
	// Clock gives the embedded ledger's transaction times (tests).
	Clock func() time.Time
	// NoSync skips fsync on commit (tests only).
	NoSync bool
	// MaxBody is the largest request body in bytes (default 8 MiB).
	MaxBody int64
	// Backend, if set, is used instead of dialing Profile: a backend of
	// one identity, as the gateway's (an app's own backend; tests). Tokens
	// must then be set.
	Backend client.Backend

	// Events and webhooks (events.go, webhooks.go).

	// KeepAlive is how often an idle event stream sends a comment
	// (default 15s).
	KeepAlive time.Duration
	// StreamWriteTimeout bounds each write of an event stream (default
	// 30s): a client that stops reading is dropped.
	StreamWriteTimeout time.Duration
	// Webhooks is the webhook file (default: WebhookFile(Dir), or
	// ProfileWebhookFile(Profile); with Backend, none unless set). Its
	// delivery log is DeliveryLogFile(Webhooks).
	Webhooks string
	// WebhookClock, WebhookBackoff and WebhookClient are the dispatcher's
	// time, retry schedule and HTTP client (defaults: the wall clock,
	// DefaultBackoff, a client that follows no redirects).
	WebhookClock   Clock
	WebhookBackoff Backoff
	WebhookClient  *http.Client
	// Logf reports what goes wrong in the background (webhook deliveries'
	// stream); default: discarded.
	Logf func(format string, args ...any)
}

// Server serves the API. It is an http.Handler.
type Server struct {
	o       Options
	emb     *embedded.Backend // the embedded ledger, or nil
	gw      client.Backend    // the Fabric gateway, or nil
	tokens  *tokenStore
	certs   *certIdentities // embedded: mutual TLS identities
	metrics *metrics
	mux     *http.ServeMux
	console *http.ServeMux // console.go: cookie sessions, not tokens in headers

	viewsMu sync.Mutex
	views   map[string]*client.Client // embedded: a client per identity

	stopRules func() // ends the embedded contract's rule observer

	closing  context.Context // done when the server shuts down (Shutdown)
	shutdown context.CancelFunc
	hooks    *dispatcher // webhooks.go, or nil
}

// New opens the ledger (or dials the gateway) and returns the server.
func New(ctx context.Context, o Options) (*Server, error) {
	if o.MaxBody <= 0 {
		o.MaxBody = 8 << 20
	}
	s := &Server{o: o, metrics: newMetrics(), views: map[string]*client.Client{}}
	if o.Backend != nil {
		if o.Tokens == "" {
			return nil, client.Errorf(client.KindInvalid, "a server on its own backend needs a token file (Options.Tokens)")
		}
		s.gw = o.Backend
	} else if o.Profile != "" {
		g, err := client.Dial(ctx, o.Profile)
		if err != nil {
			return nil, err
		}
		s.gw = g
		if o.Tokens == "" {
			o.Tokens = ProfileTokenFile(o.Profile)
		}
	} else {
		e, err := embedded.Open(o.Dir, embedded.Options{Wait: o.Wait, Clock: o.Clock, NoSync: o.NoSync})
		if err != nil {
			return nil, err
		}
		s.emb = e
		s.stopRules = embedded.ObserveRuleCalls(s.metrics.ruleCall)
		s.certs = &certIdentities{}
		if err := s.certs.load(e.Dir()); err != nil {
			e.Close()
			return nil, err
		}
		if o.Tokens == "" {
			o.Tokens = TokenFile(e.Dir())
		}
	}
	s.o = o
	s.tokens = &tokenStore{file: o.Tokens}
	s.mux = s.routes()
	s.console = s.consoleRoutes()
	if err := s.startEvents(); err != nil {
		s.closeBackend()
		return nil, err
	}
	return s, nil
}

// Close ends the event streams and the webhook dispatcher (Shutdown), and
// closes the ledger or the gateway connection.
func (s *Server) Close() error {
	s.Shutdown()
	var err error
	if s.hooks != nil {
		err = s.hooks.stop()
	}
	return errors.Join(err, s.closeBackend())
}

func (s *Server) closeBackend() error {
	if s.stopRules != nil {
		s.stopRules()
	}
	if s.emb != nil {
		return s.emb.Close()
	}
	return s.gw.Close()
}

// TokenFile is the token file the server reads.
func (s *Server) TokenFile() string { return s.o.Tokens }

// caller is the identity a request acts as.
type caller struct {
	tok Token
	c   *client.Client
}

type ctxKey struct{}

func callerOf(r *http.Request) *caller {
	c, _ := r.Context().Value(ctxKey{}).(*caller)
	return c
}

// clientFor is the client acting as the token's identity.
func (s *Server) clientFor(t Token) (*client.Client, error) {
	if s.gw != nil {
		if t.MSPID != s.gw.MSPID() || t.As != s.gw.MSPID() {
			return nil, client.Errorf(client.KindDenied, "token %s acts as %s, but this server holds the identity of %s (its connection profile)", t.ID, t.As, s.gw.MSPID())
		}
		return client.New(s.gw), nil
	}
	s.viewsMu.Lock()
	defer s.viewsMu.Unlock()
	if c := s.views[t.As]; c != nil {
		return c, nil
	}
	v, err := s.emb.As(t.As)
	if err != nil {
		return nil, err
	}
	if v.MSPID() != t.MSPID {
		return nil, client.Errorf(client.KindDenied, "token %s was created for %s of %s, but that identity is now of %s", t.ID, t.As, t.MSPID, v.MSPID())
	}
	// No lock around writes: the embedded ledger queues Submits itself,
	// runs them one at a time in arrival order and commits the queued
	// ones together (one fsync for many; network/embedded's Submit).
	// Serializing them here as well kept that queue one deep, so every
	// write paid its own fsync and reopen (a third of the throughput under
	// 64 clients; docs/benchmarks.md, "fedmeter serve under load").
	c := client.New(v)
	s.views[t.As] = c
	return c, nil
}

// ServeHTTP authenticates, routes, counts and recovers.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rw := &statusWriter{ResponseWriter: w}
	defer func() {
		if v := recover(); v != nil {
			if rw.status == 0 {
				writeProblem(rw, r, newProblem(http.StatusInternalServerError, "internal",
					fmt.Sprintf("internal error (a bug in fedmeter serve): %v", v), "please report it with the request"))
			}
		}
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		} else if _, p, ok := strings.Cut(route, " "); ok {
			route = p
		}
		s.metrics.observe(route, r.Method, rw.code(), time.Since(start))
	}()
	rw.Header().Set("Cache-Control", "no-store")
	if consolePath(r.URL.Path) {
		r.Body = http.MaxBytesReader(rw, r.Body, 64<<10)
		s.console.ServeHTTP(rw, r)
		return
	}
	if r.URL.Path != "/healthz" {
		c, p := s.authenticate(r)
		if p != nil {
			writeProblem(rw, r, p)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, c))
	}
	r.Body = http.MaxBytesReader(rw, bodyReader{r.Body}, s.o.MaxBody)
	s.mux.ServeHTTP(rw, r)
}

// authenticate finds the request's identity: its bearer token or, without
// an Authorization header, its client certificate (mtls.go).
func (s *Server) authenticate(r *http.Request) (*caller, *Problem) {
	h := r.Header.Get("Authorization")
	if h == "" {
		if c, ok, p := s.certCaller(r); ok {
			return c, p
		}
	}
	scheme, tok, _ := strings.Cut(h, " ")
	if h == "" || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return nil, newProblem(http.StatusUnauthorized, "unauthenticated",
			"this request carries no bearer token: every route but /healthz acts as an identity of the ledger",
			"send Authorization: Bearer TOKEN, a token from `fedmeter serve token create --as ORG/USER`, or (over TLS) an identity's client certificate")
	}
	t, ok, err := s.tokens.lookup(strings.TrimSpace(tok))
	if err != nil {
		return nil, problemOf(err, "")
	}
	if !ok || subtle.ConstantTimeCompare([]byte(t.Hash), []byte(HashToken(strings.TrimSpace(tok)))) != 1 {
		return nil, newProblem(http.StatusUnauthorized, "unauthenticated",
			"the bearer token is not one of this server's: unknown or revoked",
			"`fedmeter serve token list` shows the tokens this server accepts")
	}
	c, err := s.clientFor(t)
	if err != nil {
		p := problemOf(err, "")
		if p.Status != http.StatusForbidden {
			// The token names an identity the ledger folder no longer has.
			p = newProblem(http.StatusUnauthorized, "unauthenticated", p.Detail, "create a token for an identity of this ledger")
		}
		return nil, p
	}
	return &caller{tok: t, c: c}, nil
}

// statusWriter records the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
