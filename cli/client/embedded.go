package client

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fedmeter/fedmeter/chaincode"
	"github.com/fedmeter/fedmeter/network/embedded"
	"github.com/fedmeter/fedmeter/network/msp"
)

// Embedded is the Backend of the embedded ledger: the unmodified fedmeter
// contract on a durable local ledger (network/embedded), acting as one of
// the directory's local identities. One process at a time may hold a
// ledger directory open.
type Embedded struct {
	dir   string
	cfg   *Config
	led   *embedded.Ledger
	owner bool // Close closes the ledger
	who   string
	id    *msp.Identity
	// noSync is how the ledger was opened (OpenBaseline opens its own alike).
	noSync bool
}

// EmbeddedOptions configures OpenEmbedded.
type EmbeddedOptions struct {
	// As is the identity, "Org/User"; empty means the directory's default.
	As string
	// Clock gives transaction times (default time.Now). The ledger keeps
	// them non-decreasing.
	Clock func() time.Time
	// NoSync skips fsync on commit (tests only).
	NoSync bool
}

// OpenEmbedded opens the embedded ledger in dir (created by InitEmbedded or
// `fedmeter init`).
func OpenEmbedded(dir string, o EmbeddedOptions) (*Embedded, error) {
	if dir == "" {
		dir = DefaultDataDir()
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
	led, err := openLedger(dir, cfg, o.Clock, o.NoSync)
	if err != nil {
		return nil, err
	}
	return &Embedded{dir: dir, cfg: cfg, led: led, owner: true, who: who, id: id, noSync: o.NoSync}, nil
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
		return nil, Errorf(KindInvalid, "the identity %s cannot be loaded: %v", who, errText(err)).
			WithHint("its MSP folder is %s; recreate the ledger directory if it was damaged", idDir)
	}
	return id, nil
}

func openLedger(dir string, cfg *Config, clock func() time.Time, noSync bool) (*embedded.Ledger, error) {
	cc, err := chaincode.NewChaincode()
	if err != nil {
		return nil, Errorf(KindRule, "the fedmeter contract could not be loaded: %v", errText(err))
	}
	led, err := embedded.Open(filepath.Join(dir, ledgerDir), cc, embedded.Options{
		ChannelID: cfg.Channel, ChaincodeName: cfg.Chaincode, Clock: clock, NoSync: noSync,
	})
	if err != nil {
		e := Errorf(KindRule, "the ledger in %s cannot be opened: %s", dir, strings.TrimPrefix(errText(err), "embedded: "))
		if strings.Contains(err.Error(), "in use by another process") {
			e.Hint = "wait for the other fedmeter command to finish; one process at a time may use an embedded ledger"
		}
		return nil, e
	}
	return led, nil
}

// As returns a view of the same open ledger acting as another local
// identity ("Org/User"). Closing the view does not close the ledger.
func (e *Embedded) As(who string) (*Embedded, error) {
	id, err := loadIdentity(e.dir, e.cfg, who)
	if err != nil {
		return nil, err
	}
	return &Embedded{dir: e.dir, cfg: e.cfg, led: e.led, who: who, id: id, noSync: e.noSync}, nil
}

// Submit runs a transaction and returns its payload once it is committed.
func (e *Embedded) Submit(ctx context.Context, fn string, args ...string) ([]byte, error) {
	r, err := e.led.Submit(ctx, e.id, fn, args...)
	if err != nil {
		return nil, e.wrap(fn, err)
	}
	return r.Payload, nil
}

// Evaluate runs a query on committed state.
func (e *Embedded) Evaluate(ctx context.Context, fn string, args ...string) ([]byte, error) {
	b, err := e.led.Evaluate(ctx, e.id, fn, args...)
	if err != nil {
		return nil, e.wrap(fn, err)
	}
	return b, nil
}

func (e *Embedded) wrap(fn string, err error) error {
	var ce *embedded.ChaincodeError
	if errors.As(err, &ce) {
		return contractError(fn, ce.Message, ce.TxID, err)
	}
	if errors.Is(err, embedded.ErrTampered) {
		return &Error{Kind: KindMismatch, Op: fn, Msg: "the ledger in " + e.dir + " refuses to run " + fn + ": " + strings.TrimPrefix(errText(err), "embedded: "), Err: err,
			Hint: "fedmeter ledger verify names the first altered block or record; restore the ledger folder from a copy"}
	}
	if errors.Is(err, embedded.ErrIdentity) {
		return &Error{Kind: KindDenied, Op: fn, Msg: "the ledger refuses the identity " + e.who + ": " + strings.TrimPrefix(errText(err), "embedded: identity refused: "), Err: err,
			Hint: "an identity must be issued by the certificate authority of the org it claims (its MSP folder's cacerts, recorded on the ledger by init or org add)"}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &Error{Kind: KindRule, Op: fn, Msg: fn + " was interrupted before it ran", Err: err}
	}
	return &Error{Kind: KindRule, Op: fn, Msg: "the embedded ledger failed to run " + fn + ": " + strings.TrimPrefix(errText(err), "embedded: "), Err: err}
}

// MSPID is the identity's MSP ID.
func (e *Embedded) MSPID() string { return e.id.MSPID }

// Who is the identity, "Org/User".
func (e *Embedded) Who() string { return e.who }

// Close closes the ledger (a view made by As closes nothing).
func (e *Embedded) Close() error {
	if !e.owner {
		return nil
	}
	return e.led.Close()
}

// Ledger is the open embedded ledger, for Verify, History and blocks.
func (e *Embedded) Ledger() *embedded.Ledger { return e.led }

// Config is the directory's configuration.
func (e *Embedded) Config() *Config { return e.cfg }

// Dir is the ledger directory.
func (e *Embedded) Dir() string { return e.dir }

// LastTxTime is the timestamp of the last committed transaction (zero on an
// empty ledger).
func (e *Embedded) LastTxTime() (time.Time, error) {
	h, _, err := e.led.Height()
	if err != nil {
		return time.Time{}, Errorf(KindRule, "the ledger's height cannot be read: %v", errText(err))
	}
	if h == 0 {
		return time.Time{}, nil
	}
	b, err := e.led.Block(h - 1)
	if err != nil {
		return time.Time{}, Errorf(KindRule, "block %d cannot be read: %v", h-1, errText(err))
	}
	return b.Timestamp, nil
}

// InitOptions configures InitEmbedded.
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

// InitEmbedded creates an embedded ledger in dir: the orgs' CAs and
// identities (Admin, User1, Agent1 each), fedmeter.yaml, and the consortium
// (ConsortiumInit by the first org's Admin). dir must not hold a ledger yet.
// On failure it removes what it created.
func InitEmbedded(ctx context.Context, dir string, o InitOptions) (*chaincode.Consortium, error) {
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
		return nil, Errorf(KindInvalid, "%s already holds a fedmeter ledger", dir).
			WithHint("use it as it is, pick another directory with --data, or delete %s to start over", dir)
	}
	seenName, seenID := map[string]bool{}, map[string]bool{}
	members := make([]string, 0, len(o.Orgs))
	for _, org := range o.Orgs {
		if err := org.check(); err != nil {
			return nil, err
		}
		if seenName[strings.ToLower(org.Name)] || seenID[org.MSPID] {
			return nil, Errorf(KindInvalid, "org %s (%s) is given twice", org.Name, org.MSPID).
				WithHint("give each org a different name and MSP ID")
		}
		seenName[strings.ToLower(org.Name)], seenID[org.MSPID] = true, true
		members = append(members, org.MSPID)
	}
	types, err := json.Marshal(o.Types)
	if err != nil {
		return nil, Errorf(KindInvalid, "the type catalog cannot be encoded: %v", err)
	}
	fresh := !fileExists(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, Errorf(KindInvalid, "the ledger directory %s cannot be created: %v", dir, errText(err))
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
	cfg := &Config{Channel: embedded.DefaultChannelID, Chaincode: chaincode.ContractName}
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
	e := &Embedded{dir: dir, cfg: cfg, led: led, owner: true, who: cfg.DefaultIdentity, id: id}
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
		err = Errorf(KindRule, "closing the new ledger failed: %v", errText(cerr))
	}
	if err != nil {
		return nil, err
	}
	var cons chaincode.Consortium
	if err := json.Unmarshal(out, &cons); err != nil {
		return nil, Errorf(KindRule, "ConsortiumInit returned an unreadable consortium: %v", err)
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
func defineOrg(ctx context.Context, dir string, led *embedded.Ledger, as *msp.Identity, oc OrgConfig) error {
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
		return Errorf(KindRule, "recording the certificate authority of %s (%s) on the ledger failed: %s", oc.Name, oc.MSPID, strings.TrimPrefix(errText(err), "embedded: ")).
			WithHint("its root certificates are in %s", cadir)
	}
	return nil
}
