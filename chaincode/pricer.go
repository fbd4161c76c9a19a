package chaincode

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"sync"

	"github.com/fedmeter/fedmeter/chaincode/model"
	"github.com/fedmeter/fedmeter/host"
)

// Pricer runs a billing rule on one input. The contract's default is the Wasm
// pricer (package host); tests and benchmarks plug in a native one.
type Pricer interface {
	// Price runs rule on call.Input. code returns the rule's uploaded bytes;
	// an implementation calls it only when it has no prepared copy.
	Price(ctx context.Context, rule *Rule, code func() ([]byte, error), call host.Call) (*host.Result, error)
}

// BillGasLimit is the gas limit of every billing call the contract makes
// (model.BillGasLimit, which TestBillGasLimit holds to host.DefaultGasLimit).
const BillGasLimit = model.BillGasLimit

// prepare validates and instruments an uploaded module (pure function).
func prepare(code []byte) (*host.Prepared, error) { return host.Prepare(code) }

// wasmPricer runs rules with one process-wide host.Host, created on first use,
// and keeps prepared modules keyed by the uploaded bytes' hash.
type wasmPricer struct {
	// dir, if set, keeps modules and wazero's compiled code on disk
	// (NewWasmPricer).
	dir string

	once sync.Once
	h    *host.Host
	err  error

	mu        sync.Mutex
	prepared  map[string]*host.Prepared
	preparing map[string]*flight // first uses in progress, by rule hash
}

// maxPrepared bounds the prepared modules kept in memory.
const maxPrepared = 64

var defaultWasm = &wasmPricer{prepared: map[string]*host.Prepared{}}

// WasmPricer returns the process-wide Wasm pricer.
func WasmPricer() Pricer { return defaultWasm }

// NewWasmPricer returns a Wasm pricer that keeps the rules it has run in
// dir: each module's bytes (modules/<sha256>.wasm, checked against the
// rule's hash when read) and wazero's compiled code (compiled/). A chaincode
// service that restarts then neither asks the peer for a module again (read
// through the key's history, which makes the peer fetch and decode the
// whole upload transaction: seconds of its CPU for a Go rule) nor compiles
// it again (~1 s; ~0.2 s from the cache). What a rule computes does not
// depend on the cache. Use one pricer per process: each has its own host.
func NewWasmPricer(dir string) Pricer {
	return &wasmPricer{dir: dir, prepared: map[string]*host.Prepared{}}
}

func (w *wasmPricer) host() (*host.Host, error) {
	w.once.Do(func() {
		cfg := host.Config{}
		if w.dir != "" {
			cfg.CacheDir = filepath.Join(w.dir, "compiled")
		}
		w.h, w.err = host.New(context.Background(), cfg)
	})
	return w.h, w.err
}

// moduleFile is where dir keeps the module with SHA-256 hash.
func (w *wasmPricer) moduleFile(hash string) string {
	return filepath.Join(w.dir, "modules", hash+".wasm")
}

// cachedModule returns the module kept on disk for hash, if its bytes
// still hash to it.
func (w *wasmPricer) cachedModule(hash string) []byte {
	if w.dir == "" || checkHash("hash", hash) != nil {
		return nil
	}
	b, err := os.ReadFile(w.moduleFile(hash))
	if err != nil {
		return nil
	}
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != hash {
		return nil
	}
	return b
}

// keepModule writes a module to disk for the next start, atomically; the
// cache is best effort, so a failure only costs that.
func (w *wasmPricer) keepModule(hash string, b []byte) {
	if w.dir == "" || checkHash("hash", hash) != nil {
		return
	}
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != hash {
		return
	}
	writeAtomic(w.moduleFile(hash), b)
}

// writeAtomic writes b to name through a temporary file and a rename, so a
// reader never sees half a file. The cache is best effort: a failure only
// costs the next start the work.
func writeAtomic(name string, b []byte) {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return
	}
	tmp, err := os.CreateTemp(filepath.Dir(name), filepath.Base(name)+".*.tmp")
	if err != nil {
		return
	}
	_, err = tmp.Write(b)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), name)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
}

// preparedFor returns the rule's prepared module, preparing it on first
// use. Concurrent first uses prepare it once: after a chaincode service
// starts, every transaction in flight asks for the rule at the same moment,
// and each reading the module (megabytes, through the peer) and preparing
// it (~100 ms of CPU for a Go rule) held the first 128 releases on the seed
// network for over 13 s. A caller that waited for another's preparation
// that failed tries itself: the failure may have been that transaction's.
func (w *wasmPricer) preparedFor(rule *Rule, code func() ([]byte, error)) (*host.Prepared, error) {
	for {
		w.mu.Lock()
		if p := w.prepared[rule.Hash]; p != nil {
			w.mu.Unlock()
			return p, nil
		}
		if f := w.preparing[rule.Hash]; f != nil {
			w.mu.Unlock()
			<-f.done
			if f.err == nil {
				return f.p, nil
			}
			continue
		}
		f := &flight{done: make(chan struct{})}
		if w.preparing == nil {
			w.preparing = map[string]*flight{}
		}
		w.preparing[rule.Hash] = f
		w.mu.Unlock()

		f.p, f.err = w.prepareRule(rule, code)
		w.mu.Lock()
		delete(w.preparing, rule.Hash)
		if f.err == nil {
			if len(w.prepared) >= maxPrepared {
				w.prepared = map[string]*host.Prepared{}
			}
			w.prepared[rule.Hash] = f.p
		}
		w.mu.Unlock()
		close(f.done)
		return f.p, f.err
	}
}

// flight is a preparation in progress; done is closed when p or err is set.
type flight struct {
	done chan struct{}
	p    *host.Prepared
	err  error
}

func (w *wasmPricer) prepareRule(rule *Rule, code func() ([]byte, error)) (*host.Prepared, error) {
	if p := w.cachedPrepared(rule); p != nil {
		return p, nil
	}
	b := w.cachedModule(rule.Hash)
	if b == nil {
		var err error
		if b, err = code(); err != nil {
			return nil, err
		}
		w.keepModule(rule.Hash, b)
	}
	p, err := prepare(b)
	if err != nil {
		return nil, ruleFailed("rule %s %s no longer prepares on this peer: %v", rule.Name, rule.Version, err)
	}
	if got := hex.EncodeToString(p.Hash[:]); got != rule.PreparedHash {
		return nil, ruleFailed("rule %s %s prepares to %s on this peer but to %s (profile %s) at upload; peers must run the same fedmeter release",
			rule.Name, rule.Version, got, rule.PreparedHash, rule.Profile)
	}
	w.keepPrepared(p)
	return p, nil
}

// preparedFile is where dir keeps the prepared module whose SHA-256 is hash.
func (w *wasmPricer) preparedFile(hash string) string {
	return filepath.Join(w.dir, "prepared", hash+".wasm")
}

// cachedPrepared returns the rule's prepared module kept on disk, if its
// bytes hash to the prepared hash the ledger recorded at upload. Preparation
// is a pure function of the upload, and the endorsers that accepted the
// upload recorded the hash of its output, so bytes with that hash are what
// preparing again would give: a restarted process skips it (~300 ms for a
// 2 MB Go rule, two validations).
func (w *wasmPricer) cachedPrepared(rule *Rule) *host.Prepared {
	if w.dir == "" || checkHash("prepared_hash", rule.PreparedHash) != nil || rule.Profile != host.ProfileV1().Version {
		return nil
	}
	b, err := os.ReadFile(w.preparedFile(rule.PreparedHash))
	if err != nil {
		return nil
	}
	sum := sha256.Sum256(b)
	if hex.EncodeToString(sum[:]) != rule.PreparedHash {
		return nil
	}
	src, err := hex.DecodeString(rule.Hash)
	if err != nil || len(src) != sha256.Size {
		return nil
	}
	p := &host.Prepared{Code: b, Hash: sum, Profile: rule.Profile, ABI: max(rule.ABI, 1)}
	copy(p.SourceHash[:], src)
	return p
}

// keepPrepared writes a prepared module to disk for the next start.
func (w *wasmPricer) keepPrepared(p *host.Prepared) {
	if w.dir == "" {
		return
	}
	writeAtomic(w.preparedFile(hex.EncodeToString(p.Hash[:])), p.Code)
}

func (w *wasmPricer) Price(ctx context.Context, rule *Rule, code func() ([]byte, error), call host.Call) (*host.Result, error) {
	h, err := w.host()
	if err != nil {
		return nil, internalf("the Wasm host could not start: %v", err)
	}
	p, err := w.preparedFor(rule, code)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		m, err := h.Load(ctx, p)
		if err != nil {
			return nil, err
		}
		res, err := m.Bill(ctx, call)
		// A module evicted from the host's cache between Load and Bill is
		// loaded again; nothing ran.
		if attempt == 0 && errors.Is(err, host.ErrEvicted) {
			continue
		}
		return res, err
	}
}
