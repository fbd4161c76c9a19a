package host_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/fedmeter/fedmeter/host"
)

// FuzzPrepare: preparation never panics on any bytes, is deterministic, and
// whatever it accepts wazero's optimizing compiler compiles too.
//
//	go test -run '^$' -fuzz FuzzPrepare -fuzztime 60s ./host/   (make fuzz)
func FuzzPrepare(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "hostile", "*.wasm"))
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler().WithCoreFeatures(api.CoreFeaturesV2))
	defer rt.Close(ctx)
	f.Fuzz(func(t *testing.T, code []byte) {
		p, err := host.Prepare(code)
		if err != nil {
			return
		}
		again, err := host.Prepare(code)
		if err != nil || again.Hash != p.Hash {
			t.Fatalf("preparation is not deterministic: %v", err)
		}
		cm, err := rt.CompileModule(ctx, p.Code)
		if err != nil {
			t.Fatalf("prepared module does not compile: %v", err)
		}
		cm.Close(ctx)
	})
}

// FuzzEngines: whatever Prepare accepts runs the same in both engines, the
// promise every endorsing peer relies on: the same output, log and gas to
// the unit, or the same typed error, and never more gas than the limit.
// The seeds are the hostile corpus and the benchmark rules; the fuzzer's
// mutations of them (other constants, operators, branch targets, section
// sizes) are modules nobody here wrote. Budgets are small so that a
// mutated loop ends quickly.
//
//	go test -run '^$' -fuzz FuzzEngines -fuzztime 60s ./host/   (make fuzz)
func FuzzEngines(f *testing.F) {
	for _, pattern := range []string{"hostile/*.wasm", "bench/*.wasm"} {
		seeds, _ := filepath.Glob(filepath.Join("testdata", pattern))
		for _, s := range seeds {
			if b, err := os.ReadFile(s); err == nil {
				f.Add(b)
			}
		}
	}
	const gasLimit = 2_000_000
	prof := host.ProfileV1()
	prof.InitGas = 20_000_000
	var hosts []*host.Host
	for _, k := range engines {
		hosts = append(hosts, newHost(f, host.Config{Engine: k, Profile: &prof}))
	}
	ctx := context.Background()
	run := func(t *testing.T, h *host.Host, p *host.Prepared) outcome {
		m, err := h.Load(ctx, p)
		if err != nil {
			if !typedHostError(err) {
				t.Fatalf("%v: Load: untyped error %v", h.Engine(), err)
			}
			return outcome{err: "load: " + err.Error()}
		}
		res, err := m.Bill(ctx, host.Call{Input: []byte(corpusInput), GasLimit: gasLimit, TxTime: txTime, TxID: "fuzz"})
		var o outcome
		if err != nil {
			if !typedHostError(err) {
				t.Fatalf("%v: Bill: untyped error %v", h.Engine(), err)
			}
			o.err = err.Error()
		}
		if res != nil {
			o.out, o.gas, o.log = string(res.Output), res.GasUsed, string(res.Log)
			if res.GasUsed > gasLimit {
				t.Fatalf("%v: used %d gas, over the limit %d", h.Engine(), res.GasUsed, gasLimit)
			}
		}
		return o
	}
	f.Fuzz(func(t *testing.T, code []byte) {
		p, err := host.Prepare(code)
		if err != nil {
			return
		}
		a, b := run(t, hosts[0], p), run(t, hosts[1], p)
		sameOutcome(t, "compiler vs interpreter", a, b)
	})
}

// typedHostError reports whether err is one of the host's typed errors, the
// ones the contract turns into refusal codes.
func typedHostError(err error) bool {
	for _, s := range sentinels {
		if s != nil && errors.Is(err, s) {
			return true
		}
	}
	return false
}
