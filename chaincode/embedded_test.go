package chaincode

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/fedmeter/fedmeter/chaincode/internal/stubtest"
	"github.com/fedmeter/fedmeter/network/embedded"
	"github.com/fedmeter/fedmeter/network/msp"
	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
)

// embeddedLedger runs the tests' transactions on network/embedded, the
// durable single-machine ledger, with identities from network/msp.
type embeddedLedger struct {
	l   *embedded.Ledger
	ids map[*stubtest.Identity]*msp.Identity
}

func (el *embeddedLedger) Submit(id *stubtest.Identity, fn string, args ...string) (*stubtest.Result, error) {
	r, err := el.l.Submit(context.Background(), el.ids[id], fn, args...)
	if err != nil {
		return nil, chaincodeErr(err)
	}
	res := &stubtest.Result{TxID: r.TxID, Payload: r.Payload}
	if len(r.Events) > 0 {
		res.Event = &stubtest.Event{Name: r.Events[0].Name, Payload: r.Events[0].Payload}
	}
	return res, nil
}

func (el *embeddedLedger) Evaluate(id *stubtest.Identity, fn string, args ...string) ([]byte, error) {
	b, err := el.l.Evaluate(context.Background(), el.ids[id], fn, args...)
	return b, chaincodeErr(err)
}

func chaincodeErr(err error) error {
	var ce *embedded.ChaincodeError
	if errors.As(err, &ce) {
		return &stubtest.Error{TxID: ce.TxID, Status: ce.Status, Message: ce.Message}
	}
	return err
}

// newEmbeddedEnv is newEnv on the embedded ledger: the same identities (by
// name, issued by network/msp CAs) and a clock the test sets.
func newEmbeddedEnv(tb testing.TB, opts ...Option) *env {
	tb.Helper()
	return newEmbeddedEnvSync(tb, false, opts...)
}

// newEmbeddedEnvSync is newEmbeddedEnv with fsync on every commit if sync is
// set, as a user's ledger has it (tests leave it off for speed).
func newEmbeddedEnvSync(tb testing.TB, sync bool, opts ...Option) *env {
	tb.Helper()
	cc, err := NewChaincode(opts...)
	if err != nil {
		tb.Fatalf("NewChaincode: %v", err)
	}
	return newEmbeddedEnvCC(tb, sync, cc)
}

// newEmbeddedEnvCC is newEmbeddedEnvSync running cc, a chaincode that
// wraps the contract's (benchmarks seed state through one).
func newEmbeddedEnvCC(tb testing.TB, sync bool, cc shim.Chaincode) *env {
	tb.Helper()
	var err error
	e := &env{tb: tb, ids: identities(tb), now: t0}
	el := &embeddedLedger{ids: map[*stubtest.Identity]*msp.Identity{}}
	cas := map[string]*msp.CA{}
	for name, id := range e.ids {
		ca := cas[id.MSPID]
		if ca == nil {
			if ca, err = msp.NewCA(id.MSPID, id.MSPID+".example.com"); err != nil {
				tb.Fatal(err)
			}
			cas[id.MSPID] = ca
		}
		role := msp.RoleMember
		if id.Admin {
			role = msp.RoleAdmin
		}
		mid, err := ca.Issue(msp.UserSpec{Name: name[len("orgN."):], Role: role})
		if err != nil {
			tb.Fatal(err)
		}
		el.ids[id] = mid
	}
	el.l, err = embedded.Open(tb.TempDir(), cc, embedded.Options{NoSync: !sync, Clock: func() time.Time { return e.now }})
	if err != nil {
		tb.Fatalf("embedded.Open: %v", err)
	}
	tb.Cleanup(func() { el.l.Close() })
	e.led = el
	return e
}

// forLedgers runs f as subtest name/stub and name/embedded.
func forLedgers(t *testing.T, name string, f func(t *testing.T, e *env)) {
	t.Run(name, func(t *testing.T) {
		t.Run("stub", func(t *testing.T) { f(t, newEnv(t)) })
		t.Run("embedded", func(t *testing.T) { f(t, newEmbeddedEnv(t)) })
	})
}
