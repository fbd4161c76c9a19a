package host_test

// Benchmarks behind docs/benchmarks.md. Run them with `make bench`, or e.g.
//
//	go test -run '^$' -bench 'Metering|Warm' -benchtime 2s ./host/
//
// Speed goals are judged from these numbers, never asserted in tests.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/fedmeter/fedmeter/host"
	"github.com/fedmeter/fedmeter/host/internal/wasi"
)

// rawRunner calls fm_bill on a module in plain wazero: no preparation, no
// snapshot, no output checks. It is the "unmetered" side of the comparison.
type rawRunner struct {
	mod         api.Module
	alloc, bill api.Function
	gas         api.MutableGlobal // set when the module is a prepared one
	ptr         uint64            // where the input was written
}

func newRawRunner(b *testing.B, code []byte) *rawRunner {
	ctx := wasi.WithState(context.Background(), wasi.NewState(wasi.Env{MaxLogBytes: 4096}))
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler())
	b.Cleanup(func() { rt.Close(ctx) })
	if _, err := wasi.Instantiate(ctx, rt); err != nil {
		b.Fatal(err)
	}
	mod, err := rt.InstantiateWithConfig(ctx, code, wazero.NewModuleConfig().WithStartFunctions())
	if err != nil {
		b.Fatal(err)
	}
	r := &rawRunner{mod: mod, alloc: mod.ExportedFunction("fm_alloc"), bill: mod.ExportedFunction("fm_bill")}
	r.gas, _ = mod.ExportedGlobal("__fm_gas").(api.MutableGlobal)
	if init := mod.ExportedFunction("_initialize"); init != nil {
		if r.gas != nil {
			r.gas.Set(1 << 60)
		}
		if _, err := init.Call(ctx); err != nil {
			b.Fatal(err)
		}
	}
	return r
}

// call runs fm_bill on input. The input is written once, through fm_alloc, and
// reused: modules with a bump allocator would otherwise grow memory on every
// call, and nothing here restores them.
func (r *rawRunner) call(b *testing.B, input []byte) {
	ctx := wasi.WithState(context.Background(), wasi.NewState(wasi.Env{MaxLogBytes: 4096}))
	if r.gas != nil {
		r.gas.Set(1 << 60)
	}
	if r.ptr == 0 {
		res, err := r.alloc.Call(ctx, uint64(len(input)))
		if err != nil {
			b.Fatal(err)
		}
		r.ptr = res[0]
		r.mod.Memory().Write(uint32(r.ptr), input)
	}
	if _, err := r.bill.Call(ctx, r.ptr, uint64(len(input))); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkMetering compares the same CPU-bound module unmetered (as
// uploaded) and metered (as prepared), on the same engine and harness. The
// ratio metered/unmetered is the instrumentation's overhead; goal <= 1.25.
func BenchmarkMetering(b *testing.B) {
	cases := []struct {
		name  string
		code  func(b *testing.B) []byte
		input []byte
	}{
		{"wat-fnv", func(b *testing.B) []byte { return benchModule(b, "fnv.wasm") },
			[]byte(`{"pad":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}`)},
		{"go-loop", func(b *testing.B) []byte { return goRule(b, "gorule") }, []byte(`{"n":2000000,"alloc":0}`)},
	}
	for _, c := range cases {
		code := c.code(b)
		p := prepare(b, code)
		b.Run(c.name+"/unmetered", func(b *testing.B) {
			r := newRawRunner(b, code)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				r.call(b, c.input)
			}
		})
		b.Run(c.name+"/metered", func(b *testing.B) {
			r := newRawRunner(b, p.Code)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				r.call(b, c.input)
			}
		})
	}
}

// BenchmarkColdStart measures what a process pays the first time it meets a
// ~2.8 MB stock-Go rule: preparation, compilation and init; and what a
// restarted process pays when wazero's compiled code is on disk.
func BenchmarkColdStart(b *testing.B) {
	code := goRule(b, "gorule")
	ctx := context.Background()
	b.Run("prepare", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			prepare(b, code)
		}
	})
	b.Run("prepare+compile+init", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			h, _ := host.New(ctx, host.Config{})
			if _, err := h.Load(ctx, prepare(b, code)); err != nil {
				b.Fatal(err)
			}
			h.Close(ctx)
		}
	})
	dir := b.TempDir()
	warm, _ := host.New(ctx, host.Config{CacheDir: dir})
	p := prepare(b, code)
	if _, err := warm.Load(ctx, p); err != nil {
		b.Fatal(err)
	}
	warm.Close(ctx)
	b.Run("restart-with-disk-cache", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			h, err := host.New(ctx, host.Config{CacheDir: dir})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := h.Load(ctx, prepare(b, code)); err != nil {
				b.Fatal(err)
			}
			h.Close(ctx)
		}
	})
}

// BenchmarkWarmCall is one billing call on a loaded module: restore the
// snapshot, write the input, run the rule, check the output. It reports the
// p50 and p99 of the per-call latency besides the mean.
func BenchmarkWarmCall(b *testing.B) {
	ecsInput := vectorInput(b, filepath.Join("..", "rules", "ecs", "testdata", "vectors", "01_seed_one_day.json"))
	cases := []struct {
		name, dir string
		input     []byte
	}{
		{"ecs-sdk", filepath.Join("..", "rules", "ecs"), ecsInput},
		{"gorule", "gorule", []byte(`{"n":10,"alloc":100}`)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			code := goRule(b, c.dir)
			for _, k := range engines {
				b.Run(k.String(), func(b *testing.B) {
					m := load(b, newHost(b, host.Config{Engine: k}), prepare(b, code))
					call := host.Call{Input: c.input, TxTime: txTime, TxID: "bench"}
					if _, err := m.Bill(context.Background(), call); err != nil {
						b.Fatal(err)
					}
					lat := make([]time.Duration, 0, b.N)
					var gas uint64
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						t0 := time.Now()
						res, err := m.Bill(context.Background(), call)
						lat = append(lat, time.Since(t0))
						if err != nil {
							b.Fatal(err)
						}
						gas = res.GasUsed
					}
					b.StopTimer()
					slices.Sort(lat)
					b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-us")
					b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-us")
					b.ReportMetric(float64(gas), "gas")
				})
			}
		})
	}
}

func vectorInput(tb testing.TB, file string) []byte {
	raw, err := os.ReadFile(file)
	if err != nil {
		tb.Fatal(err)
	}
	var v struct {
		Input json.RawMessage `json:"input"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		tb.Fatal(err)
	}
	return v.Input
}

// benchModule reads testdata/bench/<name> (regenerate with make fixtures).
func benchModule(tb testing.TB, name string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", "bench", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// BenchmarkWarmCallParallel is BenchmarkWarmCall's ECS call from many
// goroutines at once, as a chaincode service endorsing many transactions
// runs it: more calls in flight than instances pooled must wait for one
// rather than instantiate, grow and fault in a fresh 2.8 MB memory each.
func BenchmarkWarmCallParallel(b *testing.B) {
	input := vectorInput(b, filepath.Join("..", "rules", "ecs", "testdata", "vectors", "01_seed_one_day.json"))
	m := load(b, newHost(b, host.Config{Engine: host.Compiler}), prepare(b, goRule(b, filepath.Join("..", "rules", "ecs"))))
	call := host.Call{Input: input, TxTime: txTime, TxID: "bench"}
	for _, goroutines := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("per-cpu=%d", goroutines), func(b *testing.B) {
			b.SetParallelism(goroutines)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := m.Bill(context.Background(), call); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
