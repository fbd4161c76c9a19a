package host_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/fedmeter/fedmeter/host"
)

// outcome is everything observable about a call; two peers must agree on all.
type outcome struct {
	out  string
	gas  uint64
	log  string
	err  string
	bill host.Bill
}

func call(t *testing.T, m *host.Module, c host.Call) outcome {
	t.Helper()
	res, err := m.Bill(context.Background(), c)
	var o outcome
	if err != nil {
		o.err = err.Error()
	}
	if res != nil {
		o.out, o.gas, o.log, o.bill = string(res.Output), res.GasUsed, string(res.Log), res.Bill
	}
	return o
}

func sameOutcome(t *testing.T, what string, a, b outcome) {
	t.Helper()
	if a.out != b.out || a.gas != b.gas || a.log != b.log || a.err != b.err {
		t.Errorf("%s differ:\n a: out=%s gas=%d err=%q log=%q\n b: out=%s gas=%d err=%q log=%q",
			what, a.out, a.gas, a.err, a.log, b.out, b.gas, b.err, b.log)
	}
}

// TestGoRuleEndToEnd runs a stock-Go wasip1 c-shared module through ABI v1 and
// checks that everything nondeterministic in Go comes out deterministic.
func TestGoRuleEndToEnd(t *testing.T) {
	p := prepare(t, goRule(t, "gorule"))
	h := newHost(t, host.Config{})
	m := load(t, h, p)
	c := host.Call{Input: []byte(`{"n":1000,"alloc":100000}`), TxTime: txTime, TxID: "tx-1"}

	first := call(t, m, c)
	if first.err != "" {
		t.Fatalf("bill: %s", first.err)
	}
	lines := map[string]int64{}
	for _, l := range first.bill.Lines {
		lines[l.Item] = l.Amount
	}
	if got, want := lines["time"], txTime.Unix()&0xffffff; got != want {
		t.Errorf("time line = %d, want the transaction time %d", got, want)
	}
	if !strings.Contains(first.log, "billed n=1000") {
		t.Errorf("log = %q, want the rule's stderr line", first.log)
	}
	if first.gas == 0 || first.gas >= host.DefaultGasLimit {
		t.Errorf("gas used = %d, want between 0 and the limit", first.gas)
	}
	// The same call again, on the reused instance: identical in every respect.
	for i := 0; i < 3; i++ {
		sameOutcome(t, "repeated call", first, call(t, m, c))
	}
	// Another transaction ID changes the random streams and nothing else.
	other := call(t, m, host.Call{Input: c.Input, TxTime: txTime, TxID: "tx-2"})
	if other.out == first.out {
		t.Errorf("a different tx ID gave the same crypto/rand output: %s", other.out)
	}
}

// TestRestoredEqualsFresh proves that a call on an instance restored from the
// snapshot is identical (output, gas, log) to a call on a brand-new instance,
// even after calls that dirtied the heap, grew memory or trapped.
func TestRestoredEqualsFresh(t *testing.T) {
	p := prepare(t, goRule(t, "gorule"))
	c := host.Call{Input: []byte(`{"n":50,"alloc":1000}`), TxTime: txTime, TxID: "fresh"}

	fresh := call(t, load(t, newHost(t, host.Config{}), p), c)
	if fresh.err != "" {
		t.Fatal(fresh.err)
	}
	h := newHost(t, host.Config{})
	m := load(t, h, p)
	dirty := []host.Call{
		{Input: []byte(`{"n":100000,"alloc":5000000}`), TxTime: txTime.Add(1e9), TxID: "a"}, // grows memory
		{Input: []byte(`{"n":7,"alloc":10}`), TxID: "b"},
		{Input: []byte(`{"n":100000000}`), TxID: "c", GasLimit: 200000}, // runs out of gas mid-call
		{Input: []byte(`{"n":3,"alloc":30000}`), TxTime: txTime, TxID: "d"},
	}
	for _, d := range dirty {
		call(t, m, d)
		sameOutcome(t, "restored vs fresh", fresh, call(t, m, c))
	}
}

// TestGoRuleEnginesAgree is the differential test for a real Go module.
func TestGoRuleEnginesAgree(t *testing.T) {
	p := prepare(t, goRule(t, "gorule"))
	inputs := []host.Call{
		{Input: []byte(`{"n":10,"alloc":10}`), TxTime: txTime, TxID: "x"},
		{Input: []byte(`{"n":100000,"alloc":3000000}`), TxTime: txTime, TxID: "y"},
		{Input: []byte(`{"n":100000000}`), TxID: "z", GasLimit: 5_000_000},
	}
	var ms []*host.Module
	for _, k := range engines {
		ms = append(ms, load(t, newHost(t, host.Config{Engine: k}), p))
	}
	for _, c := range inputs {
		a, b := call(t, ms[0], c), call(t, ms[1], c)
		sameOutcome(t, "compiler vs interpreter", a, b)
	}
	oog, err := ms[1].Bill(context.Background(), inputs[2])
	if !errors.Is(err, host.ErrOutOfGas) || oog.GasUsed != inputs[2].GasLimit {
		t.Errorf("tight gas limit: err=%v gas=%d, want ErrOutOfGas with gas used = limit", err, oog.GasUsed)
	}
}

// TestPrepareIsPure: the same bytes prepare to the same bytes, twice and in
// parallel, and a module's own bytes are never modified.
func TestPrepareIsPure(t *testing.T) {
	code := goRule(t, "gorule")
	orig := bytes.Clone(code)
	a := prepare(t, code)
	results := make(chan *host.Prepared, 4)
	for i := 0; i < 4; i++ {
		go func() {
			p, err := host.Prepare(code)
			if err != nil {
				t.Error(err)
			}
			results <- p
		}()
	}
	for i := 0; i < 4; i++ {
		if b := <-results; b == nil || b.Hash != a.Hash {
			t.Fatal("preparing the same bytes twice gave different modules")
		}
	}
	if !bytes.Equal(code, orig) {
		t.Fatal("Prepare modified its input")
	}
}

// TestConcurrentCallsShareInstances: calls beyond the module's instances
// wait for one instead of making more (each a fresh 2.8 MB memory for a
// Go rule), and every call still starts from the snapshot.
func TestConcurrentCallsShareInstances(t *testing.T) {
	p := prepare(t, goRule(t, "gorule"))
	// Long enough (tens of ms) that the scheduler preempts calls midway
	// and many are in flight at once.
	c := host.Call{Input: []byte(`{"n":150000,"alloc":1000}`), TxTime: txTime, TxID: "busy", GasLimit: 1 << 40}
	want := call(t, load(t, newHost(t, host.Config{}), p), c)
	if want.err != "" {
		t.Fatal(want.err)
	}
	m := load(t, newHost(t, host.Config{}), p)
	const goroutines = 32
	got := make(chan outcome, goroutines*2)
	var wg sync.WaitGroup
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 2 {
				res, err := m.Bill(context.Background(), c)
				o := outcome{}
				if err != nil {
					o.err = err.Error()
				} else {
					o.out, o.gas, o.log, o.bill = string(res.Output), res.GasUsed, string(res.Log), res.Bill
				}
				got <- o
			}
		}()
	}
	wg.Wait()
	close(got)
	for o := range got {
		sameOutcome(t, "concurrent vs alone", want, o)
	}
	if n := host.InstancesMade(m); n > host.InstancesPerModule {
		t.Errorf("%d concurrent calls made %d instances; at most %d may exist", goroutines, n, host.InstancesPerModule)
	}
}
