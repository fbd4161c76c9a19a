package chaincode

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"github.com/fedmeter/fedmeter/host"
)

// Pricer runs a billing rule on one input. The contract's default is the Wasm
// pricer (package host); tests and benchmarks plug in a native one.
type Pricer interface {
	// Price runs rule on call.Input. code returns the rule's uploaded bytes;
	// an implementation calls it only when it has no prepared copy.
	Price(ctx context.Context, rule *Rule, code func() ([]byte, error), call host.Call) (*host.Result, error)
}

// BillGasLimit is the gas limit of every billing call the contract makes.
const BillGasLimit = host.DefaultGasLimit

// prepare validates and instruments an uploaded module (pure function).
func prepare(code []byte) (*host.Prepared, error) { return host.Prepare(code) }

// wasmPricer runs rules with one process-wide host.Host, created on first use,
// and keeps prepared modules keyed by the uploaded bytes' hash.
type wasmPricer struct {
	once sync.Once
	h    *host.Host
	err  error

	mu        sync.Mutex
	prepared  map[string]*host.Prepared
	preparing map[string]*flight // first uses in progress, by rule hash
}

// maxPrepared bounds the prepared modules kept in memory.
const maxPrepared = 64

var defaultWasm = &wasmPricer{prepared: map[string]*host.Prepared{}}

// WasmPricer returns the process-wide Wasm pricer.
func WasmPricer() Pricer { return defaultWasm }

func (w *wasmPricer) host() (*host.Host, error) {
	w.once.Do(func() {
		w.h, w.err = host.New(context.Background(), host.Config{})
	})
	return w.h, w.err
}

// preparedFor returns the rule's prepared module, preparing it on first
// use. Concurrent first uses prepare it once: after a chaincode service
// starts, every transaction in flight asks for the rule at the same moment,
// and each reading the module (megabytes, through the peer) and preparing
// it (~100 ms of CPU for a Go rule) held the first 128 releases on the seed
// network for over 13 s. A caller that waited for another's preparation
// that failed tries itself: the failure may have been that transaction's.
func (w *wasmPricer) preparedFor(rule *Rule, code func() ([]byte, error)) (*host.Prepared, error) {
	for {
		w.mu.Lock()
		if p := w.prepared[rule.Hash]; p != nil {
			w.mu.Unlock()
			return p, nil
		}
		if f := w.preparing[rule.Hash]; f != nil {
			w.mu.Unlock()
			<-f.done
			if f.err == nil {
				return f.p, nil
			}
			continue
		}
		f := &flight{done: make(chan struct{})}
		if w.preparing == nil {
			w.preparing = map[string]*flight{}
		}
		w.preparing[rule.Hash] = f
		w.mu.Unlock()

		f.p, f.err = prepareRule(rule, code)
		w.mu.Lock()
		delete(w.preparing, rule.Hash)
		if f.err == nil {
			if len(w.prepared) >= maxPrepared {
				w.prepared = map[string]*host.Prepared{}
			}
			w.prepared[rule.Hash] = f.p
		}
		w.mu.Unlock()
		close(f.done)
		return f.p, f.err
	}
}

// flight is a preparation in progress; done is closed when p or err is set.
type flight struct {
	done chan struct{}
	p    *host.Prepared
	err  error
}

func prepareRule(rule *Rule, code func() ([]byte, error)) (*host.Prepared, error) {
	b, err := code()
	if err != nil {
		return nil, err
	}
	p, err := prepare(b)
	if err != nil {
		return nil, fmt.Errorf("rule %s %s no longer prepares on this peer: %v", rule.Name, rule.Version, err)
	}
	if got := hex.EncodeToString(p.Hash[:]); got != rule.PreparedHash {
		return nil, fmt.Errorf("rule %s %s prepares to %s on this peer but to %s (profile %s) at upload; peers must run the same fedmeter release",
			rule.Name, rule.Version, got, rule.PreparedHash, rule.Profile)
	}
	return p, nil
}

func (w *wasmPricer) Price(ctx context.Context, rule *Rule, code func() ([]byte, error), call host.Call) (*host.Result, error) {
	h, err := w.host()
	if err != nil {
		return nil, fmt.Errorf("the Wasm host could not start: %v", err)
	}
	p, err := w.preparedFor(rule, code)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		m, err := h.Load(ctx, p)
		if err != nil {
			return nil, err
		}
		res, err := m.Bill(ctx, call)
		// A module evicted from the host's cache between Load and Bill is
		// loaded again; nothing ran.
		if attempt == 0 && errors.Is(err, host.ErrEvicted) {
			continue
		}
		return res, err
	}
}
