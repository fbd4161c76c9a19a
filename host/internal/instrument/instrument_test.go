package instrument_test

// The fixtures in testdata are built from their .wat sources with
//
//	cd host/internal/instrument/testdata && for f in *.wat; do wat2wasm --enable-all "$f" -o "${f%.wat}.wasm"; done
//
// (wat2wasm: Debian's wabt). The .wasm files are committed so tests need no tools.

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/fedmeter/fedmeter/host"
)

func run(t *testing.T, file string, input string) (*host.Result, error) {
	t.Helper()
	code, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	p, err := host.Prepare(code)
	if err != nil {
		t.Fatal(err)
	}
	var first *host.Result
	var firstErr error
	for _, k := range []host.EngineKind{host.Compiler, host.Interpreter} {
		h, err := host.New(context.Background(), host.Config{Engine: k})
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close(context.Background())
		m, err := h.Load(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		res, err := m.Bill(context.Background(), host.Call{Input: []byte(input)})
		if first == nil {
			first, firstErr = res, err
			continue
		}
		if res.GasUsed != first.GasUsed || string(res.Output) != string(first.Output) || (err == nil) != (firstErr == nil) {
			t.Fatalf("%s: engines disagree: %d %s %v vs %d %s %v", file, first.GasUsed, first.Output, firstErr, res.GasUsed, res.Output, err)
		}
	}
	return first, firstErr
}

// TestGasIsAffine: a loop of n iterations costs a + b*n exactly, with b the
// instruction count of one iteration.
func TestGasIsAffine(t *testing.T) {
	gas := map[int]uint64{}
	for _, n := range []int{0, 10, 20, 30} {
		res, err := run(t, "gas.wasm", strings.Repeat("x", n))
		if err != nil {
			t.Fatal(err)
		}
		gas[n] = res.GasUsed
	}
	step := gas[20] - gas[10]
	if gas[30]-gas[20] != step || gas[10]-gas[0] != step {
		t.Fatalf("gas not affine in n: %v", gas)
	}
	// One iteration: local.get, local.get, i32.ge_u, br_if | local.get,
	// i32.const, i32.add, local.set, br = 9 instructions (loop and end are free).
	if step != 10*9 {
		t.Fatalf("10 iterations cost %d gas, want 90 (9 instructions each)", step)
	}
}

// TestControlFlowPreserved: early returns, branches to the function label,
// multiple results and br_table exits all still compute the right values.
func TestControlFlowPreserved(t *testing.T) {
	res, err := run(t, "control.wasm", "{}")
	if err != nil {
		t.Fatalf("%v (output %s)", err, res.Output)
	}
	// pair(3) = 4+10, pair(4) = 4+20, table = 100+200+300.
	if res.Bill.Total != 638 {
		t.Fatalf("total = %d, want 638 (output %s)", res.Bill.Total, res.Output)
	}
}

// TestCallDepthBoundary: the deepest allowed call chain runs; one more frame
// is ErrStackLimit, in both engines.
func TestCallDepthBoundary(t *testing.T) {
	max := int(host.ProfileV1().MaxCallDepth)
	// fm_bill's frame + (n+1) frames of $rec.
	if _, err := run(t, "depth.wasm", strings.Repeat("x", max-2)); err != nil {
		t.Fatalf("depth %d: %v", max, err)
	}
	if _, err := run(t, "depth.wasm", strings.Repeat("x", max-1)); !errors.Is(err, host.ErrStackLimit) {
		t.Fatalf("depth %d: err = %v, want ErrStackLimit", max+1, err)
	}
}
