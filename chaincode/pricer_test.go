package chaincode

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
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
