package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/fedmeter/fedmeter/cli/client"
)

// The event stream, GET /api/v1/events: the contract's chaincode events
// (bills issued, rules proposed, voted, decided, activated and revoked,
// consortium proposals and votes) as server-sent events, each as the
// caller may see it through the API. See README.md, "Events".

// APIEvent is one event as the stream and webhooks send it.
type APIEvent struct {
	// ID is the event's position on the ledger, BLOCK.INDEX: what
	// Last-Event-ID and ?after= resume from.
	ID string `json:"id"`
	// Type is the event's type: the contract's name in dotted lower case
	// (BillIssued: bill.issued, RuleRevokeProposed: rule.revoke_proposed).
	Type string `json:"type"`
	// Name is the contract's name of the event.
	Name string `json:"name"`
	// Tx is the transaction that set it.
	Tx string `json:"tx"`
	// Time is the transaction's time (the embedded ledger; absent on
	// Fabric).
	Time *time.Time `json:"time,omitempty"`
	// Data is the contract's payload (chaincode/README.md, "Events").
	Data json.RawMessage `json:"data"`
}

// EventTypes are the event types the contract sets, and who sees each.
var EventTypes = []string{
	"bill.issued", "bill.pending", "bills.rerated", "usage.adjusted",
	"statement.issued", "statement.acknowledged", "statement.disputed", "statement.voided", "statement.paid",
	"payment.recorded", "payment.confirmed",
	"allocation.granted", "allocation.topped_up",
	"rule.proposed", "rule.voted", "rule.decided", "rule.activated", "rule.revoke_proposed", "rule.revoked",
	"consortium.initialized", "consortium.proposed", "consortium.voted", "consortium.decided",
}

// eventType is the dotted type of the contract's event name.
func eventType(name string) string {
	var b strings.Builder
	word := 0
	for i, r := range name {
		if unicode.IsUpper(r) && i > 0 {
			if word++; word == 1 {
				b.WriteByte('.')
			} else {
				b.WriteByte('_')
			}
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

func apiEvent(ev client.Event) APIEvent {
	a := APIEvent{ID: ev.Pos.String(), Type: eventType(ev.Name), Name: ev.Name, Tx: ev.TxID, Data: ev.Payload}
	if !ev.Time.IsZero() {
		t := ev.Time.UTC()
		a.Time = &t
	}
	if len(a.Data) == 0 || !json.Valid(a.Data) {
		a.Data, _ = json.Marshal(string(ev.Payload))
	}
	return a
}

// parseTypes reads a comma-separated list of event types ("" or "*":
// every type).
func parseTypes(s string) (map[string]bool, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "*" {
		return nil, nil
	}
	set := map[string]bool{}
	for _, t := range strings.Split(s, ",") {
		t = strings.TrimSpace(t)
		ok := false
		for _, k := range EventTypes {
			if t == k || strings.HasSuffix(t, ".*") && strings.HasPrefix(k, strings.TrimSuffix(t, "*")) {
				set[k], ok = true, true
			}
		}
		if !ok {
			return nil, badArg("%q is not an event type: the types are %s (or a prefix such as bill.*, statement.*, rule.*)", t, strings.Join(EventTypes, ", "))
		}
	}
	return set, nil
}

// audience decides which events an identity sees: what it could read
// through the API now. Bill events go to the bill's two orgs, governance
// events (rules, the consortium) to member orgs; a non-member sees
// nothing, nor does anyone see an event type this server does not know.
type audience struct {
	c       *client.Client
	msp     string
	member  bool
	checked bool
}

func (a *audience) sees(ctx context.Context, ev client.Event) (bool, error) {
	if !a.checked || strings.HasPrefix(ev.Name, "Consortium") {
		// Membership changes only by a consortium decision: read it
		// again after one.
		cons, err := a.c.Consortium(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			if client.KindOf(err) == client.KindNotFound || client.KindOf(err) == client.KindDenied {
				cons = nil
			} else {
				return false, err
			}
		}
		a.member = false
		if cons != nil {
			for _, m := range cons.Members {
				if m == a.msp {
					a.member = true
				}
			}
		}
		a.checked = true
	}
	if !a.member {
		return false, nil
	}
	switch {
	case ev.Name == "BillsRerated":
		// The payload names the adjustment bills, not the pair: the
		// event is shown to whoever may read one of them.
		var p struct {
			Adjustments []struct {
				ID string `json:"id"`
			} `json:"adjustments"`
		}
		if json.Unmarshal(ev.Payload, &p) != nil {
			return false, nil
		}
		for _, adj := range p.Adjustments {
			b, err := a.c.Bill(ctx, adj.ID)
			if err == nil {
				return b.Provider == a.msp || b.Consumer == a.msp, nil
			}
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
		}
		return false, nil
	case strings.HasPrefix(ev.Name, "Bill"), strings.HasPrefix(ev.Name, "Statement"),
		strings.HasPrefix(ev.Name, "Payment"), strings.HasPrefix(ev.Name, "Allocation"),
		ev.Name == "UsageAdjusted":
		// Settlement between two orgs: theirs alone.
		var p struct {
			Provider string `json:"provider"`
			Consumer string `json:"consumer"`
		}
		if json.Unmarshal(ev.Payload, &p) != nil {
			return false, nil
		}
		return p.Provider == a.msp || p.Consumer == a.msp, nil
	case strings.HasPrefix(ev.Name, "Rule"), strings.HasPrefix(ev.Name, "Consortium"):
		return true, nil
	}
	return false, nil
}

// eventSource is the backend's event stream, or nil when the backend has
// none.
func (s *Server) eventSource() client.EventSource {
	if s.emb != nil {
		return s.emb
	}
	src, _ := s.gw.(client.EventSource)
	return src
}

// eventStart reads where a stream resumes: the Last-Event-ID header, or
// the after query parameter (an event's ID, or "start" for the ledger's
// first event). Neither: the events committed from now on (nil).
func eventStart(r *http.Request) (*client.EventPos, error) {
	v, name := r.Header.Get("Last-Event-ID"), "Last-Event-ID"
	if v == "" {
		v, name = r.URL.Query().Get("after"), "query parameter after"
	}
	switch v {
	case "":
		return nil, nil
	case "start":
		return &client.EventPos{}, nil
	}
	p, err := client.ParseEventPos(v)
	if err != nil {
		return nil, badArg("%s %q is not an event ID: it must be BLOCK.INDEX (an event's id) or start", name, v)
	}
	n := p.Next()
	return &n, nil
}

// errStreamClosed ends a subscription's backend stream.
var errStreamClosed = errors.New("the event stream was closed")

// eventsHandler streams the caller's events as text/event-stream.
func (s *Server) eventsHandler(w http.ResponseWriter, r *http.Request) {
	cl := callerOf(r)
	src := s.eventSource()
	if src == nil {
		writeProblem(w, r, newProblem(http.StatusNotImplemented, "unsupported",
			"this server's backend has no event stream", "the embedded ledger and Fabric gateways have one"))
		return
	}
	start, err := eventStart(r)
	if err == nil {
		var types map[string]bool
		if types, err = parseTypes(r.URL.Query().Get("types")); err == nil {
			s.streamEvents(w, r, src, cl, start, types)
			return
		}
	}
	writeProblem(w, r, problemOf(err, ""))
}

func (s *Server) streamEvents(w http.ResponseWriter, r *http.Request, src client.EventSource, cl *caller, start *client.EventPos, types map[string]bool) {
	rc := http.NewResponseController(w)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(s.closing, cancel)
	defer stop()

	aud := &audience{c: cl.c, msp: cl.c.MSPID()}
	evc := make(chan APIEvent)
	errc := make(chan error, 1)
	go func() {
		errc <- src.Events(ctx, start, func(ev client.Event) error {
			if types != nil && !types[eventType(ev.Name)] {
				return nil
			}
			ok, err := aud.sees(ctx, ev)
			if err != nil || !ok {
				return err
			}
			select {
			case evc <- apiEvent(ev):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()

	// A stream outlives the server's read timeout: without this, the
	// connection's read deadline would end it.
	_ = rc.SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	write := func(format string, args ...any) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(s.o.StreamWriteTimeout))
		if _, err := fmt.Fprintf(w, format, args...); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	// retry: how long a browser's EventSource waits to reconnect.
	if !write("retry: 2000\n: fedmeter events as %s\n\n", cl.tok.As) {
		return
	}
	keep := time.NewTicker(s.o.KeepAlive)
	defer keep.Stop()
	for {
		select {
		case ev := <-evc:
			b, _ := json.Marshal(ev)
			if !write("id: %s\nevent: %s\ndata: %s\n\n", ev.ID, ev.Type, b) {
				return
			}
			s.metrics.eventSent(ev.Type)
		case <-keep.C:
			if !write(": keep-alive\n\n") {
				return
			}
		case err := <-errc:
			// On shutdown the source ends too (its context is the
			// stream's), and this case may be the one select picks.
			if s.closed() {
				write(shutdownComment)
				return
			}
			if ctx.Err() == nil && err != nil {
				// The backend failed: say so, and let the client resume.
				p := problemOf(err, r.URL.Path)
				b, _ := json.Marshal(p)
				write("event: error\ndata: %s\n\n", b)
			}
			return
		case <-ctx.Done():
			if s.closed() {
				// The server shuts down: a last comment, then the end.
				write(shutdownComment)
			}
			return
		}
	}
}

// shutdownComment is a stream's last line when the server shuts down.
const shutdownComment = ": the server is shutting down; reconnect with Last-Event-ID\n\n"

// closed reports whether the server is shutting down.
func (s *Server) closed() bool { return s.closing.Err() != nil }

// startEvents sets the defaults of the event options and starts the
// webhook dispatcher.
func (s *Server) startEvents() error {
	if s.o.KeepAlive <= 0 {
		s.o.KeepAlive = 15 * time.Second
	}
	if s.o.StreamWriteTimeout <= 0 {
		s.o.StreamWriteTimeout = 30 * time.Second
	}
	if s.o.WebhookClock == nil {
		s.o.WebhookClock = realClock{}
	}
	if s.o.WebhookBackoff.Attempts <= 0 {
		s.o.WebhookBackoff = DefaultBackoff
	}
	if s.o.WebhookClient == nil {
		s.o.WebhookClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if s.o.Logf == nil {
		s.o.Logf = func(string, ...any) {}
	}
	s.closing, s.shutdown = context.WithCancel(context.Background())
	if s.o.Webhooks == "" {
		switch {
		case s.emb != nil:
			s.o.Webhooks = WebhookFile(s.emb.Dir())
		case s.o.Backend == nil && s.o.Profile != "":
			s.o.Webhooks = ProfileWebhookFile(s.o.Profile)
		}
	}
	src := s.eventSource()
	if s.o.Webhooks == "" || src == nil {
		return nil
	}
	d, err := newDispatcher(s)
	if err != nil {
		if hs, rerr := ReadWebhooks(s.o.Webhooks); rerr == nil && len(hs) == 0 {
			// No webhooks (a read-only ledger folder, say): serve without.
			s.o.Logf("fedmeter serve: webhooks are off: %v", err)
			return nil
		}
		return err
	}
	var head *client.EventPos
	if s.emb != nil {
		// A first start delivers the events from now on, not the
		// ledger's history.
		if led := s.emb.Ledger(); led != nil {
			if h, _, err := led.Height(); err == nil {
				head = &client.EventPos{Block: h}
			}
		}
	}
	s.hooks = d
	d.start(s.closing, src, head)
	return nil
}

// Shutdown ends the event streams (each with a last comment) and stops
// the webhook dispatcher's work; deliveries in flight stay pending. Give
// it to http.Server.RegisterOnShutdown: streams never end by themselves,
// so Shutdown would otherwise wait for them.
func (s *Server) Shutdown() { s.shutdown() }

func (m *metrics) eventSent(typ string) {
	m.mu.Lock()
	m.events[typ]++
	m.mu.Unlock()
}

func (m *metrics) webhookDelivery(outcome string) {
	m.mu.Lock()
	m.webhooks[outcome]++
	m.mu.Unlock()
}

// webhookOutcomes are the outcomes of a delivery attempt: delivered (2xx),
// retry (to be tried again), failed (no attempts left), dropped (the
// webhook was removed).
var webhookOutcomes = []string{"delivered", "retry", "failed", "dropped"}

// writeEvents writes the event metrics; called by write with m.mu held.
func (m *metrics) writeEvents(w io.Writer) {
	fmt.Fprintln(w, "# HELP fedmeter_events_sent_total Events sent on event streams (/api/v1/events), by type.")
	fmt.Fprintln(w, "# TYPE fedmeter_events_sent_total counter")
	for _, t := range EventTypes {
		fmt.Fprintf(w, "fedmeter_events_sent_total{type=%q} %d\n", t, m.events[t])
	}
	fmt.Fprintln(w, "# HELP fedmeter_webhook_deliveries_total Webhook delivery attempts, by outcome.")
	fmt.Fprintln(w, "# TYPE fedmeter_webhook_deliveries_total counter")
	for _, o := range webhookOutcomes {
		fmt.Fprintf(w, "fedmeter_webhook_deliveries_total{outcome=%q} %d\n", o, m.webhooks[o])
	}
}
