package host_test

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"

	"github.com/fedmeter/fedmeter/host"
)

// TestDiskCache: a second host on the same cache directory loads the module
// from disk and bills identically.
func TestDiskCache(t *testing.T) {
	dir := t.TempDir()
	p := prepare(t, fixture(t, "ok_cpu.wasm"))
	c := host.Call{Input: []byte(`{"iterations":50}`), TxID: "c"}
	first := call(t, load(t, newHost(t, host.Config{CacheDir: dir}), p), c)
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) == 0 {
		t.Fatalf("cache directory is empty after a load (%v)", err)
	}
	second := call(t, load(t, newHost(t, host.Config{CacheDir: dir}), p), c)
	sameOutcome(t, "fresh vs disk-cached compile", first, second)
}

// TestEviction: the in-memory cache is bounded; an evicted module says so and
// loading it again works.
func TestEviction(t *testing.T) {
	h := newHost(t, host.Config{MaxModules: 1})
	a := load(t, h, prepare(t, fixture(t, "ok_fixed.wasm")))
	load(t, h, prepare(t, fixture(t, "ok_rule_error.wasm")))
	if _, err := a.Bill(context.Background(), host.Call{}); !errors.Is(err, host.ErrEvicted) {
		t.Fatalf("bill on an evicted module: err = %v, want ErrEvicted", err)
	}
	again := load(t, h, prepare(t, fixture(t, "ok_fixed.wasm")))
	if _, err := again.Bill(context.Background(), host.Call{}); err != nil {
		t.Fatalf("bill after reloading: %v", err)
	}
}

// TestConcurrentCalls: many goroutines on one module get the same answer,
// each from its own instance, and loads of one module share a compilation.
func TestConcurrentCalls(t *testing.T) {
	h := newHost(t, host.Config{})
	p := prepare(t, fixture(t, "ok_stateful.wasm"))
	var wg sync.WaitGroup
	results := make(chan outcome, 64)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := h.Load(context.Background(), p)
			if err != nil {
				t.Error(err)
				return
			}
			for j := 0; j < 4; j++ {
				results <- call(t, m, host.Call{Input: []byte(`{}`), TxID: "same"})
			}
		}()
	}
	wg.Wait()
	close(results)
	var first *outcome
	for o := range results {
		if o.err != "" {
			t.Fatal(o.err)
		}
		if first == nil {
			first = &o
			continue
		}
		sameOutcome(t, "concurrent calls", *first, o)
	}
}
