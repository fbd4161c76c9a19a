package host_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/fedmeter/fedmeter/host"
)

// TestDefaultLimitStopsRunaway: a rule that never returns (an empty loop,
// chaincode/testdata/rule_loop.wat) called with no gas limit, as the contract
// calls rules, is stopped by DefaultGasLimit: ErrOutOfGas, with gas used equal
// to the limit. No wall time is asserted (docs/benchmarks.md has the times).
func TestDefaultLimitStopsRunaway(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 200M gas")
	}
	code, err := os.ReadFile("../chaincode/testdata/rule_loop.wasm")
	if err != nil {
		t.Fatal(err)
	}
	p, err := host.Prepare(code)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	h, err := host.New(ctx, host.Config{Engine: host.Compiler})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(ctx)
	m, err := h.Load(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	in := []byte(`{"abi":1,"currency":"CNY","scale":2,"period":{"start":0,"end":1}}`)
	res, err := m.Bill(ctx, host.Call{Input: in})
	if !errors.Is(err, host.ErrOutOfGas) || res == nil || res.GasUsed != host.DefaultGasLimit {
		var gas uint64
		if res != nil {
			gas = res.GasUsed
		}
		t.Fatalf("err %v, gas %d; want ErrOutOfGas with gas used = DefaultGasLimit (%d)", err, gas, host.DefaultGasLimit)
	}
}
