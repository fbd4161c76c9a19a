// Package embedded is the fedmeter client's backend for the embedded
// ledger: the unmodified fedmeter contract, run in-process on a durable
// single-machine ledger (network/embedded) in a directory that Init (the
// fedmeter command's init) creates, acting as one of the directory's local
// identities. Open returns a *Backend, a client.Backend:
//
//	b, err := embedded.Open(".fedmeter", embedded.Options{As: "Org1/Agent1"})
//	if err != nil { ... }
//	defer b.Close()
//	c := client.New(b)
//
// It is a package of its own, not part of package client, because it links
// the contract, the Wasm rule engine (wazero) and bbolt: an app that talks to
// Fabric imports only package client and none of that. Errors are
// *client.Error; Op names the contract transaction that failed, or the
// local operation: "Open", "LoadConfig", "identity" (Options.As names no
// local identity), "LoadIdentity".
package embedded

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fedmeter/fedmeter/chaincode"
	"github.com/fedmeter/fedmeter/cli/client"
	ledger "github.com/fedmeter/fedmeter/network/embedded"
	"github.com/fedmeter/fedmeter/network/msp"
)

// Backend is the client.Backend of the embedded ledger, acting as one of
// the directory's local identities.
//
// Open opens the ledger read-only (a shared lock: any number of processes
// read at once, and a read-only folder is readable) and takes it for
// writing only for each Submit, giving it back right after, so other
// processes read between the transactions of a long import. A Submit waits
// up to Options.Wait for other processes to let go; then it fails with
// client.KindBusy.
type Backend struct {
	dir   string
	cfg   *Config
	h     *ledgerHandle
	owner bool // Close closes the ledger
	who   string
	id    *msp.Identity
	// noSync is how the ledger was opened (NoSync reports it).
	noSync bool
	// reads, when set, records what Evaluate reads (Tracing).
	reads *ledger.ReadSet
	// at is Options.At: the time of every transaction, refused for a
	// write before the ledger's last transaction (reads may look back).
	at time.Time
}

var _ client.Backend = (*Backend)(nil)

// Options configures Open.
type Options struct {
	// As is the identity, "Org/User" (e.g. "Org1/Admin"); empty means the
	// directory's default.
	As string
	// At, when not zero, is the transaction time of every transaction
	// (demos, tests, replaying a story). It cannot go back before the
	// ledger's last transaction. It overrides Clock.
	At time.Time
	// Clock gives transaction times (default time.Now). The ledger keeps
	// them non-decreasing.
	Clock func() time.Time
	// NoSync skips fsync on commit (tests only).
	NoSync bool
	// Wait is how long to wait for another process that holds the ledger
	// (default 2s; negative: not at all); then client.KindBusy.
	Wait time.Duration
}

// Open opens the embedded ledger in dir (created by Init or `fedmeter
// init`; empty: DefaultDataDir).
func Open(dir string, o Options) (*Backend, error) {
	if dir == "" {
		dir = DefaultDataDir()
	}
	if !o.At.IsZero() {
		at := o.At
		o.Clock = func() time.Time { return at }
	}
	cfg, err := LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	who := o.As
	if who == "" {
		who = cfg.DefaultIdentity
	}
	id, err := loadIdentity(dir, cfg, who)
	if err != nil {
		return nil, err
	}
	h := &ledgerHandle{dir: dir, cfg: cfg, clock: o.Clock, noSync: o.NoSync, wait: o.Wait, shared: true, ro: true}
	if h.led, err = h.open(true); err != nil {
		return nil, err
	}
	e := &Backend{dir: dir, cfg: cfg, h: h, owner: true, who: who, id: id, noSync: o.NoSync, at: o.At}
	return e, nil
}

// checkAt refuses a write at a time before the ledger's last transaction:
// time cannot go backwards on a ledger. A read at an earlier time is
// allowed (a demo's or a script's commands replay in any order).
func (e *Backend) checkAt(fn string) error {
	if e.at.IsZero() {
		return nil
	}
	var last time.Time
	if err := e.h.read(func(l *ledger.Ledger) (err error) {
		last, err = lastTxTime(l)
		return err
	}); err != nil {
		return err
	}
	if e.at.Before(last.Truncate(time.Second)) {
		return &client.Error{Kind: client.KindInvalid, Op: fn,
			Msg: fmt.Sprintf("the transaction time %s is before the ledger's last transaction (%s); time cannot go backwards",
				e.at.UTC().Format(time.RFC3339), last.UTC().Format(time.RFC3339)),
			Hint: fmt.Sprintf("give a time at or after %s, or none to use the clock", last.UTC().Format(time.RFC3339))}
	}
	return nil
}

// ledgerHandle is the open ledger that a Backend and its As views share.
// When shared, it is open read-only except while Submits run.
type ledgerHandle struct {
	dir    string
	cfg    *Config
	clock  func() time.Time
	noSync bool
	wait   time.Duration
	shared bool

	mu       sync.RWMutex // Lock to swap led; RLock to use it
	led      *ledger.Ledger
	ro       bool // led is open read-only
	inflight int  // Submits running on led (shared: back to read-only at 0)
	cp       *ledger.Checkpoint
	changed  chan struct{} // closed (and replaced) after each write: Events waits on it
}

func (h *ledgerHandle) open(readOnly bool) (*ledger.Ledger, error) {
	return openLedgerOpts(h.dir, h.cfg, ledger.Options{Clock: h.clock, NoSync: h.noSync, ReadOnly: readOnly, Wait: h.wait, Since: h.cp})
}

// swap closes the current ledger and opens it again, read-only or not.
// Called with mu held.
func (h *ledgerHandle) swap(readOnly bool) error {
	if h.led != nil {
		if err := h.led.Close(); err != nil {
			return client.Errorf(client.KindLedger, "closing the ledger in %s failed: %v", h.dir, errText(err))
		}
		h.cp = h.led.Checkpoint()
		h.led = nil
	}
	led, err := h.open(readOnly)
	if err != nil {
		return err
	}
	h.led, h.ro = led, readOnly
	return nil
}

// read runs f on the open ledger (reopening it if a swap failed).
func (h *ledgerHandle) read(f func(*ledger.Ledger) error) error {
	h.mu.RLock()
	if h.led == nil {
		h.mu.RUnlock()
		h.mu.Lock()
		if h.led == nil {
			if err := h.swap(true); err != nil {
				h.mu.Unlock()
				return err
			}
		}
		h.mu.Unlock()
		h.mu.RLock()
	}
	defer h.mu.RUnlock()
	return f(h.led)
}

// write runs f on the ledger open for writing.
func (h *ledgerHandle) write(f func(*ledger.Ledger) error) error {
	h.mu.Lock()
	if h.led == nil || h.ro {
		if err := h.swap(false); err != nil {
			h.mu.Unlock()
			return err
		}
	}
	h.inflight++
	led := h.led
	h.mu.Unlock()
	err := f(led)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.changed != nil {
		close(h.changed)
		h.changed = nil
	}
	if h.inflight--; h.inflight == 0 && h.shared {
		// Give the lock back; if reopening read-only fails (another
		// writer took it), the next read reopens.
		if serr := h.swap(true); serr != nil {
			h.led = nil
		}
	}
	return err
}

func (h *ledgerHandle) close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.led == nil {
		return nil
	}
	err := h.led.Close()
	h.led = nil
	return err
}

// DefaultDataDir is $FEDMETER_DATA, or ./.fedmeter.
func DefaultDataDir() string {
	if d := os.Getenv("FEDMETER_DATA"); d != "" {
		return d
	}
	return ".fedmeter"
}

func loadIdentity(dir string, cfg *Config, who string) (*msp.Identity, error) {
	idDir, err := cfg.identityDir(dir, who)
	if err != nil {
		return nil, err
	}
	id, err := msp.LoadIdentity(idDir)
	if err != nil {
		e := client.Errorf(client.KindInvalid, "the identity %s cannot be loaded: %v", who, errText(err)).
			WithHint("its MSP folder is %s; recreate the ledger directory if it was damaged", idDir)
		e.Op = "LoadIdentity"
		return nil, e
	}
	return id, nil
}

// ruleCacheDir is where the embedded backend keeps the rules it ran and
// wazero's compiled code, so that a command that bills does not compile the
// rule again (about 1.5 s for a 2 MB Go rule; 0.1-0.2 s from the cache): the
// ledger folder's cache/, or, if that cannot be written (a read-only ledger
// folder), the user's cache folder, or nothing. What a rule computes never
// depends on the cache: modules are checked against their hash when read.
func ruleCacheDir(dir string) string {
	candidates := []string{filepath.Join(dir, "cache")}
	if uc, err := os.UserCacheDir(); err == nil {
		candidates = append(candidates, filepath.Join(uc, "fedmeter", "rules"))
	}
	for _, c := range candidates {
		if writableDir(c) {
			return c
		}
	}
	return ""
}

// writableDir makes dir if need be and reports whether a file can be
// created in it.
func writableDir(dir string) bool {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false
	}
	f, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		return false
	}
	name := f.Name()
	f.Close()
	return os.Remove(name) == nil
}

func openLedger(dir string, cfg *Config, clock func() time.Time, noSync bool) (*ledger.Ledger, error) {
	return openLedgerOpts(dir, cfg, ledger.Options{Clock: clock, NoSync: noSync})
}

// contracts holds one contract per rule cache folder for the life of the
// process: the ledger is reopened for every write transaction, and a new
// contract would bring a new rule host, which loads every rule it runs
// again (~0.1-0.2 s each from the cache, ~1.5 s without).
var contracts sync.Map // rule cache folder -> *chaincode.Chaincode

func contractFor(dir string) (*chaincode.Chaincode, error) {
	cache := ruleCacheDir(dir)
	if cc, ok := contracts.Load(cache); ok {
		return cc.(*chaincode.Chaincode), nil
	}
	opts := []chaincode.Option{chaincode.WithRuleObserver(notifyRuleCall)}
	if cache != "" {
		opts = append(opts, chaincode.WithPricer(chaincode.NewWasmPricer(cache)))
	}
	cc, err := chaincode.NewChaincode(opts...)
	if err != nil {
		return nil, err
	}
	got, _ := contracts.LoadOrStore(cache, cc)
	return got.(*chaincode.Chaincode), nil
}

// ruleObservers are the functions ObserveRuleCalls registered.
var ruleObservers struct {
	sync.RWMutex
	next int
	fs   map[int]func(chaincode.RuleCall)
}

// ObserveRuleCalls has every rule call that this process's embedded ledgers
// run reported to f, until stop is called: fedmeter serve exports them as
// metrics. The contracts are shared by the process (see contractFor), so
// the observers are too. f runs on the transaction's goroutine and must not
// block.
func ObserveRuleCalls(f func(chaincode.RuleCall)) (stop func()) {
	ruleObservers.Lock()
	defer ruleObservers.Unlock()
	if ruleObservers.fs == nil {
		ruleObservers.fs = map[int]func(chaincode.RuleCall){}
	}
	id := ruleObservers.next
	ruleObservers.next++
	ruleObservers.fs[id] = f
	return func() {
		ruleObservers.Lock()
		defer ruleObservers.Unlock()
		delete(ruleObservers.fs, id)
	}
}

func notifyRuleCall(c chaincode.RuleCall) {
	ruleObservers.RLock()
	defer ruleObservers.RUnlock()
	for _, f := range ruleObservers.fs {
		f(c)
	}
}

func openLedgerOpts(dir string, cfg *Config, o ledger.Options) (*ledger.Ledger, error) {
	cc, err := contractFor(dir)
	if err != nil {
		return nil, client.Errorf(client.KindInternal, "the fedmeter contract could not be loaded: %v", errText(err))
	}
	o.ChannelID, o.ChaincodeName = cfg.Channel, cfg.Chaincode
	led, err := ledger.Open(filepath.Join(dir, ledgerDir), cc, o)
	if err != nil {
		if errors.Is(err, ledger.ErrBusy) {
			return nil, &client.Error{Kind: client.KindBusy, Op: "Open", Msg: "the ledger in " + dir + " is busy: another process is using it", Err: err,
				Hint: "try again once the other process is done, or open with a longer Options.Wait"}
		}
		return nil, &client.Error{Kind: client.KindLedger, Op: "Open", Msg: "the ledger in " + dir + " cannot be opened: " + strings.TrimPrefix(errText(err), "embedded: "), Err: err}
	}
	return led, nil
}

// As returns a view of the same open ledger acting as another local
// identity ("Org/User"). Closing the view does not close the ledger.
func (e *Backend) As(who string) (*Backend, error) {
	id, err := loadIdentity(e.dir, e.cfg, who)
	if err != nil {
		return nil, err
	}
	return &Backend{dir: e.dir, cfg: e.cfg, h: e.h, who: who, id: id, noSync: e.noSync, at: e.at}, nil
}

// Submit runs a transaction and returns its payload once it is committed.
func (e *Backend) Submit(ctx context.Context, fn string, args ...string) ([]byte, error) {
	if err := e.checkAt(fn); err != nil {
		return nil, err
	}
	var r *ledger.Result
	err := e.h.write(func(l *ledger.Ledger) (err error) {
		r, err = l.Submit(ctx, e.id, fn, args...)
		return err
	})
	if err != nil {
		return nil, e.wrap(fn, err)
	}
	return r.Payload, nil
}

// Evaluate runs a query on committed state.
func (e *Backend) Evaluate(ctx context.Context, fn string, args ...string) ([]byte, error) {
	var b []byte
	err := e.h.read(func(l *ledger.Ledger) (err error) {
		b, err = l.EvaluateReads(ctx, e.reads, e.id, fn, args...)
		return err
	})
	if err != nil {
		return nil, e.wrap(fn, err)
	}
	return b, nil
}

func (e *Backend) wrap(fn string, err error) error {
	var ke *client.Error
	if errors.As(err, &ke) {
		return err
	}
	var ce *ledger.ChaincodeError
	if errors.As(err, &ce) {
		return client.RefusalError(fn, ce.Message, ce.TxID, err)
	}
	if errors.Is(err, ledger.ErrTampered) {
		return &client.Error{Kind: client.KindMismatch, Op: fn, Msg: "the ledger in " + e.dir + " refuses to run " + fn + ": " + strings.TrimPrefix(errText(err), "embedded: "), Err: err,
			Hint: "verifying the ledger (Ledger().Verify, fedmeter ledger verify) names the first altered block or record; restore the ledger folder from a copy"}
	}
	if errors.Is(err, ledger.ErrIdentity) {
		return &client.Error{Kind: client.KindDenied, Op: fn, Msg: "the ledger refuses the identity " + e.who + ": " + strings.TrimPrefix(errText(err), "embedded: identity refused: "), Err: err,
			Hint: "an identity must be issued by the certificate authority of the org it claims (its MSP folder's cacerts, recorded on the ledger by init or org add)"}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &client.Error{Kind: client.KindLedger, Op: fn, Msg: fn + " was interrupted before it ran", Err: err}
	}
	return &client.Error{Kind: client.KindLedger, Op: fn, Msg: "the embedded ledger failed to run " + fn + ": " + strings.TrimPrefix(errText(err), "embedded: "), Err: err}
}

// MSPID is the identity's MSP ID.
func (e *Backend) MSPID() string { return e.id.MSPID }

// Who is the identity, "Org/User".
func (e *Backend) Who() string { return e.who }

// Close closes the ledger (a view made by As closes nothing).
func (e *Backend) Close() error {
	if !e.owner {
		return nil
	}
	return e.h.close()
}

// Ledger is the open embedded ledger, for Verify, History and blocks. A
// Submit may reopen it (see Backend): use it for reading, between Submits.
func (e *Backend) Ledger() *ledger.Ledger {
	var led *ledger.Ledger
	_ = e.h.read(func(l *ledger.Ledger) error { led = l; return nil })
	return led
}

// Config is the directory's configuration.
func (e *Backend) Config() *Config { return e.cfg }

// Dir is the ledger directory.
func (e *Backend) Dir() string { return e.dir }

// LastTxTime is the timestamp of the last committed transaction (zero on an
// empty ledger).
func (e *Backend) LastTxTime() (time.Time, error) {
	led := e.Ledger()
	if led == nil {
		return time.Time{}, client.Errorf(client.KindLedger, "the ledger in %s is not open", e.dir)
	}
	return lastTxTime(led)
}

// lastTxTime is the timestamp of led's last block (zero when empty).
func lastTxTime(led *ledger.Ledger) (time.Time, error) {
	h, _, err := led.Height()
	if err != nil {
		return time.Time{}, client.Errorf(client.KindLedger, "the ledger's height cannot be read: %v", errText(err))
	}
	if h == 0 {
		return time.Time{}, nil
	}
	b, err := led.Block(h - 1)
	if err != nil {
		return time.Time{}, client.Errorf(client.KindLedger, "block %d cannot be read: %v", h-1, errText(err))
	}
	return b.Timestamp, nil
}

// InitOptions configures Init.
type InitOptions struct {
	// Orgs are the founding members, the first one creating the consortium
	// (default Org1, Org2, Org3 with MSP IDs Org1MSP, ...).
	Orgs []OrgSpec
	// Policy is the approval policy: majority (default), all, any or
	// threshold:N.
	Policy string
	// Types is the resource-type catalog (default DefaultTypes).
	Types []chaincode.TypeDef
	// Clock gives the transaction time of ConsortiumInit (default time.Now).
	Clock func() time.Time
	// NoSync skips fsync (tests only).
	NoSync bool
}

// DefaultOrgs are the seed's three orgs.
var DefaultOrgs = []OrgSpec{{"Org1", "Org1MSP"}, {"Org2", "Org2MSP"}, {"Org3", "Org3MSP"}}

// Init creates an embedded ledger in dir: the orgs' CAs and
// identities (Admin, User1, Agent1 each), fedmeter.yaml, and the consortium
// (ConsortiumInit by the first org's Admin). dir must not hold a ledger yet.
// On failure it removes what it created.
func Init(ctx context.Context, dir string, o InitOptions) (*chaincode.Consortium, error) {
	if dir == "" {
		dir = DefaultDataDir()
	}
	if len(o.Orgs) == 0 {
		o.Orgs = DefaultOrgs
	}
	if o.Types == nil {
		o.Types = DefaultTypes
	}
	if fileExists(filepath.Join(dir, ConfigFile)) || fileExists(filepath.Join(dir, ledgerDir)) {
		return nil, client.Errorf(client.KindInvalid, "%s already holds a fedmeter ledger", dir).
			WithHint("use it as it is, choose another directory, or delete %s to start over", dir)
	}
	seenName, seenID := map[string]bool{}, map[string]bool{}
	members := make([]string, 0, len(o.Orgs))
	for _, org := range o.Orgs {
		if err := org.check(); err != nil {
			return nil, err
		}
		if seenName[strings.ToLower(org.Name)] || seenID[org.MSPID] {
			return nil, client.Errorf(client.KindInvalid, "org %s (%s) is given twice", org.Name, org.MSPID).
				WithHint("give each org a different name and MSP ID")
		}
		seenName[strings.ToLower(org.Name)], seenID[org.MSPID] = true, true
		members = append(members, org.MSPID)
	}
	types, err := json.Marshal(o.Types)
	if err != nil {
		return nil, client.Errorf(client.KindInvalid, "the type catalog cannot be encoded: %v", err)
	}
	fresh := !fileExists(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, client.Errorf(client.KindInvalid, "the ledger directory %s cannot be created: %v", dir, errText(err))
	}
	ok := false
	defer func() {
		if ok {
			return
		}
		if fresh {
			os.RemoveAll(dir)
			return
		}
		os.RemoveAll(filepath.Join(dir, ledgerDir))
		os.RemoveAll(filepath.Join(dir, orgsDir))
		os.Remove(filepath.Join(dir, ConfigFile))
	}()
	cfg := &Config{Channel: ledger.DefaultChannelID, Chaincode: chaincode.ContractName}
	for _, org := range o.Orgs {
		oc, err := generateOrg(dir, org)
		if err != nil {
			return nil, err
		}
		cfg.Orgs = append(cfg.Orgs, oc)
	}
	cfg.DefaultIdentity = cfg.Orgs[0].Name + "/Admin"
	id, err := loadIdentity(dir, cfg, cfg.DefaultIdentity)
	if err != nil {
		return nil, err
	}
	led, err := openLedger(dir, cfg, o.Clock, o.NoSync)
	if err != nil {
		return nil, err
	}
	e := &Backend{dir: dir, cfg: cfg, h: &ledgerHandle{dir: dir, cfg: cfg, clock: o.Clock, noSync: o.NoSync, led: led}, owner: true, who: cfg.DefaultIdentity, id: id}
	for _, oc := range cfg.Orgs {
		if err := defineOrg(ctx, dir, led, id, oc); err != nil {
			e.Close()
			return nil, err
		}
	}
	policy := o.Policy
	if policy == "" {
		policy = "majority"
	}
	out, err := e.Submit(ctx, "ConsortiumInit", strings.Join(members, ","), policy, string(types))
	if cerr := e.Close(); err == nil && cerr != nil {
		err = client.Errorf(client.KindLedger, "closing the new ledger failed: %v", errText(cerr))
	}
	if err != nil {
		return nil, err
	}
	var cons chaincode.Consortium
	if err := json.Unmarshal(out, &cons); err != nil {
		return nil, client.Errorf(client.KindInternal, "ConsortiumInit returned an unreadable consortium: %v", err)
	}
	if err := cfg.save(dir); err != nil {
		return nil, err
	}
	ok = true
	return &cons, nil
}

// defineOrg records the org's root certificates (its MSP folder's cacerts)
// on the ledger, so that only identities its CA issued act as the org
// (network/embedded, "Identities").
func defineOrg(ctx context.Context, dir string, led *ledger.Ledger, as *msp.Identity, oc OrgConfig) error {
	cadir := filepath.Join(dir, orgsDir, oc.Domain, "msp", "cacerts")
	ents, err := os.ReadDir(cadir)
	var roots []byte
	for _, ent := range ents {
		b, rerr := os.ReadFile(filepath.Join(cadir, ent.Name()))
		if rerr != nil {
			err = rerr
			break
		}
		roots = append(roots, b...)
	}
	if err == nil {
		_, err = led.DefineMSP(ctx, as, oc.MSPID, roots)
	}
	if err != nil {
		return client.Errorf(client.KindLedger, "recording the certificate authority of %s (%s) on the ledger failed: %s", oc.Name, oc.MSPID, strings.TrimPrefix(errText(err), "embedded: ")).
			WithHint("its root certificates are in %s", cadir)
	}
	return nil
}

// Tracing returns a view of e whose queries record what they read in rs,
// for Prove (the offline verifier checks the ledger data a bill was
// recomputed from). Closing the view closes nothing.
func (e *Backend) Tracing(rs *ledger.ReadSet) *Backend {
	v := *e
	v.owner, v.reads = false, rs
	return &v
}

// Prove checks that every state entry in rs (read through a Tracing view)
// is what the block that last wrote it wrote, and that those blocks chain to
// the ledger's head, or to head when it is not nil (network/embedded's
// Ledger.Prove).
func (e *Backend) Prove(rs *ledger.ReadSet, head *[32]byte) (p *ledger.Proof, err error) {
	err = e.h.read(func(l *ledger.Ledger) error {
		p, err = l.Prove(rs, head)
		return err
	})
	return p, err
}

// Over returns a backend acting as e's identity on another open ledger led
// (fmbench runs a baseline contract on one beside e's); its Close closes
// led. Its Dir is led's folder, dir.
func (e *Backend) Over(dir string, led *ledger.Ledger) *Backend {
	return &Backend{dir: dir, cfg: e.cfg, h: &ledgerHandle{dir: dir, cfg: e.cfg, noSync: e.noSync, led: led}, owner: true, who: e.who, id: e.id, noSync: e.noSync}
}

// NoSync reports whether the ledger was opened without fsync on commit.
func (e *Backend) NoSync() bool { return e.noSync }

// errText is an underlying error's text for use inside one of our
// sentences: its first line, without a trailing period.
func errText(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSuffix(strings.TrimSpace(s), ".")
}
