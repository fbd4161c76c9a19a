package serve

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fedmeter/fedmeter/chaincode"
	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/fedmeter/fedmeter/cli/client/embedded"
	"github.com/getkin/kin-openapi/openapi3filter"
)

func init() {
	openapi3filter.RegisterBodyDecoder("text/event-stream", openapi3filter.PlainBodyDecoder)
}

// hang is how long a test waits for something that must happen: a guard
// against hanging, not a speed requirement.
const hang = 60 * time.Second

// sseMsg is one message of an event stream: an event, or a comment.
type sseMsg struct {
	id, typ, data string
	comment       string
}

// sse reads an event stream.
type sse struct {
	t    testing.TB
	e    *env
	req  *http.Request
	res  *http.Response
	msgs chan sseMsg
	stop chan struct{}
	raw  bytes.Buffer
	mu   sync.Mutex
	done chan struct{}
}

// stream opens GET /api/v1/events?query as who, with extra headers.
func (e *env) stream(base, who, query string, header ...string) *sse {
	e.t.Helper()
	if base == "" {
		base = e.ts.URL
	}
	req, err := http.NewRequest("GET", base+"/api/v1/events"+query, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.tokens[who])
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		e.t.Fatalf("events: status %d %s:\n%s", res.StatusCode, res.Header.Get("Content-Type"), b)
	}
	s := &sse{t: e.t, e: e, req: req, res: res, msgs: make(chan sseMsg, 1000), stop: make(chan struct{}), done: make(chan struct{})}
	go s.read()
	e.t.Cleanup(s.close)
	return s
}

func (s *sse) read() {
	defer close(s.done)
	defer close(s.msgs)
	sc := bufio.NewScanner(s.res.Body)
	var m sseMsg
	send := func(m sseMsg) {
		select {
		case s.msgs <- m:
		case <-s.stop:
		}
	}
	for sc.Scan() {
		line := sc.Text()
		s.mu.Lock()
		s.raw.WriteString(line + "\n")
		s.mu.Unlock()
		switch {
		case line == "":
			if m.id != "" || m.typ != "" || m.data != "" {
				send(m)
			}
			m = sseMsg{}
		case strings.HasPrefix(line, ":"):
			send(sseMsg{comment: strings.TrimSpace(line[1:])})
		default:
			k, v, _ := strings.Cut(line, ":")
			v = strings.TrimPrefix(v, " ")
			switch k {
			case "id":
				m.id = v
			case "event":
				m.typ = v
			case "data":
				m.data = v
			}
		}
	}
}

func (s *sse) close() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	s.res.Body.Close()
	<-s.done
}

// next is the next event (comments skipped).
func (s *sse) next() (sseMsg, APIEvent) {
	s.t.Helper()
	for {
		select {
		case m, ok := <-s.msgs:
			if !ok {
				s.t.Fatalf("the event stream ended")
			}
			if m.comment != "" {
				continue
			}
			var ev APIEvent
			if err := json.Unmarshal([]byte(m.data), &ev); err != nil {
				s.t.Fatalf("event data is not JSON: %v: %q", err, m.data)
			}
			if ev.ID != m.id || ev.Type != m.typ {
				s.t.Fatalf("event %+v: its id or event line differs from its data", m)
			}
			return m, ev
		case <-time.After(hang):
			s.t.Fatalf("no event within %v", hang)
		}
	}
}

// validate checks what the stream sent against openapi.json.
func (s *sse) validate() {
	s.t.Helper()
	s.mu.Lock()
	body := append([]byte(nil), s.raw.Bytes()...)
	s.mu.Unlock()
	s.e.validate(s.req, resp{status: s.res.StatusCode, header: s.res.Header, body: body})
}

func billOf(t *testing.T, ev APIEvent) (provider, consumer, id string) {
	t.Helper()
	var p struct{ Provider, Consumer, ID string }
	if err := json.Unmarshal(ev.Data, &p); err != nil {
		t.Fatalf("bill event data: %v", err)
	}
	return p.Provider, p.Consumer, p.ID
}

func TestEventStream(t *testing.T) {
	e := newEnv(t)

	// The ledger's history: the setup's governance, in order.
	all := e.stream("", "Org2/User1", "?after=start")
	var types []string
	last := client.EventPos{}
	for len(types) == 0 || types[len(types)-1] != "rule.activated" {
		m, ev := all.next()
		p, err := client.ParseEventPos(m.id)
		if err != nil || len(types) > 0 && !last.Less(p) {
			t.Fatalf("event id %q after %v: not increasing", m.id, last)
		}
		last = p
		if ev.Time == nil || ev.Tx == "" || ev.Name == "" {
			t.Fatalf("event without time, tx or name: %+v", ev)
		}
		types = append(types, ev.Type)
	}
	if got := strings.Join(types, " "); got != "consortium.initialized rule.proposed rule.voted rule.decided rule.activated" {
		t.Fatalf("history: %s", got)
	}

	live := e.stream("", "Org2/User1", "")
	org3 := e.stream("", "Org3/Admin", "")
	bills := e.stream("", "Org1/Admin", "?types=bill.*")
	ids := e.story(t, 2)
	var evIDs []string
	for i, s := range []*sse{all, live, bills} {
		for j := 0; j < 2; j++ {
			m, ev := s.next()
			prov, cons, id := billOf(t, ev)
			if ev.Type != "bill.issued" || prov != "Org1MSP" || cons != "Org2MSP" || id != ids[j] {
				t.Fatalf("stream %d, event %d: %s %s", i, j, m.typ, m.data)
			}
			if i == 1 {
				evIDs = append(evIDs, m.id)
			}
		}
	}
	// Org3 is neither party of the bills: its next event is the rule
	// uploaded after them.
	c, err := e.srv.clientFor(Token{As: "Org1/Admin", MSPID: "Org1MSP"})
	if err != nil {
		t.Fatal(err)
	}
	code, err := os.ReadFile(filepath.Join("..", "..", "..", "chaincode", "testdata", "rule_usd.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.UploadRule(context.Background(), client.RuleMeta{Name: "ecs2", Version: "1.0.0", Types: []string{"ecs"}, Author: "test"}, code); err != nil {
		t.Fatal(err)
	}
	if m, _ := org3.next(); m.typ != "rule.proposed" {
		t.Fatalf("Org3's first event after the bills: %s %s", m.typ, m.data)
	}
	if m, _ := live.next(); m.typ != "rule.proposed" {
		t.Fatalf("Org2's event after the bills: %s", m.typ)
	}

	// Resuming: after the first bill, the second is next; by header or
	// by query.
	for _, s := range []*sse{
		e.stream("", "Org2/User1", "", "Last-Event-ID", evIDs[0]),
		e.stream("", "Org2/User1", "?after="+evIDs[0]),
	} {
		if m, _ := s.next(); m.id != evIDs[1] {
			t.Fatalf("resumed after %s: first event %s, want %s", evIDs[0], m.id, evIDs[1])
		}
	}

	// What was sent matches openapi.json, and the metrics count it.
	live.close()
	live.validate()
	r := e.get("Org1/Admin", "/metrics")
	want(t, r, 200)
	if !strings.Contains(string(r.body), `fedmeter_events_sent_total{type="bill.issued"} `) ||
		strings.Contains(string(r.body), `fedmeter_events_sent_total{type="bill.issued"} 0`) {
		t.Fatalf("metrics without sent events:\n%s", r.body)
	}
}

// TestEventAudience checks who sees which event of a ledger with bills of
// Org1 to Org2, governance, and a non-member org.
func TestEventAudience(t *testing.T) {
	e := newEnvWith(t, func(o *Options) {
		// An org of the folder that is not a member of the consortium.
		if _, err := embedded.AddOrg(o.Dir, embedded.OrgSpec{Name: "Org4", MSPID: "Org4MSP"}); err != nil {
			t.Fatal(err)
		}
	})
	e.story(t, 2)
	var evs []client.Event
	led := e.srv.emb.Ledger()
	h, _, err := led.Height()
	if err != nil {
		t.Fatal(err)
	}
	for n := uint64(0); n < h; n++ {
		b, err := led.Block(n)
		if err != nil {
			t.Fatal(err)
		}
		for i, ev := range b.Events {
			evs = append(evs, client.Event{Pos: client.EventPos{Block: n, Index: uint32(i)}, Name: ev.Name, Payload: ev.Payload})
		}
	}
	ctx := context.Background()
	count := func(who, msp string) (bills, gov int) {
		t.Helper()
		c, err := e.srv.clientFor(Token{As: who, MSPID: msp})
		if err != nil {
			t.Fatal(err)
		}
		a := &audience{c: c, msp: msp}
		for _, ev := range evs {
			ok, err := a.sees(ctx, ev)
			if err != nil {
				t.Fatal(err)
			}
			if ok && strings.HasPrefix(ev.Name, "Bill") {
				bills++
			} else if ok {
				gov++
			}
		}
		return
	}
	if b, g := count("Org2/User1", "Org2MSP"); b != 2 || g != 5 {
		t.Fatalf("Org2 sees %d bill and %d other events, want 2 and 5", b, g)
	}
	if b, g := count("Org3/Admin", "Org3MSP"); b != 0 || g != 5 {
		t.Fatalf("Org3 sees %d bill and %d other events, want 0 and 5", b, g)
	}
	if b, g := count("Org4/Admin", "Org4MSP"); b != 0 || g != 0 {
		t.Fatalf("the non-member Org4 sees %d bill and %d other events, want none", b, g)
	}
	// An event this server does not know goes to nobody.
	c, _ := e.srv.clientFor(Token{As: "Org1/Admin", MSPID: "Org1MSP"})
	if ok, _ := (&audience{c: c, msp: "Org1MSP"}).sees(ctx, client.Event{Name: "SomethingNew", Payload: []byte(`{}`)}); ok {
		t.Fatal("an unknown event was shown")
	}
}

// TestSettlementEventAudience: statement, payment and allocation events go
// to their two orgs only; a re-rating's event to those who may read its
// adjustment bills.
func TestSettlementEventAudience(t *testing.T) {
	e := newEnvWith(t, nil)
	e.story(t, 1)
	ctx := context.Background()
	c1, err := e.srv.clientFor(Token{As: "Org1/User1", MSPID: "Org1MSP"})
	if err != nil {
		t.Fatal(err)
	}
	bills, err := c1.Bills(ctx, client.BillFilter{Role: "provider"})
	if err != nil || len(bills) == 0 {
		t.Fatalf("the story's bills: %v, %v", bills, err)
	}
	b := bills[0]
	pair := fmt.Sprintf(`{"id":"x","provider":%q,"consumer":%q}`, b.Provider, b.Consumer)
	rerated := fmt.Sprintf(`{"adjustments":[{"id":%q}]}`, b.ID)
	for _, name := range []string{"StatementIssued", "StatementPaid", "PaymentRecorded", "AllocationGranted", "BillsRerated"} {
		payload := pair
		if name == "BillsRerated" {
			payload = rerated
		}
		ev := client.Event{Name: name, Payload: []byte(payload)}
		for _, who := range []struct {
			as, msp string
			want    bool
		}{{"Org1/User1", "Org1MSP", b.Provider == "Org1MSP"}, {"Org2/User1", "Org2MSP", b.Consumer == "Org2MSP"}, {"Org3/Admin", "Org3MSP", false}} {
			c, err := e.srv.clientFor(Token{As: who.as, MSPID: who.msp})
			if err != nil {
				t.Fatal(err)
			}
			got, err := (&audience{c: c, msp: who.msp}).sees(ctx, ev)
			if err != nil || got != who.want {
				t.Errorf("%s sees %s: %v (%v), want %v", who.as, name, got, err, who.want)
			}
		}
	}
}

func TestEventTypes(t *testing.T) {
	for name, want := range map[string]string{"BillIssued": "bill.issued", "RuleRevokeProposed": "rule.revoke_proposed",
		"ConsortiumInitialized": "consortium.initialized", "X": "x"} {
		if got := eventType(name); got != want {
			t.Errorf("eventType(%s) = %s, want %s", name, got, want)
		}
	}
	// EventTypes are those of the contract's events (the contract refuses
	// to set any other).
	seen := map[string]bool{}
	for _, name := range chaincode.EventNames {
		seen[eventType(name)] = true
	}
	if len(seen) != len(EventTypes) {
		t.Errorf("the contract sets %d event types, EventTypes lists %d: %v", len(seen), len(EventTypes), seen)
	}
	for _, typ := range EventTypes {
		if !seen[typ] {
			t.Errorf("EventTypes lists %s, which the contract does not set", typ)
		}
	}
}

func TestEventStreamBadInput(t *testing.T) {
	e := newEnv(t)
	for _, q := range []string{"?after=x", "?after=1.x", "?after=-1", "?types=bill.paid", "?types=nope.*"} {
		r := e.get("Org2/User1", "/api/v1/events"+q)
		want(t, r, 400)
		if p := r.problem(t); p.Kind != "invalid" {
			t.Fatalf("%s: %+v", q, p)
		}
	}
}

// TestEventStreamShutdown: Shutdown ends a stream with a last comment.
func TestEventStreamShutdown(t *testing.T) {
	e := newEnv(t)
	s := e.stream("", "Org2/User1", "")
	e.srv.Shutdown()
	var comments []string
	for {
		select {
		case m, ok := <-s.msgs:
			if !ok {
				if len(comments) == 0 || !strings.Contains(comments[len(comments)-1], "shutting down") {
					t.Fatalf("the stream ended without saying why: %q", comments)
				}
				return
			}
			comments = append(comments, m.comment)
		case <-time.After(hang):
			t.Fatal("the stream did not end on Shutdown")
		}
	}
}

// TestEventStreamTimeouts: a stream sends keep-alives and outlives the
// server's read and write timeouts (each write extends its deadline).
func TestEventStreamTimeouts(t *testing.T) {
	e := newEnvWith(t, func(o *Options) { o.KeepAlive = 20 * time.Millisecond })
	ts := httptest.NewUnstartedServer(e.srv)
	ts.Config = e.srv.HTTPServer(Timeouts{ReadHeader: time.Second, Read: 100 * time.Millisecond, Write: 100 * time.Millisecond, Idle: time.Second})
	ts.Start()
	t.Cleanup(ts.Close)
	s := e.stream(ts.URL, "Org2/User1", "")
	// Keep-alives for longer than both timeouts.
	start := time.Now()
	n := 0
	for time.Since(start) < 400*time.Millisecond || n < 3 {
		select {
		case m, ok := <-s.msgs:
			if !ok {
				t.Fatalf("the stream ended after %d keep-alives", n)
			}
			if m.comment == "keep-alive" {
				n++
			}
		case <-time.After(hang):
			t.Fatal("no keep-alive")
		}
	}
	e.story(t, 1)
	if m, _ := s.next(); m.typ != "bill.issued" {
		t.Fatalf("event %s", m.typ)
	}
}
