package host_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/fedmeter/fedmeter/host"
)

// A rule's life: prepare the uploaded bytes once, load the prepared module
// into a Host, then bill as often as needed.
func Example() {
	code, err := os.ReadFile("testdata/hostile/ok_fixed.wasm")
	if err != nil {
		panic(err)
	}
	prepared, err := host.Prepare(code)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	h, err := host.New(ctx, host.Config{})
	if err != nil {
		panic(err)
	}
	defer h.Close(ctx)

	rule, err := h.Load(ctx, prepared)
	if err != nil {
		panic(err)
	}
	res, err := rule.Bill(ctx, host.Call{
		Input:    []byte(`{"abi":1,"currency":"CNY","scale":2}`),
		GasLimit: 1_000_000,
		TxTime:   time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC),
		TxID:     "4f1c",
	})
	if err != nil {
		panic(err)
	}
	// Gas: 32 for the rule's instructions, 950 for restoring its one-page
	// snapshot (one 4 KiB page of data copied, fifteen of zeros cleared).
	fmt.Println(res.Bill.Total, res.Bill.Currency, len(res.Bill.Lines), "lines, gas", res.GasUsed)
	// Output: 300 CNY 2 lines, gas 982
}

// Preparation names what it rejects; callers branch on the sentinel.
func ExamplePrepare_rejected() {
	code, err := os.ReadFile("testdata/hostile/import_env_abort.wasm")
	if err != nil {
		panic(err)
	}
	_, err = host.Prepare(code)
	fmt.Println(errors.Is(err, host.ErrInvalidModule))
	fmt.Println(err)
	// Output:
	// true
	// invalid module: import env.abort is not allowed (see ABI.md for the allowed WASI functions)
}
