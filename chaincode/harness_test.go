package chaincode

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fedmeter/fedmeter/chaincode/internal/stubtest"
	"github.com/fedmeter/fedmeter/chaincode/model"
)

// Every test drives the contract through the router (contractapi's
// ContractChaincode.Invoke) on a ledger: today the in-memory
// internal/stubtest, whose Submit/Evaluate have the shape of the embedded
// ledger's, so switching is a change in newEnv only.
type ledger interface {
	Submit(id *stubtest.Identity, fn string, args ...string) (*stubtest.Result, error)
	Evaluate(id *stubtest.Identity, fn string, args ...string) ([]byte, error)
}

// t0 is 2026-01-01T00:00:00Z, where every test's clock starts.
var t0 = time.Unix(1767225600, 0).UTC()

const (
	org1 = "Org1MSP"
	org2 = "Org2MSP"
	org3 = "Org3MSP"
	org4 = "Org4MSP" // not a member unless a test adds it
)

var (
	identsOnce sync.Once
	idents     map[string]*stubtest.Identity
)

// identities returns, per org N in 1..4, "orgN.admin" (OU admin),
// "orgN.user" and "orgN.agent" (OU client).
func identities(tb testing.TB) map[string]*stubtest.Identity {
	identsOnce.Do(func() {
		idents = map[string]*stubtest.Identity{}
		for i, msp := range []string{org1, org2, org3, org4} {
			o, err := stubtest.NewOrg(msp)
			if err != nil {
				panic(err)
			}
			n := "org" + string(rune('1'+i))
			for _, u := range []struct {
				name  string
				admin bool
			}{{"admin", true}, {"user", false}, {"agent", false}} {
				id, err := o.Identity(u.name, u.admin)
				if err != nil {
					panic(err)
				}
				idents[n+"."+u.name] = id
			}
		}
	})
	return idents
}

type env struct {
	tb  testing.TB
	l   *stubtest.Ledger // nil on the embedded ledger
	led ledger
	ids map[string]*stubtest.Identity
	now time.Time // the clock of the next transaction
}

func newEnv(tb testing.TB, opts ...Option) *env {
	tb.Helper()
	cc, err := NewChaincode(opts...)
	if err != nil {
		tb.Fatalf("NewChaincode: %v", err)
	}
	l := stubtest.New(cc, t0)
	return &env{tb: tb, l: l, led: l, ids: identities(tb), now: t0}
}

func (e *env) setTime(t time.Time) {
	e.now = t
	if e.l != nil {
		e.l.SetTime(t)
	}
}

func (e *env) advance(d time.Duration) { e.setTime(e.now.Add(d)) }

func (e *env) snapshot() map[string]string {
	if e.l == nil {
		return nil
	}
	return e.l.Snapshot()
}

func (e *env) id(who string) *stubtest.Identity {
	id := e.ids[who]
	if id == nil {
		e.tb.Fatalf("no identity %q", who)
	}
	return id
}

// submit runs a transaction and returns its payload and event.
func (e *env) submit(who, fn string, args ...string) (string, *stubtest.Event, error) {
	r, err := e.led.Submit(e.id(who), fn, args...)
	if err != nil {
		return "", nil, err
	}
	return string(r.Payload), r.Event, nil
}

// ok submits and fails the test on error.
func (e *env) ok(who, fn string, args ...string) string {
	e.tb.Helper()
	out, _, err := e.submit(who, fn, args...)
	if err != nil {
		e.tb.Fatalf("%s %s(%s): %v", who, fn, short(args), err)
	}
	return out
}

// okEvent submits, requires event name, and returns the payload.
func (e *env) okEvent(event, who, fn string, args ...string) string {
	e.tb.Helper()
	out, ev, err := e.submit(who, fn, args...)
	if err != nil {
		e.tb.Fatalf("%s %s(%s): %v", who, fn, short(args), err)
	}
	if ev == nil || ev.Name != event {
		e.tb.Fatalf("%s %s: event %+v, want %s", who, fn, ev, event)
	}
	return out
}

// fail submits, requires an error containing want, and checks that the
// refused transaction wrote nothing and that its message is one sentence.
func (e *env) fail(want, who, fn string, args ...string) string {
	e.tb.Helper()
	before := e.snapshot()
	out, _, err := e.submit(who, fn, args...)
	if err == nil {
		e.tb.Fatalf("%s %s(%s) succeeded with %s; want error containing %q", who, fn, short(args), out, want)
	}
	var ce *stubtest.Error
	if !errors.As(err, &ce) {
		e.tb.Fatalf("%s %s: error %v is not a chaincode error", who, fn, err)
	}
	if !strings.Contains(err.Error(), want) {
		e.tb.Fatalf("%s %s(%s): error %q does not contain %q", who, fn, short(args), err, want)
	}
	if strings.Contains(err.Error(), "\n") {
		e.tb.Fatalf("%s %s: error spans lines: %q", who, fn, err)
	}
	if r, ok := model.DecodeRefusal(err.Error()); !ok || r.Code == model.CodeInternal {
		e.tb.Fatalf("%s %s(%s): error %q carries no refusal code of the contract's", who, fn, short(args), err)
	}
	if after := e.snapshot(); !reflect.DeepEqual(before, after) {
		e.tb.Fatalf("%s %s: a refused transaction changed the state", who, fn)
	}
	return err.Error()
}

// eval runs a query.
func (e *env) eval(who, fn string, args ...string) string {
	e.tb.Helper()
	b, err := e.led.Evaluate(e.id(who), fn, args...)
	if err != nil {
		e.tb.Fatalf("%s %s(%s): %v", who, fn, short(args), err)
	}
	return string(b)
}

func short(args []string) string {
	s := strings.Join(args, ", ")
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	return s
}

func decode[T any](tb testing.TB, s string) T {
	tb.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		tb.Fatalf("decoding %s: %v", s, err)
	}
	return v
}

func js(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func unix(t time.Time) string { return js(t.Unix()) }

// ---- fixtures ----

const ecsType = `{"name":"ecs","description":"cloud server","spec":["vcpu","memory_gib","system_disk_gib","data_disk_gib","public_ips"],"metrics":["egress_gib","cpu_seconds"]}`
const obsType = `{"name":"obs","description":"object storage bucket","spec":["capacity_gib"],"metrics":["stored_gib_hours","requests"]}`

func wasmFile(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatalf("reading testdata: %v", err)
	}
	return b
}

func hashOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// initConsortium: Org1..3, majority, types ecs and obs.
func (e *env) initConsortium() {
	e.tb.Helper()
	e.okEvent("ConsortiumInitialized", "org1.admin", "ConsortiumInit", js([]string{org1, org2, org3}), "majority", "["+ecsType+","+obsType+"]")
}

// uploadRule uploads a module for ecs as org1.admin (the default upload
// setting lets admins only) and returns its hash.
func (e *env) uploadRule(name, version string, code []byte) string {
	e.tb.Helper()
	return e.uploadRuleAs("org1.admin", name, version, code)
}

// uploadRuleAs uploads a module for ecs as who and returns its hash.
func (e *env) uploadRuleAs(who, name, version string, code []byte) string {
	e.tb.Helper()
	out := e.okEvent("RuleProposed", who, "RuleUpload", name, version, "ecs", "fedmeter tests", "a test rule", b64(code))
	r := decode[Rule](e.tb, out)
	if r.Hash != hashOf(code) || r.Status != RuleProposed {
		e.tb.Fatalf("uploaded rule %+v", r)
	}
	return r.Hash
}

// approveRule gets the approvals of Org1 and Org2 (2 of 3).
func (e *env) approveRule(name, version, hash string) {
	e.tb.Helper()
	e.okEvent("RuleVoted", "org1.admin", "RuleVote", name, version, hash, "approve")
	e.okEvent("RuleDecided", "org2.admin", "RuleVote", name, version, hash, "approve")
}

// activeRule uploads, approves and activates a module for ecs now.
func (e *env) activeRule(name, version string, code []byte) string {
	e.tb.Helper()
	h := e.uploadRule(name, version, code)
	e.approveRule(name, version, h)
	e.okEvent("RuleActivated", "org3.admin", "RuleActivate", "ecs", h, "")
	return h
}

const ecsPrices = `{"currency":"CNY","scale":2,"unit_prices":{"vcpu_hour":12,"memory_gib_hour":3,"disk_gib_hour":1,"public_ip_hour":5,"egress_gib":80}}`
const ecsQuota = `{"max_days":365,"vcpu":10,"memory_gib":40,"system_disk_gib":40,"data_disk_gib":100,"public_ips":2}`
const ecsSpec = `{"vcpu":2,"memory_gib":4,"system_disk_gib":40,"public_ips":1}`

// market sets Org1's ecs prices and Org1's quota for Org2.
func (e *env) market() {
	e.tb.Helper()
	e.ok("org1.admin", "PriceSet", "ecs", ecsPrices, "")
	e.ok("org1.admin", "QuotaSet", org2, ecsQuota)
}

// activeResource has Org2 request id from Org1 and Org1 activate it.
func (e *env) activeResource(id string) Resource {
	e.tb.Helper()
	e.ok("org2.user", "ResourceRequest", id, org1, "ecs", ecsSpec, "30", `{"zone":"bj-1"}`)
	return decode[Resource](e.tb, e.ok("org1.agent", "ResourceActivate", id))
}
