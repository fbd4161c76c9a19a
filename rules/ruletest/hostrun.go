package ruletest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/fedmeter/fedmeter/host"
)

// engines are the wazero engines every module runs on.
var engines = []host.EngineKind{host.Compiler, host.Interpreter}

// runsPerEngine is how often each vector runs on each engine: twice, so that
// state left over from a call (there must be none) would show.
const runsPerEngine = 2

type wasmRunner struct {
	modules []*host.Module
	labels  []string
}

type labeled struct {
	label string
	out   Outcome
}

func newWasmRunner(t *testing.T, code []byte) (*wasmRunner, error) {
	ctx := context.Background()
	p, err := host.Prepare(code)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	t.Logf("ruletest: prepared %x (profile %s, ABI %d)", p.Hash[:8], p.Profile, p.ABI)
	r := &wasmRunner{}
	for _, e := range engines {
		h, err := host.New(ctx, host.Config{Engine: e})
		if err != nil {
			return nil, fmt.Errorf("host %s: %w", e, err)
		}
		t.Cleanup(func() { h.Close(context.Background()) })
		m, err := h.Load(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("load on %s: %w", e, err)
		}
		r.modules = append(r.modules, m)
		r.labels = append(r.labels, e.String())
	}
	return r, nil
}

// run calls the module on every engine, runsPerEngine times each. A call that
// fails other than by a rule error is an error.
func (r *wasmRunner) run(input []byte, gasLimit uint64) ([]labeled, error) {
	id, at := txOf(input)
	var outs []labeled
	for i, m := range r.modules {
		for n := 1; n <= runsPerEngine; n++ {
			label := fmt.Sprintf("%s run %d", r.labels[i], n)
			res, err := m.Bill(context.Background(), host.Call{Input: input, GasLimit: gasLimit, TxTime: at, TxID: id})
			if err != nil && !errors.Is(err, host.ErrRule) {
				var gas uint64
				var log []byte
				if res != nil {
					gas, log = res.GasUsed, res.Log
				}
				return nil, fmt.Errorf("wasm (%s): %w (gas %d, log %q)", label, err, gas, log)
			}
			outs = append(outs, labeled{label: label, out: Outcome{Output: res.Output, Gas: res.GasUsed}})
		}
	}
	return outs, nil
}
