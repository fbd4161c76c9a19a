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

	mu       sync.Mutex
	prepared map[string]*host.Prepared
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

func (w *wasmPricer) preparedFor(rule *Rule, code func() ([]byte, error)) (*host.Prepared, error) {
	w.mu.Lock()
	p := w.prepared[rule.Hash]
	w.mu.Unlock()
	if p != nil {
		return p, nil
	}
	b, err := code()
	if err != nil {
		return nil, err
	}
	p, err = prepare(b)
	if err != nil {
		return nil, fmt.Errorf("rule %s %s no longer prepares on this peer: %v", rule.Name, rule.Version, err)
	}
	if got := hex.EncodeToString(p.Hash[:]); got != rule.PreparedHash {
		return nil, fmt.Errorf("rule %s %s prepares to %s on this peer but to %s (profile %s) at upload; peers must run the same fedmeter release",
			rule.Name, rule.Version, got, rule.PreparedHash, rule.Profile)
	}
	w.mu.Lock()
	if len(w.prepared) >= maxPrepared {
		w.prepared = map[string]*host.Prepared{}
	}
	w.prepared[rule.Hash] = p
	w.mu.Unlock()
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
