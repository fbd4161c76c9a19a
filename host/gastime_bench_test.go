package host_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/fedmeter/fedmeter/host"
)

// gasTimeCase is one kind of work for BenchmarkGasTime: a rule and an input
// that loops on it until the call runs out of gas (or, for growth, until
// memory is full).
type gasTimeCase struct {
	name   string
	code   func(testing.TB) []byte
	input  string
	budget uint64 // gas per call; 0 means 10M
	calls  int    // calls per iteration; 0 means 1 (more for calls far below the budget)
}

// fabricTxID has the length of a Fabric transaction ID (hex SHA-256), which
// sets how many SHA-256 blocks random_get hashes per 32 bytes.
const fabricTxID = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

func gasTimeModule(tb testing.TB) []byte { return benchModule(tb, "gastime.wasm") }

// gasTimeCases covers plain code, every bulk memory op at sizes from empty to
// beyond the caches, and every WASI function the host serves, each at its
// cheapest and its dearest shape. The input syntax is in gastime.wat.
func gasTimeCases() []gasTimeCase {
	wat := func(name, input string) gasTimeCase {
		return gasTimeCase{name: name, code: gasTimeModule, input: input}
	}
	// Cases that first grow memory a lot get a budget that leaves most of
	// it to the work being measured.
	big := func(c gasTimeCase) gasTimeCase { c.budget = 100_000_000; return c }
	cases := []gasTimeCase{
		wat("plain/arith", "a"),
		wat("plain/call", "b"),
		wat("plain/load-store", "y"),
		{name: "plain/go-loop", code: func(tb testing.TB) []byte { return goRule(tb, "gorule") }, input: `{"n":4000000000,"alloc":0}`},
		{name: "rule/ecs", code: func(tb testing.TB) []byte { return goRule(tb, filepath.Join("..", "rules", "ecs")) }, calls: 200},
	}
	for _, n := range []int{0, 64, 4 << 10, 64 << 10, 1 << 20, 16 << 20} {
		cases = append(cases, big(wat(fmt.Sprintf("memory.fill/%s", size(n)), fmt.Sprintf("d%d", n))))
	}
	for _, n := range []int{0, 64, 4 << 10, 64 << 10, 1 << 20, 16 << 20} {
		cases = append(cases, big(wat(fmt.Sprintf("memory.copy/%s", size(n)), fmt.Sprintf("c%d", n))))
	}
	cases = append(cases,
		big(wat("memory.grow/1-page-steps", "e1")),
		big(wat("memory.grow/64-page-steps", "e64")),
		big(wat("memory.grow/1-page-steps-touched", "z1")),
		big(wat("memory.grow/64-page-steps-touched", "z64")),
		wat("memory.grow/refused", "f"),
	)
	for _, n := range []int{0, 32, 4 << 10, 64 << 10} {
		cases = append(cases, wat(fmt.Sprintf("random_get/%s", size(n)), fmt.Sprintf("g%d", n)))
	}
	for _, n := range []int{0, 64, 4 << 10, 64 << 10} {
		cases = append(cases, wat(fmt.Sprintf("fd_write/%s", size(n)), fmt.Sprintf("h%d", n)))
	}
	cases = append(cases,
		wat("fd_write/1024-empty-iovecs", "i1024"),
		wat("poll_oneoff/1-sub", "q1"),
		wat("poll_oneoff/64-subs", "q64"),
	)
	for _, k := range []struct{ letter, name string }{
		{"j", "clock_time_get"}, {"k", "clock_res_get"}, {"l", "args_sizes_get"}, {"m", "args_get"},
		{"n", "environ_sizes_get"}, {"o", "environ_get"}, {"p", "sched_yield"}, {"r", "fd_fdstat_get"},
		{"s", "fd_read"}, {"t", "fd_close"}, {"u", "fd_seek"}, {"v", "fd_prestat_get"},
		{"w", "fd_prestat_dir_name"}, {"x", "fd_fdstat_set_flags"},
	} {
		cases = append(cases, wat(k.name, k.letter))
	}
	return cases
}

func size(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

// BenchmarkGasTime runs each kind of work at a fixed gas budget per call in
// both engines and reports the time one unit of gas buys (ns/gas): gas is meant
// to track time, so on the compiler every row should lie within a 3x band, and
// DefaultGasLimit times the worst row bounds a bill's time. A call's time
// includes what the host does around it (restore, or instantiating a fresh
// instance after a call that ran out of gas or grew memory), because a hostile
// rule gets that too. Table: docs/benchmarks.md.
//
//	go test -run '^$' -bench GasTime -benchtime 20x ./host/
func BenchmarkGasTime(b *testing.B) {
	for _, c := range gasTimeCases() {
		budget := c.budget
		if budget == 0 {
			budget = 10_000_000
		}
		code := c.code(b)
		p := prepare(b, code)
		for _, k := range engines {
			b.Run(c.name+"/"+k.String(), func(b *testing.B) {
				m := load(b, newHost(b, host.Config{Engine: k}), p)
				input := []byte(c.input)
				if c.input == "" {
					input = vectorInput(b, filepath.Join("..", "rules", "ecs", "testdata", "vectors", "01_seed_one_day.json"))
				}
				call := host.Call{Input: input, GasLimit: budget, TxTime: txTime, TxID: fabricTxID}
				var gas uint64
				var spent time.Duration
				for i := 0; i < b.N*max(c.calls, 1); i++ {
					t0 := time.Now()
					res, err := m.Bill(context.Background(), call)
					spent += time.Since(t0)
					// Before grow returned -1, a refused grow trapped.
					if err != nil && !errors.Is(err, host.ErrOutOfGas) && !errors.Is(err, host.ErrMemoryLimit) {
						b.Fatal(err)
					}
					gas += res.GasUsed
				}
				b.ReportMetric(float64(spent.Nanoseconds())/float64(gas), "ns/gas")
				b.ReportMetric(float64(gas)/float64(b.N*max(c.calls, 1)), "gas/call")
			})
		}
	}
}
