package serve

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fedmeter/fedmeter/cli/client"
)

// Webhooks: the server POSTs each event a webhook's identity may see to
// its URL, signed with its secret, and retries with exponential backoff
// until the receiver answers 2xx or the attempts run out. Webhooks are
// kept in a file beside the tokens (WebhookFile; `fedmeter serve webhook
// add|list|remove` edits it, a running server rereads it when it
// changes); every delivery and its outcome goes to an append-only log
// beside it (DeliveryLogFile), from which a restarted server takes up the
// deliveries still pending and the position of the last event it handled.
// See README.md, "Webhooks".

// WebhookFileName is the webhook file's name in the embedded ledger's
// folder.
const WebhookFileName = "serve-webhooks.json"

// WebhookFile is the webhook file of the embedded ledger in dir.
func WebhookFile(dir string) string { return dir + string(os.PathSeparator) + WebhookFileName }

// ProfileWebhookFile is the webhook file of a server on a Fabric
// connection profile: beside the profile, named after it.
func ProfileWebhookFile(profile string) string {
	return strings.TrimSuffix(ProfileTokenFile(profile), ".tokens.json") + ".webhooks.json"
}

// DeliveryLogFile is the delivery log kept beside a webhook file.
func DeliveryLogFile(webhookFile string) string {
	return strings.TrimSuffix(webhookFile, ".json") + ".deliveries.jsonl"
}

// Webhook is a receiver of events: a URL, the event types it wants and
// the identity whose view of the ledger it gets (as a token's).
type Webhook struct {
	ID  string `json:"id"`
	URL string `json:"url"`
	// Events are the event types sent (EventTypes; empty: all).
	Events []string `json:"events,omitempty"`
	// As is the identity whose events the webhook gets, "Org/User" on the
	// embedded ledger; on Fabric the profile's MSP ID.
	As    string `json:"as"`
	MSPID string `json:"msp_id"`
	// Secret is the HMAC-SHA256 key of the signatures. The file is
	// readable by its owner only; list never shows it.
	Secret  string    `json:"secret,omitempty"`
	Created time.Time `json:"created"`
	Note    string    `json:"note,omitempty"`
}

type webhookFile struct {
	Webhooks []Webhook `json:"webhooks"`
}

// ReadWebhooks reads a webhook file; a missing file holds none.
func ReadWebhooks(file string) ([]Webhook, error) {
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, client.Errorf(client.KindInternal, "the webhook file %s cannot be read: %v", file, err)
	}
	var f webhookFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, client.Errorf(client.KindInternal, "the webhook file %s is not a webhook file: %v", file, err).
			WithHint("restore it from a copy, or delete it and add the webhooks again")
	}
	return f.Webhooks, nil
}

func writeWebhooks(file string, hs []Webhook) error {
	b, _ := json.MarshalIndent(webhookFile{Webhooks: hs}, "", "  ")
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return client.Errorf(client.KindInternal, "the webhook file %s cannot be written: %v", file, err)
	}
	if err := os.Rename(tmp, file); err != nil {
		os.Remove(tmp)
		return client.Errorf(client.KindInternal, "the webhook file %s cannot be written: %v", file, err)
	}
	return nil
}

var webhookFileMu sync.Mutex

// MinSecret is the shortest webhook secret accepted, in bytes.
const MinSecret = 16

// AddWebhook checks h (URL, event types, secret), gives it an ID and
// records it in file.
func AddWebhook(file string, h Webhook) (*Webhook, error) {
	if err := checkWebhookURL(h.URL); err != nil {
		return nil, err
	}
	if len(h.Secret) < MinSecret {
		return nil, client.Errorf(client.KindInvalid, "the webhook secret is %d bytes: it must be at least %d", len(h.Secret), MinSecret).
			WithHint("make one with: head -c 32 /dev/urandom | base64 > secret")
	}
	if strings.ContainsAny(h.Secret, "\r\n") {
		return nil, client.Errorf(client.KindInvalid, "the webhook secret holds a line break inside: give one line")
	}
	if h.As == "" || h.MSPID == "" {
		return nil, client.Errorf(client.KindInvalid, "a webhook acts as an identity: As and MSPID are needed")
	}
	types, err := parseTypes(strings.Join(h.Events, ","))
	if err != nil {
		return nil, err
	}
	h.Events = nil
	for _, t := range EventTypes {
		if types[t] {
			h.Events = append(h.Events, t)
		}
	}
	var raw [6]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, client.Errorf(client.KindInternal, "no random bytes for a webhook ID: %v", err)
	}
	h.ID = hex.EncodeToString(raw[:])
	if h.Created.IsZero() {
		h.Created = time.Now().UTC().Truncate(time.Second)
	}
	webhookFileMu.Lock()
	defer webhookFileMu.Unlock()
	hs, err := ReadWebhooks(file)
	if err != nil {
		return nil, err
	}
	hs = append(hs, h)
	return &h, writeWebhooks(file, hs)
}

// RemoveWebhook removes the webhook whose ID (or a unique prefix of at
// least 4 digits) is id. Its pending deliveries are dropped.
func RemoveWebhook(file, id string) (*Webhook, error) {
	webhookFileMu.Lock()
	defer webhookFileMu.Unlock()
	hs, err := ReadWebhooks(file)
	if err != nil {
		return nil, err
	}
	id = strings.ToLower(strings.TrimSpace(id))
	if len(id) < 4 {
		return nil, client.Errorf(client.KindInvalid, "webhook ID %q is too short: give at least 4 of its hex digits", id)
	}
	found := -1
	for i, h := range hs {
		if strings.HasPrefix(h.ID, id) {
			if found >= 0 {
				return nil, client.Errorf(client.KindInvalid, "webhook ID %q names more than one webhook: give more digits", id)
			}
			found = i
		}
	}
	if found < 0 {
		return nil, client.Errorf(client.KindNotFound, "webhook ID %q names no webhook of %s", id, file).
			WithHint("fedmeter serve webhook list shows the IDs")
	}
	h := hs[found]
	hs = append(hs[:found], hs[found+1:]...)
	return &h, writeWebhooks(file, hs)
}

// checkWebhookURL accepts https URLs, and http on loopback only (as the
// server itself: signed bodies still carry bills in the clear).
func checkWebhookURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil {
		return client.Errorf(client.KindInvalid, "%q is not a webhook URL: it must be https://HOST/PATH (no user info)", s)
	}
	if u.Scheme == "http" && !loopbackHost(u.Hostname()) {
		return client.Errorf(client.KindInvalid, "%q is plain HTTP to a host that is not loopback: events carry bills; use https", s)
	}
	return nil
}

func loopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// ---- signatures ----

// SignatureHeader is the header of a delivery's signature:
//
//	Fedmeter-Signature: t=1767225600,v1=5257a869...
//
// t is the attempt's time in Unix seconds and v1 the hex HMAC-SHA256,
// keyed with the webhook's secret, of t, a dot and the body. A receiver
// recomputes it, compares in constant time and refuses a t too far from
// its own clock (a replay): see VerifySignature and ExampleVerifySignature.
const SignatureHeader = "Fedmeter-Signature"

// Sign is the signature header's value for body at t.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// ErrSignature is a signature that does not verify.
var ErrSignature = errors.New("webhook signature does not verify")

// VerifySignature checks a Fedmeter-Signature header against body and
// the secret, and that its time is within tolerance of now.
func VerifySignature(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return fmt.Errorf("%w: the header has no t=UNIX,v1=HEX", ErrSignature)
	}
	if d := now.Sub(time.Unix(t, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: signed at %d, %v from now (tolerance %v): a replay, or a clock off", ErrSignature, t, d.Round(time.Second), tolerance)
	}
	want := mac(secret, ts, body)
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			return nil
		}
	}
	return fmt.Errorf("%w: no v1 matches the body", ErrSignature)
}

// ---- the delivery log ----

// Delivery is one event for one webhook and what became of it.
type Delivery struct {
	// ID is the webhook's ID and the event's: a delivery is made once per
	// event and webhook, also when a restarted server reads the event
	// again.
	ID      string `json:"id"`
	Webhook string `json:"webhook"`
	URL     string `json:"url"`
	Event   string `json:"event"`
	Type    string `json:"type"`
	MSPID   string `json:"msp_id"`
	// Status is pending (to be tried at next_attempt), delivered (a 2xx
	// answer), failed (the attempts ran out) or dropped (the webhook was
	// removed).
	Status      string    `json:"status"`
	Attempts    int       `json:"attempts"`
	NextAttempt time.Time `json:"next_attempt,omitempty,omitzero"`
	// LastCode is the HTTP status of the last attempt (0: no answer).
	LastCode  int       `json:"last_code,omitempty"`
	LastError string    `json:"last_error,omitempty"`
	Created   time.Time `json:"created"`
	Updated   time.Time `json:"updated"`
	// Body is what is POSTed: the event as APIEvent.
	Body json.RawMessage `json:"body"`
}

// Delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
	DeliveryDropped   = "dropped"
)

// logRecord is one line of the delivery log: a delivery's new state, or
// the position of the first event not yet handled.
type logRecord struct {
	Delivery *Delivery `json:"delivery,omitempty"`
	Next     string    `json:"next,omitempty"`
}

// keepFinished is how many finished deliveries the log keeps when it is
// compacted (at start); pending ones are all kept.
const keepFinished = 10000

// deliveryLog is the delivery log: the state in memory, each change
// appended to the file (and synced) before it counts.
type deliveryLog struct {
	file   string
	noSync bool

	mu    sync.Mutex
	f     *os.File
	byID  map[string]*Delivery
	order []string // by creation
	next  *client.EventPos
}

// readLog reads a delivery log: the deliveries in creation order and the
// next position. A torn last line (a crash mid-write) is ignored.
func readLog(file string) ([]*Delivery, *client.EventPos, error) {
	f, err := os.Open(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, client.Errorf(client.KindInternal, "the delivery log %s cannot be read: %v", file, err)
	}
	defer f.Close()
	byID := map[string]*Delivery{}
	var order []string
	var next *client.EventPos
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var r logRecord
		if json.Unmarshal(sc.Bytes(), &r) != nil {
			continue // a torn write
		}
		if r.Next != "" {
			if p, err := client.ParseEventPos(r.Next); err == nil {
				next = &p
			}
		}
		if d := r.Delivery; d != nil && d.ID != "" {
			if _, ok := byID[d.ID]; !ok {
				order = append(order, d.ID)
			}
			byID[d.ID] = d
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, client.Errorf(client.KindInternal, "the delivery log %s cannot be read: %v", file, err)
	}
	ds := make([]*Delivery, 0, len(order))
	for _, id := range order {
		ds = append(ds, byID[id])
	}
	return ds, next, nil
}

// ReadDeliveries reads a delivery log (the server may be running: the log
// is only appended to), newest first.
func ReadDeliveries(file string) ([]Delivery, error) {
	ds, _, err := readLog(file)
	if err != nil {
		return nil, err
	}
	out := make([]Delivery, 0, len(ds))
	for i := len(ds) - 1; i >= 0; i-- {
		out = append(out, *ds[i])
	}
	return out, nil
}

// openLog reads the log, rewrites it compacted and opens it to append.
func openLog(file string, noSync bool) (*deliveryLog, error) {
	ds, next, err := readLog(file)
	if err != nil {
		return nil, err
	}
	finished := 0
	for _, d := range ds {
		if d.Status != DeliveryPending {
			finished++
		}
	}
	l := &deliveryLog{file: file, noSync: noSync, byID: map[string]*Delivery{}, next: next}
	var buf bytes.Buffer
	for _, d := range ds {
		if d.Status != DeliveryPending && finished > keepFinished {
			finished--
			continue
		}
		l.byID[d.ID] = d
		l.order = append(l.order, d.ID)
		b, _ := json.Marshal(logRecord{Delivery: d})
		buf.Write(append(b, '\n'))
	}
	if next != nil {
		b, _ := json.Marshal(logRecord{Next: next.String()})
		buf.Write(append(b, '\n'))
	}
	tmp := file + ".tmp"
	if err := writeSynced(tmp, buf.Bytes(), noSync); err != nil {
		return nil, client.Errorf(client.KindInternal, "the delivery log %s cannot be written: %v", file, err)
	}
	if err := os.Rename(tmp, file); err != nil {
		os.Remove(tmp)
		return nil, client.Errorf(client.KindInternal, "the delivery log %s cannot be written: %v", file, err)
	}
	if l.f, err = os.OpenFile(file, os.O_WRONLY|os.O_APPEND, 0o600); err != nil {
		return nil, client.Errorf(client.KindInternal, "the delivery log %s cannot be opened: %v", file, err)
	}
	return l, nil
}

func writeSynced(file string, b []byte, noSync bool) error {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if !noSync {
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// write appends records and applies them; sync says whether to wait for
// the disk.
func (l *deliveryLog) write(sync bool, recs ...logRecord) error {
	var buf bytes.Buffer
	for _, r := range recs {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		buf.Write(append(b, '\n'))
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return client.Errorf(client.KindInternal, "the delivery log %s is closed", l.file)
	}
	if _, err := l.f.Write(buf.Bytes()); err != nil {
		return client.Errorf(client.KindInternal, "the delivery log %s cannot be written: %v", l.file, err)
	}
	if sync && !l.noSync {
		if err := l.f.Sync(); err != nil {
			return client.Errorf(client.KindInternal, "the delivery log %s cannot be synced: %v", l.file, err)
		}
	}
	for _, r := range recs {
		if d := r.Delivery; d != nil {
			if _, ok := l.byID[d.ID]; !ok {
				l.order = append(l.order, d.ID)
			}
			c := *d
			l.byID[d.ID] = &c
		}
		if r.Next != "" {
			p, _ := client.ParseEventPos(r.Next)
			l.next = &p
		}
	}
	return nil
}

func (l *deliveryLog) has(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.byID[id]
	return ok
}

// due is the pending deliveries due at now, oldest first, and the time of
// the next one after (zero: none).
func (l *deliveryLog) due(now time.Time) ([]Delivery, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ds []Delivery
	var next time.Time
	for _, id := range l.order {
		d := l.byID[id]
		if d.Status != DeliveryPending {
			continue
		}
		if !d.NextAttempt.After(now) {
			ds = append(ds, *d)
		} else if next.IsZero() || d.NextAttempt.Before(next) {
			next = d.NextAttempt
		}
	}
	sort.SliceStable(ds, func(i, j int) bool { return ds[i].NextAttempt.Before(ds[j].NextAttempt) })
	return ds, next
}

// list is the deliveries, newest first.
func (l *deliveryLog) list() []Delivery {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Delivery, 0, len(l.order))
	for i := len(l.order) - 1; i >= 0; i-- {
		out = append(out, *l.byID[l.order[i]])
	}
	return out
}

// setNext moves the position in memory only.
func (l *deliveryLog) setNext(p client.EventPos) {
	l.mu.Lock()
	l.next = &p
	l.mu.Unlock()
}

func (l *deliveryLog) nextPos() *client.EventPos {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.next == nil {
		return nil
	}
	p := *l.next
	return &p
}

func (l *deliveryLog) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// ---- the dispatcher ----

// Clock is the time of the webhook dispatcher (a fake one in tests).
type Clock interface {
	Now() time.Time
	// Until returns a channel that receives once the clock reaches t.
	Until(t time.Time) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                     { return time.Now() }
func (realClock) Until(t time.Time) <-chan time.Time { return time.After(time.Until(t)) }

// Backoff is how deliveries are retried: the n-th retry waits Base
// doubled n-1 times, at most Max; after Attempts attempts in all a
// delivery has failed.
type Backoff struct {
	Base     time.Duration
	Max      time.Duration
	Attempts int
}

// DefaultBackoff retries after 10 s, 20 s, 40 s, ... up to an hour apart,
// for 12 attempts in all (about 4.5 hours).
var DefaultBackoff = Backoff{Base: 10 * time.Second, Max: time.Hour, Attempts: 12}

func (b Backoff) delay(attempts int) time.Duration {
	d := b.Base
	for i := 1; i < attempts && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}

// dispatcher follows the events and delivers them to the webhooks.
type dispatcher struct {
	s       *Server
	file    string
	log     *deliveryLog
	clock   Clock
	backoff Backoff
	hc      *http.Client
	wake    chan struct{}
	wg      sync.WaitGroup

	hooksMu sync.Mutex
	hooks   []Webhook
	hooksAt time.Time
	hooksSz int64
	auds    map[string]*audience

	// unsynced counts events handled since the position was last synced.
	unsynced int
}

func newDispatcher(s *Server) (*dispatcher, error) {
	l, err := openLog(DeliveryLogFile(s.o.Webhooks), s.o.NoSync)
	if err != nil {
		return nil, err
	}
	d := &dispatcher{s: s, file: s.o.Webhooks, log: l, clock: s.o.WebhookClock, backoff: s.o.WebhookBackoff,
		hc: s.o.WebhookClient, wake: make(chan struct{}, 1), auds: map[string]*audience{}}
	return d, nil
}

// start runs the dispatcher until ctx ends.
func (d *dispatcher) start(ctx context.Context, src client.EventSource, head *client.EventPos) {
	d.wg.Add(2)
	go func() {
		defer d.wg.Done()
		d.follow(ctx, src, head)
	}()
	go func() {
		defer d.wg.Done()
		d.send(ctx)
	}()
}

// stop waits for the dispatcher, saves the position and closes the log.
func (d *dispatcher) stop() error {
	d.wg.Wait()
	if p := d.log.nextPos(); p != nil && d.unsynced > 0 {
		_ = d.log.write(true, logRecord{Next: p.String()})
	}
	return d.log.close()
}

func (d *dispatcher) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// webhooks is the webhook file, reread when it changed.
func (d *dispatcher) webhooks() []Webhook {
	d.hooksMu.Lock()
	defer d.hooksMu.Unlock()
	fi, err := os.Stat(d.file)
	switch {
	case errors.Is(err, os.ErrNotExist):
		d.hooks, d.hooksAt, d.hooksSz = nil, time.Time{}, 0
	case err != nil:
		// Keep the last good list.
	case !fi.ModTime().Equal(d.hooksAt) || fi.Size() != d.hooksSz:
		if hs, err := ReadWebhooks(d.file); err == nil {
			d.hooks, d.hooksAt, d.hooksSz = hs, fi.ModTime(), fi.Size()
			d.auds = map[string]*audience{}
		}
	}
	return d.hooks
}

func (d *dispatcher) audienceOf(h Webhook) (*audience, error) {
	d.hooksMu.Lock()
	defer d.hooksMu.Unlock()
	if a := d.auds[h.ID]; a != nil {
		return a, nil
	}
	c, err := d.s.clientFor(Token{ID: "webhook:" + h.ID, As: h.As, MSPID: h.MSPID})
	if err != nil {
		return nil, err
	}
	a := &audience{c: c, msp: c.MSPID()}
	d.auds[h.ID] = a
	return a, nil
}

// follow reads the events from the log's position (or head) on, and
// makes their deliveries.
func (d *dispatcher) follow(ctx context.Context, src client.EventSource, head *client.EventPos) {
	for ctx.Err() == nil {
		start := d.log.nextPos()
		if start == nil {
			start = head
		}
		err := src.Events(ctx, start, func(ev client.Event) error { return d.handle(ctx, ev) })
		if ctx.Err() != nil {
			return
		}
		d.s.o.Logf("fedmeter serve: webhooks: the event stream failed, again in 5s: %v", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Second):
		}
	}
}

// handle makes one event's deliveries and moves the position past it.
func (d *dispatcher) handle(ctx context.Context, ev client.Event) error {
	now := d.clock.Now().UTC()
	var recs []logRecord
	var body []byte
	for _, h := range d.webhooks() {
		id := h.ID + "@" + ev.Pos.String()
		typ := eventType(ev.Name)
		if len(h.Events) > 0 && !slices.Contains(h.Events, typ) || d.log.has(id) {
			continue
		}
		aud, err := d.audienceOf(h)
		if err != nil {
			d.s.o.Logf("fedmeter serve: webhook %s acts as %s, which this server cannot act as: %v", h.ID, h.As, err)
			continue
		}
		ok, err := aud.sees(ctx, ev)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if body == nil {
			body, _ = json.Marshal(apiEvent(ev))
		}
		recs = append(recs, logRecord{Delivery: &Delivery{ID: id, Webhook: h.ID, URL: h.URL, Event: ev.Pos.String(), Type: typ,
			MSPID: h.MSPID, Status: DeliveryPending, NextAttempt: now, Created: now, Updated: now, Body: body}})
	}
	next := logRecord{Next: ev.Pos.Next().String()}
	if len(recs) == 0 {
		// Nothing to deliver: the position is written every 1000 events
		// and at stop, not each time (after a crash the events since are
		// read again, and make no delivery twice).
		d.unsynced++
		if d.unsynced%1000 != 0 {
			d.log.setNext(ev.Pos.Next())
			return nil
		}
		return d.log.write(true, next)
	}
	d.unsynced = 0
	if err := d.log.write(true, append(recs, next)...); err != nil {
		return err
	}
	d.poke()
	return nil
}

// send tries the deliveries that are due, then waits for the next one or
// a new delivery.
func (d *dispatcher) send(ctx context.Context) {
	for {
		due, next := d.log.due(d.clock.Now())
		for _, del := range due {
			if ctx.Err() != nil {
				return
			}
			d.attempt(ctx, del)
		}
		if len(due) > 0 {
			continue // time went on while sending
		}
		var timer <-chan time.Time
		if !next.IsZero() {
			timer = d.clock.Until(next)
		}
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
		case <-timer:
		}
	}
}

// attempt POSTs a delivery once and records the outcome.
func (d *dispatcher) attempt(ctx context.Context, del Delivery) {
	var hook *Webhook
	for _, h := range d.webhooks() {
		if h.ID == del.Webhook {
			hook = &h
			break
		}
	}
	now := d.clock.Now().UTC()
	del.Updated = now
	outcome := ""
	if hook == nil {
		del.Status, del.LastError, del.NextAttempt = DeliveryDropped, "the webhook was removed", time.Time{}
		outcome = "dropped"
	} else {
		code, err := d.post(ctx, hook, del, now)
		if ctx.Err() != nil {
			return // shutting down: the attempt does not count, it stays pending
		}
		del.Attempts++
		del.LastCode, del.LastError = code, ""
		switch {
		case err == nil && code >= 200 && code < 300:
			del.Status, del.NextAttempt, outcome = DeliveryDelivered, time.Time{}, "delivered"
		default:
			if err != nil {
				del.LastError = err.Error()
			} else {
				del.LastError = fmt.Sprintf("the receiver answered %d", code)
			}
			if del.Attempts >= d.backoff.Attempts {
				del.Status, del.NextAttempt, outcome = DeliveryFailed, time.Time{}, "failed"
			} else {
				del.NextAttempt, outcome = now.Add(d.backoff.delay(del.Attempts)), "retry"
			}
		}
	}
	if err := d.log.write(true, logRecord{Delivery: &del}); err != nil {
		d.s.o.Logf("fedmeter serve: webhooks: %v", err)
	}
	d.s.metrics.webhookDelivery(outcome)
}

func (d *dispatcher) post(ctx context.Context, h *Webhook, del Delivery, now time.Time) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", h.URL, bytes.NewReader(del.Body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "fedmeter-webhook/1")
	req.Header.Set("Fedmeter-Event", del.Type)
	req.Header.Set("Fedmeter-Event-Id", del.Event)
	req.Header.Set("Fedmeter-Delivery", del.ID)
	req.Header.Set(SignatureHeader, Sign([]byte(h.Secret), now, del.Body))
	res, err := d.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	return res.StatusCode, nil
}

// ---- the API ----

// listDeliveries is GET /api/v1/webhooks/deliveries: an admin's view of
// the deliveries of the webhooks acting as identities of its org.
func (s *Server) listDeliveries(r *http.Request, c *client.Client) (int, any, error) {
	tok := callerOf(r).tok
	if !s.isAdmin(tok) {
		return 0, nil, client.Errorf(client.KindDenied, "only admins may read webhook deliveries; %s is not an admin", tok.As)
	}
	status, err := oneOf(r, "status", DeliveryPending, DeliveryDelivered, DeliveryFailed, DeliveryDropped)
	if err != nil {
		return 0, nil, err
	}
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return 0, nil, badArg("query parameter limit %q is not valid: it must be an integer from 1 to 1000", v)
		}
		limit = n
	}
	hook := r.URL.Query().Get("webhook")
	p := &Page[Delivery]{Items: []Delivery{}}
	if s.hooks == nil {
		return 200, p, nil
	}
	for _, del := range s.hooks.log.list() {
		if del.MSPID != c.MSPID() || status != "" && del.Status != status || hook != "" && !strings.HasPrefix(del.Webhook, hook) {
			continue
		}
		if len(p.Items) == limit {
			break
		}
		p.Items = append(p.Items, del)
	}
	return 200, p, nil
}

// isAdmin reports whether a token's identity has the admin role: on the
// embedded ledger, the role of the folder's identity; on Fabric every
// token acts as the profile's identity, the server's operator.
func (s *Server) isAdmin(t Token) bool {
	if s.emb == nil {
		return true
	}
	org, user, _ := strings.Cut(t.As, "/")
	for _, o := range s.emb.Config().Orgs {
		if o.Name == org && o.MSPID == t.MSPID {
			for _, u := range o.Users {
				if strings.EqualFold(u.Name, user) {
					return u.Role == "admin"
				}
			}
		}
	}
	return false
}
