package chaincode

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fedmeter/fedmeter/host"
)

// TestPricerPreparesOnce: the first uses of a rule that arrive together
// (every transaction in flight when a chaincode service starts) read and
// prepare its module once; a caller whose leader failed tries itself.
func TestPricerPreparesOnce(t *testing.T) {
	code := wasmFile(t, "ecs_hourly.wasm")
	p, err := host.Prepare(code)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(code)
	sum := hex.EncodeToString(h[:])
	rule := &Rule{Name: "ecs", Version: "1.0.0", Hash: sum, PreparedHash: hex.EncodeToString(p.Hash[:])}

	for _, failFirst := range []bool{false, true} {
		w := &wasmPricer{prepared: map[string]*host.Prepared{}}
		var reads atomic.Int32
		release := make(chan struct{})
		read := func() ([]byte, error) {
			n := reads.Add(1)
			if n == 1 {
				<-release // hold the first reader until the others wait
				if failFirst {
					return nil, errors.New("this transaction's history read failed")
				}
			}
			return code, nil
		}
		const callers = 16
		var wg sync.WaitGroup
		errs := make([]error, callers)
		for i := range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var got *host.Prepared
				got, errs[i] = w.preparedFor(rule, read)
				if errs[i] == nil && got.Hash != p.Hash {
					errs[i] = errors.New("a different module")
				}
			}()
		}
		for {
			w.mu.Lock()
			waiting := w.preparing[sum] != nil
			w.mu.Unlock()
			if waiting {
				break
			}
			time.Sleep(time.Millisecond)
		}
		time.Sleep(20 * time.Millisecond) // let the others reach the wait
		close(release)
		wg.Wait()
		failed := 0
		for _, err := range errs {
			if err != nil {
				failed++
			}
		}
		want := map[bool]int32{false: 1, true: 2}[failFirst]
		if got := reads.Load(); got != want {
			t.Errorf("failFirst=%v: the module was read %d times by %d concurrent first uses, want %d", failFirst, got, callers, want)
		}
		if wantFailed := map[bool]int{false: 0, true: 1}[failFirst]; failed != wantFailed {
			t.Errorf("failFirst=%v: %d callers failed to prepare, want %d: %v", failFirst, failed, wantFailed, errs)
		}
		if len(w.prepared) != 1 || len(w.preparing) != 0 {
			t.Errorf("failFirst=%v: prepared %d, preparing %d", failFirst, len(w.prepared), len(w.preparing))
		}
	}
}

// TestPricerDiskCache: a pricer with a directory keeps the modules it ran,
// so that the next process (a restarted chaincode service) does not read
// them from the peer again; a kept file that no longer hashes to its name
// is ignored.
func TestPricerDiskCache(t *testing.T) {
	dir := t.TempDir()
	code := wasmFile(t, "ecs_hourly.wasm")
	p, err := host.Prepare(code)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(code)
	rule := &Rule{Name: "ecs", Version: "1.0.0", Hash: hex.EncodeToString(h[:]), PreparedHash: hex.EncodeToString(p.Hash[:])}
	var reads atomic.Int32
	read := func() ([]byte, error) { reads.Add(1); return code, nil }

	first := NewWasmPricer(dir).(*wasmPricer)
	if _, err := first.preparedFor(rule, read); err != nil {
		t.Fatal(err)
	}
	restarted := NewWasmPricer(dir).(*wasmPricer)
	got, err := restarted.preparedFor(rule, read)
	if err != nil || got.Hash != p.Hash {
		t.Fatalf("restarted: %v", err)
	}
	if n := reads.Load(); n != 1 {
		t.Fatalf("the module was read from the ledger %d times by two processes sharing %s, want 1", n, dir)
	}
	// A damaged file is not used: the module is read again and rewritten.
	if err := os.WriteFile(first.moduleFile(rule.Hash), []byte("\x00asm damaged"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := NewWasmPricer(dir).(*wasmPricer).preparedFor(rule, read); err != nil {
		t.Fatal(err)
	}
	if n := reads.Load(); n != 2 {
		t.Fatalf("after damaging the kept module: %d reads, want 2", n)
	}
	if b, err := os.ReadFile(first.moduleFile(rule.Hash)); err != nil || string(b) != string(code) {
		t.Fatalf("the kept module was not rewritten: %v", err)
	}
	// The module loads through the compilation cache too.
	h1, err := restarted.host()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h1.Load(context.Background(), got); err != nil {
		t.Fatalf("loading through the compilation cache: %v", err)
	}
	if compiled, err := os.ReadDir(filepath.Join(dir, "compiled")); err != nil || len(compiled) == 0 {
		t.Fatalf("no compiled code kept in %s/compiled (%v)", dir, err)
	}
}

// TestPricerPreparedCache: a pricer with a directory keeps prepared modules
// too, so a restarted process neither reads nor prepares a rule it ran
// before; a kept prepared module is used only if it hashes to the prepared
// hash the ledger recorded, and only under the profile it was prepared with.
func TestPricerPreparedCache(t *testing.T) {
	dir := t.TempDir()
	code := wasmFile(t, "ecs_hourly.wasm")
	p, err := host.Prepare(code)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(code)
	rule := &Rule{Name: "ecs", Version: "1.0.0", Hash: hex.EncodeToString(h[:]),
		PreparedHash: hex.EncodeToString(p.Hash[:]), Profile: p.Profile, ABI: 1}
	var reads atomic.Int32
	read := func() ([]byte, error) { reads.Add(1); return code, nil }
	first := NewWasmPricer(dir).(*wasmPricer)
	if _, err := first.preparedFor(rule, read); err != nil {
		t.Fatal(err)
	}
	// Without the kept upload, a restarted process still has what runs.
	if err := os.RemoveAll(filepath.Join(dir, "modules")); err != nil {
		t.Fatal(err)
	}
	got, err := NewWasmPricer(dir).(*wasmPricer).preparedFor(rule, read)
	if err != nil || got.Hash != p.Hash || string(got.Code) != string(p.Code) || got.SourceHash != p.SourceHash {
		t.Fatalf("restarted: %v", err)
	}
	if n := reads.Load(); n != 1 {
		t.Fatalf("the module was read %d times, want 1 (the prepared copy on disk was not used)", n)
	}
	// A damaged prepared copy is not used: the upload is read and prepared again.
	if err := os.WriteFile(first.preparedFile(rule.PreparedHash), append(p.Code[:len(p.Code):len(p.Code)], 0), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err = NewWasmPricer(dir).(*wasmPricer).preparedFor(rule, read)
	if err != nil || got.Hash != p.Hash {
		t.Fatalf("after damage: %v", err)
	}
	if n := reads.Load(); n != 2 {
		t.Fatalf("after damaging the prepared copy: %d reads, want 2", n)
	}
	// A rule recorded under another profile is prepared again from its
	// upload, never taken from the prepared copy.
	if err := os.RemoveAll(filepath.Join(dir, "modules")); err != nil {
		t.Fatal(err)
	}
	other := *rule
	other.Profile = "fedmeter-host/0"
	if _, err := NewWasmPricer(dir).(*wasmPricer).preparedFor(&other, read); err != nil {
		t.Fatal(err)
	}
	if n := reads.Load(); n != 3 {
		t.Fatalf("a rule of another profile: %d reads, want 3 (the prepared copy must not be used)", n)
	}
}
