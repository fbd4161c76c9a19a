package host_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fedmeter/fedmeter/host"
	"github.com/fedmeter/fedmeter/host/internal/wasm"
)

// Generated modules at and just past each of the profile's code bounds. They
// are valid ABI v1 rules, so that preparation gets as far as the bound and no
// further. docs/benchmarks.md has the table of what preparing and compiling
// them costs: go test -run '^$' -bench Bounds -benchtime 1x -count 3 ./host/

func uleb(v uint64) []byte { return wasm.AppendU64(nil, v) }

func vec(items ...[]byte) []byte {
	out := uleb(uint64(len(items)))
	for _, it := range items {
		out = append(out, it...)
	}
	return out
}

func section(id byte, payload []byte) []byte {
	return append(append([]byte{id}, uleb(uint64(len(payload)))...), payload...)
}

func wasmName(s string) []byte { return append(uleb(uint64(len(s))), s...) }

// boundModule is an ABI v1 rule whose fm_bill has the given body (locals
// declaration and final end included), plus functions of type () -> () with
// the extra bodies.
func boundModule(bill []byte, extra ...[]byte) []byte {
	types := vec(
		[]byte{0x60, 0, 0},                   // 0: () -> ()
		[]byte{0x60, 1, 0x7f, 1, 0x7f},       // 1: (i32) -> i32
		[]byte{0x60, 2, 0x7f, 0x7f, 1, 0x7e}, // 2: (i32, i32) -> i64
	)
	funcs := [][]byte{{0}, {1}, {2}}
	bodies := [][]byte{{0, 0x0b}, {0, 0x41, 0, 0x0b}, bill}
	for _, e := range extra {
		funcs = append(funcs, []byte{0})
		bodies = append(bodies, e)
	}
	var code [][]byte
	for _, b := range bodies {
		code = append(code, append(uleb(uint64(len(b))), b...))
	}
	out := []byte{0, 'a', 's', 'm', 1, 0, 0, 0}
	out = append(out, section(1, types)...)
	out = append(out, section(3, vec(funcs...))...)
	out = append(out, section(5, vec([]byte{0, 1}))...)
	out = append(out, section(7, vec(
		append(wasmName("memory"), 2, 0),
		append(wasmName("fm_abi_v1"), 0, 0),
		append(wasmName("fm_alloc"), 0, 1),
		append(wasmName("fm_bill"), 0, 2),
	))...)
	out = append(out, section(10, vec(code...))...)
	return out
}

var billZero = []byte{0, 0x42, 0, 0x0b}

// nested is an fm_bill body with n blocks (op 0x02) or loops (0x03) nested.
func nested(op byte, n int) []byte {
	b := []byte{0}
	b = append(b, bytes.Repeat([]byte{op, 0x40}, n)...)
	b = append(b, bytes.Repeat([]byte{0x0b}, n)...)
	return append(b, 0x42, 0, 0x0b)
}

// nestedVoid is a () -> () body with n blocks or loops nested.
func nestedVoid(op byte, n int) []byte {
	b := []byte{0}
	b = append(b, bytes.Repeat([]byte{op, 0x40}, n)...)
	b = append(b, bytes.Repeat([]byte{0x0b}, n)...)
	return append(b, 0x0b)
}

// brTableDeep is a () -> () body with a br_table of n targets inside depth
// nested blocks, its targets spread over all of them.
func brTableDeep(n, depth int) []byte {
	b := []byte{0}
	b = append(b, bytes.Repeat([]byte{0x02, 0x40}, depth)...)
	b = append(b, 0x41, 0, 0x0e)
	b = append(b, uleb(uint64(n))...)
	for i := 0; i <= n; i++ {
		b = append(b, uleb(uint64(i%depth))...)
	}
	b = append(b, bytes.Repeat([]byte{0x0b}, depth)...)
	return append(b, 0x0b)
}

// brTables is a () -> () body with k br_tables of n targets each.
func brTables(k, n int) []byte {
	b := []byte{0, 0x02, 0x40}
	for i := 0; i < k; i++ {
		b = append(b, 0x41, 0, 0x0d, 0, 0x41, 0, 0x0e) // br_if 0 keeps the code after reachable
		b = append(b, uleb(uint64(n))...)
		b = append(b, bytes.Repeat([]byte{0}, n+1)...)
	}
	return append(b, 0x0b, 0x0b)
}

// loopsInRow is a () -> () body declaring n i64 locals and then k loops in
// a row, each reading a different local.
func loopsInRow(n, k int) []byte {
	b := []byte{1}
	b = append(b, uleb(uint64(n))...)
	b = append(b, 0x7e)
	for i := 0; i < k; i++ {
		b = append(b, 0x03, 0x40, 0x20)
		b = append(b, uleb(uint64(i%n))...)
		b = append(b, 0x1a, 0x0b)
	}
	return append(b, 0x0b)
}

// brIfsInRow is a () -> () body of one block holding k br_ifs in a row.
func brIfsInRow(k int) []byte {
	b := []byte{0, 0x02, 0x40}
	b = append(b, bytes.Repeat([]byte{0x41, 0, 0x0d, 0}, k)...)
	return append(b, 0x0b, 0x0b)
}

// ifsInRow is a () -> () body of k empty ifs in a row.
func ifsInRow(k int) []byte {
	b := []byte{0}
	b = append(b, bytes.Repeat([]byte{0x41, 0, 0x04, 0x40, 0x0b}, k)...)
	return append(b, 0x0b)
}

func repeat(k int, body []byte) [][]byte {
	out := make([][]byte, k)
	for i := range out {
		out[i] = body
	}
	return out
}

// brTable is an fm_bill body with one br_table of n targets.
func brTable(n int) []byte {
	b := []byte{0, 0x02, 0x40, 0x41, 0, 0x0e}
	b = append(b, uleb(uint64(n))...)
	b = append(b, bytes.Repeat([]byte{0}, n+1)...)
	return append(b, 0x0b, 0x42, 0, 0x0b)
}

// straight is a () -> () body of about size bytes of straight-line code
// with a shallow operand stack: local.get, i32.const, i32.add, local.set.
func straight(size int) []byte {
	unit := []byte{0x20, 0, 0x41, 0x01, 0x6a, 0x21, 0}
	b := []byte{1, 1, 0x7f}
	b = append(b, bytes.Repeat(unit, (size-4)/len(unit))...)
	return append(b, 0x0b)
}

// deepStack is a () -> () body of about size bytes that pushes all its
// constants before adding them up: the operand stack grows to ~size/3.
func deepStack(size int) []byte {
	n := (size - 3) / 3
	b := []byte{0}
	b = append(b, bytes.Repeat([]byte{0x41, 0x01}, n)...)
	b = append(b, bytes.Repeat([]byte{0x6a}, n-1)...)
	return append(b, 0x1a, 0x0b)
}

type boundCase struct {
	name   string
	code   func() []byte
	reason string // "" when Prepare must accept
}

func boundCases() []boundCase {
	p := host.ProfileV1()
	// many fills the code section with bodies at MaxBodyBytes up to total.
	many := func(total int) func() []byte {
		return func() []byte {
			var fs [][]byte
			for n := 0; n+p.MaxBodyBytes <= total; n += p.MaxBodyBytes {
				fs = append(fs, straight(p.MaxBodyBytes))
			}
			return boundModule(billZero, fs...)
		}
	}
	return []boundCase{
		{"blocks at MaxNesting", func() []byte { return boundModule(nested(0x02, p.MaxNesting)) }, ""},
		{"blocks past MaxNesting", func() []byte { return boundModule(nested(0x02, p.MaxNesting+1)) }, "nested"},
		{"loops at MaxNesting", func() []byte { return boundModule(nested(0x03, p.MaxNesting)) }, ""},
		{"loops past MaxNesting", func() []byte { return boundModule(nested(0x03, p.MaxNesting+1)) }, "more than"}, // MaxControl trips first
		{"100,000 nested blocks", func() []byte { return boundModule(nested(0x02, 100_000)) }, "limit"},
		{"br_table at MaxBrTable", func() []byte { return boundModule(brTable(p.MaxBrTable)) }, ""},
		{"br_table past MaxBrTable", func() []byte { return boundModule(brTable(p.MaxBrTable + 1)) }, "br_table"},
		{"br_table of 1,000,000", func() []byte { return boundModule(brTable(1_000_000)) }, "limit"},
		{"body at MaxBodyBytes", func() []byte { return boundModule(billZero, straight(p.MaxBodyBytes)) }, ""},
		{"body past MaxBodyBytes", func() []byte { return boundModule(billZero, straight(p.MaxBodyBytes+16)) }, "body of"},
		{"deep stack at MaxBodyBytes", func() []byte { return boundModule(billZero, deepStack(p.MaxBodyBytes)) }, ""},
		{"11 functions of 1,024 nested blocks (nesting work)", func() []byte {
			return boundModule(billZero, repeat(11, nestedVoid(0x02, 1024))...)
		}, ""},
		{"12 functions of 1,024 nested blocks", func() []byte {
			return boundModule(billZero, repeat(12, nestedVoid(0x02, 1024))...)
		}, "nesting work"},
		{"2 functions of 1,024 nested loops (nesting work)", func() []byte {
			return boundModule(billZero, repeat(2, nestedVoid(0x03, 1024))...)
		}, ""},
		{"3 functions of 1,024 nested loops", func() []byte {
			return boundModule(billZero, repeat(3, nestedVoid(0x03, 1024))...)
		}, "nesting work"},
		{"br_table of 16,384 over 1,024 nested blocks", func() []byte {
			return boundModule(billZero, brTableDeep(p.MaxBrTable, 1024))
		}, ""},
		{"1,024 br_tables of 512 (br_table work)", func() []byte {
			return boundModule(billZero, repeat(4, brTables(256, 512))...)
		}, ""},
		{"1,025 br_tables of 512", func() []byte {
			return boundModule(billZero, append(repeat(4, brTables(256, 512)), brTables(1, 512))...)
		}, "br_table work"},
		{"loops in a row at MaxControl, reading MaxLocals locals", func() []byte {
			return boundModule(billZero, loopsInRow(p.MaxLocals, p.MaxControl/4))
		}, ""},
		{"loops in a row past MaxControl", func() []byte {
			return boundModule(billZero, loopsInRow(1, p.MaxControl/4+1))
		}, "control instructions"},
		{"ifs in a row at MaxControl", func() []byte { return boundModule(billZero, ifsInRow(p.MaxControl)) }, ""},
		{"br_ifs in a row at MaxControl", func() []byte { return boundModule(billZero, brIfsInRow(p.MaxControl-1)) }, ""},
		{"br_ifs in a row past MaxControl", func() []byte { return boundModule(billZero, brIfsInRow(p.MaxControl)) }, "control instructions"},
		{"4 functions at MaxControl (control work)", func() []byte {
			return boundModule(billZero, repeat(4, ifsInRow(p.MaxControl))...)
		}, ""},
		{"5 functions at MaxControl", func() []byte {
			return boundModule(billZero, repeat(5, ifsInRow(p.MaxControl))...)
		}, "control work"},
		{"code at MaxCodeBytes", many(p.MaxCodeBytes - 64), ""},
		{"code past MaxCodeBytes", many(p.MaxCodeBytes + p.MaxBodyBytes), "bytes of function bodies"},
	}
}

// TestCodeBounds: each bound accepts what is at it and refuses what is just
// past it, with a reason that names the bound.
func TestCodeBounds(t *testing.T) {
	for _, c := range boundCases() {
		t.Run(c.name, func(t *testing.T) {
			code := c.code()
			_, err := host.Prepare(code)
			if c.reason == "" {
				if err != nil {
					t.Fatalf("Prepare (%d bytes): %v", len(code), err)
				}
				return
			}
			if !errors.Is(err, host.ErrInvalidModule) || !strings.Contains(err.Error(), c.reason) {
				t.Fatalf("Prepare = %v, want ErrInvalidModule naming %q", err, c.reason)
			}
		})
	}
}

// BenchmarkBounds reports what preparing and then compiling (wazero's
// compiler, instantiation included) costs for the modules at each bound, and
// what refusing those past it costs.
func BenchmarkBounds(b *testing.B) {
	ctx := context.Background()
	for _, c := range boundCases() {
		code := c.code()
		b.Run(strings.ReplaceAll(c.name, " ", "_"), func(b *testing.B) {
			var prep, comp time.Duration
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				p, err := host.Prepare(code)
				prep += time.Since(t0)
				if (err == nil) != (c.reason == "") {
					b.Fatalf("Prepare: %v", err)
				}
				if err != nil {
					continue
				}
				h, err := host.New(ctx, host.Config{})
				if err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if _, err := h.Load(ctx, p); err != nil {
					b.Fatalf("load: %v", err)
				}
				comp += time.Since(t1)
				h.Close(ctx)
			}
			b.ReportMetric(float64(len(code)), "bytes")
			b.ReportMetric(float64(prep.Microseconds())/1000/float64(b.N), "prepare-ms")
			b.ReportMetric(float64(comp.Microseconds())/1000/float64(b.N), "compile-ms")
		})
	}
}
