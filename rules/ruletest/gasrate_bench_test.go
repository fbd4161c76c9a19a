package ruletest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"testing"
	"time"

	"github.com/fedmeter/fedmeter/host"
	"github.com/fedmeter/fedmeter/rules/build"
	"github.com/fedmeter/fedmeter/rules/ruletest"
)

// standardRules are the standard rules, by folder under rules/.
var standardRules = []string{"ecs", "storage", "bandwidth", "gpu", "wat-flat", "ecs-as"}

// BenchmarkGasRate measures how much gas each standard rule burns per
// microsecond on each engine: every test vector of the rule, called as the
// contract calls rules (prepared module, the default gas limit, the
// vector's tx ID and time; the snapshot restore that starts each call is
// included), after one untimed pass (the first call instantiates the
// module, which a peer does once per rule). It reports
//
//	gas/us       all the vectors' gas over all their (wall) time
//	gas/cpu-us   the same over the CPU time of the calling thread (Linux;
//	             the OS thread is locked): what the code costs, without the
//	             time the thread waited for a core on a shared machine
//	ms-at-limit  host.DefaultGasLimit at the gas/cpu-us rate (gas/us where
//	             there is no thread clock): how long a call running this
//	             rule's kind of code may compute before it is stopped
//	gas/call     the mean gas of a vector
//
// and logs (-v) the vector with the lowest rate: short calls (a refusal
// after a few thousand gas) are mostly the host's fixed cost per call, so
// their rate says little about a long call. Table and reading:
// docs/benchmarks.md, "Gas per microsecond of the standard rules".
//
//	go test -run '^$' -bench GasRate -benchtime 10x -count 3 ./rules/ruletest/
//
// The Go rules are built with rules/build; rules/ecs-as (on the ECS
// rule's vectors) needs node, npm and the kit's compiler (npm ci in
// sdk-rules/assemblyscript) and is skipped, saying so, without them.
func BenchmarkGasRate(b *testing.B) {
	ctx := context.Background()
	tmp := b.TempDir()
	for _, name := range standardRules {
		dir := filepath.Join("..", name)
		b.Run(name, func(b *testing.B) {
			code := standardModule(b, ctx, dir, filepath.Join(tmp, name+".wasm"))
			p, err := host.Prepare(code)
			if err != nil {
				b.Fatal(err)
			}
			vdir := dir
			if name == "ecs-as" {
				vdir = filepath.Join("..", "ecs") // the ECS rule's golden vectors
			}
			vectors, names := vectorCalls(b, vdir)
			for _, k := range []host.EngineKind{host.Compiler, host.Interpreter} {
				b.Run(k.String(), func(b *testing.B) {
					h, err := host.New(ctx, host.Config{Engine: k})
					if err != nil {
						b.Fatal(err)
					}
					defer h.Close(ctx)
					m, err := h.Load(ctx, p)
					if err != nil {
						b.Fatal(err)
					}
					runtime.LockOSThread()
					defer runtime.UnlockOSThread()
					gas := make([]uint64, len(vectors))
					spent := make([]time.Duration, len(vectors))
					cpu := make([]time.Duration, len(vectors))
					_, haveCPU := threadCPU()
					// One untimed pass: the first call instantiates the
					// module (a peer does that once per rule, not per bill).
					for _, call := range vectors {
						m.Bill(ctx, call)
					}
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						for j, call := range vectors {
							t0 := time.Now()
							c0, _ := threadCPU()
							res, err := m.Bill(ctx, call)
							c1, _ := threadCPU()
							spent[j] += time.Since(t0)
							cpu[j] += c1 - c0
							if err != nil && !errors.Is(err, host.ErrRule) && !errors.Is(err, host.ErrBadOutput) {
								b.Fatalf("vector %d: %v", j, err)
							}
							gas[j] += res.GasUsed
						}
					}
					var g uint64
					var d, dc time.Duration
					worst, at := -1.0, ""
					for j := range vectors {
						g += gas[j]
						d += spent[j]
						dc += cpu[j]
						t := spent[j]
						if haveCPU {
							t = cpu[j]
						}
						if r := rate(gas[j], t); worst < 0 || r < worst {
							worst, at = r, names[j]
						}
					}
					b.Logf("%s on the %s: %d vectors; the lowest rate is %s's, %.1f gas/us", name, k, len(vectors), at, worst)
					r := rate(g, d)
					b.ReportMetric(r, "gas/us")
					if haveCPU {
						// The figure to read on a loaded machine.
						r = rate(g, dc)
						b.ReportMetric(r, "gas/cpu-us")
					}
					b.ReportMetric(float64(host.DefaultGasLimit)/r/1000, "ms-at-limit")
					b.ReportMetric(float64(g)/float64(b.N*len(vectors)), "gas/call")
				})
			}
		})
	}
}

// rate is gas per microsecond.
func rate(gas uint64, d time.Duration) float64 {
	return float64(gas) / (float64(d.Nanoseconds()) / 1000)
}

// standardModule builds (or, for a folder holding a .wasm, reads) the rule
// in dir.
func standardModule(b *testing.B, ctx context.Context, dir, out string) []byte {
	var err error
	switch {
	case build.IsAssemblyScript(dir):
		if !build.HaveNode() {
			b.Skip("skipping the AssemblyScript rule: node and npm are not on PATH")
		}
		if _, serr := os.Stat(filepath.Join("..", "..", "sdk-rules", "assemblyscript", "node_modules")); serr != nil {
			b.Skip("skipping the AssemblyScript rule: run npm ci in sdk-rules/assemblyscript")
		}
		_, err = build.AssemblyScript(ctx, dir, out)
	default:
		wasm, _ := filepath.Glob(filepath.Join(dir, "*.wasm"))
		if len(wasm) == 1 {
			_, err = build.Copy(wasm[0], out)
		} else {
			_, err = build.Rule(ctx, dir, out)
		}
	}
	if err != nil {
		b.Fatal(err)
	}
	code, err := os.ReadFile(out)
	if err != nil {
		b.Fatal(err)
	}
	return code
}

// vectorCalls are the calls of the rule's test vectors, as ruletest makes
// them.
func vectorCalls(b *testing.B, dir string) ([]host.Call, []string) {
	files, err := filepath.Glob(filepath.Join(dir, "testdata", "vectors", "*.json"))
	if err != nil || len(files) == 0 {
		b.Fatalf("no vectors in %s: %v", dir, err)
	}
	sort.Strings(files)
	var calls []host.Call
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
		raw, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		var v ruletest.Vector
		if err := json.Unmarshal(raw, &v); err != nil {
			b.Fatalf("%s: %v", f, err)
		}
		in := []byte(nil)
		if v.InputText != nil {
			in = []byte(*v.InputText)
		} else {
			var buf bytes.Buffer
			if err := json.Compact(&buf, v.Input); err != nil {
				b.Fatalf("%s: %v", f, err)
			}
			in = buf.Bytes()
		}
		var tx struct {
			Tx struct {
				ID   string `json:"id"`
				Time int64  `json:"time"`
			} `json:"tx"`
		}
		_ = json.Unmarshal(in, &tx)
		calls = append(calls, host.Call{Input: in, GasLimit: host.DefaultGasLimit, TxTime: time.Unix(tx.Tx.Time, 0).UTC(), TxID: tx.Tx.ID})
	}
	return calls, names
}
