package wasi

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// ModuleName is the name WASI preview 1 functions are imported from.
const ModuleName = "wasi_snapshot_preview1"

// Signature is a WASI function's wasm type.
type Signature struct{ Params, Results []api.ValueType }

// Functions lists every function this package serves, by name, with its exact
// WASI preview 1 signature. Preparation uses it as the import allow-list: a
// module importing anything else is rejected. It is built from the same table
// [Instantiate] registers, so the two cannot disagree. Do not modify it.
var Functions = func() map[string]Signature {
	m := make(map[string]Signature, len(hostFuncs))
	for _, f := range hostFuncs {
		m[f.name] = Signature{Params: slices.Clone(f.params), Results: slices.Clone(f.results)}
	}
	return m
}()

// Names returns the names of [Functions], sorted.
func Names() []string {
	names := make([]string, len(hostFuncs))
	for i, f := range hostFuncs {
		names[i] = f.name
	}
	slices.Sort(names)
	return names
}

// Env is the deterministic environment of one call.
type Env struct {
	// TimeNanos is the realtime clock reading (transaction time, Unix ns)
	// and the starting point of the monotonic clock. Negative reads as 0.
	TimeNanos int64
	// TxID seeds random_get.
	TxID string
	// MaxLogBytes bounds the stdout+stderr log; bytes beyond it are dropped
	// and the log marked truncated.
	MaxLogBytes int
	// GasPerHostCall is the base charge of every host function.
	GasPerHostCall uint64
	// GasPerRandomByte is what random_get charges per byte instead of one:
	// hashing costs far more than moving bytes. Zero means one.
	GasPerRandomByte uint64
	// Charge is called once by every host function with the gas units to
	// charge: GasPerHostCall plus one per byte read from or written to guest
	// memory, except random_get (GasPerRandomByte a byte) and fd_write (16
	// per iovec, and only the bytes the log keeps): see the package doc. It may panic to abort the call (the host does so when gas runs
	// out); host functions never recover that panic. Nil charges nothing.
	Charge func(mod api.Module, units uint64)
}

// State is the mutable state of one call: the log, the monotonic clock and the
// position in the random stream. It is not safe for concurrent use; a call
// runs its host functions on one goroutine.
type State struct {
	env       Env
	log       []byte
	truncated bool

	monoOffset uint64 // nanoseconds the monotonic clock is ahead of the base

	rngInput []byte   // TxID followed by the 8-byte big-endian block counter
	rngBlock [32]byte // current block of the stream
	rngUsed  int      // bytes of rngBlock already handed out
	rngCount uint64   // counter of the next block
}

// NewState returns the state of a call that runs in env.
func NewState(env Env) *State {
	in := make([]byte, len(env.TxID)+8)
	copy(in, env.TxID)
	return &State{env: env, rngInput: in, rngUsed: len(State{}.rngBlock)}
}

// Log returns a copy of what the guest wrote to stdout and stderr, at most
// Env.MaxLogBytes bytes.
func (s *State) Log() []byte { return slices.Clone(s.log) }

// LogTruncated reports whether bytes were dropped from the log.
func (s *State) LogTruncated() bool { return s.truncated }

type stateKey struct{}

// WithState returns a context carrying s, where the host functions find it.
func WithState(ctx context.Context, s *State) context.Context {
	return context.WithValue(ctx, stateKey{}, s)
}

// stateFrom returns the state in ctx, or a fresh state of the zero Env.
func stateFrom(ctx context.Context) *State {
	if s, ok := ctx.Value(stateKey{}).(*State); ok && s != nil {
		return s
	}
	return NewState(Env{})
}

// ExitError is the value proc_exit panics with. The guest call that exited
// fails with an error wrapping it: use errors.As to get the code.
type ExitError struct{ Code uint32 }

func (e *ExitError) Error() string {
	return "wasi: proc_exit(" + strconv.FormatUint(uint64(e.Code), 10) + ")"
}

// Instantiate registers the host module [ModuleName] on r, serving every
// function of [Functions]. Close the result (or r) to remove it.
func Instantiate(ctx context.Context, r wazero.Runtime) (api.Closer, error) {
	b := r.NewHostModuleBuilder(ModuleName)
	for _, f := range hostFuncs {
		b.NewFunctionBuilder().
			WithGoModuleFunction(f.goFunc(), f.params, f.results).
			WithParameterNames(f.paramNames...).
			Export(f.name)
	}
	mod, err := b.Instantiate(ctx)
	if err != nil {
		return nil, fmt.Errorf("wasi: instantiate host module %q: %w", ModuleName, err)
	}
	return mod, nil
}

// randomGas is random_get's charge for n bytes, beyond the base cost.
func (s *State) randomGas(n uint64) uint64 {
	per := max(s.env.GasPerRandomByte, 1)
	if n > math.MaxUint64/per {
		return math.MaxUint64
	}
	return n * per
}

// logRoom is how many more bytes the log keeps.
func (s *State) logRoom() int { return max(s.env.MaxLogBytes-len(s.log), 0) }

// charge calls Env.Charge with the base cost plus bytes.
func (s *State) charge(mod api.Module, bytes uint64) {
	if s.env.Charge != nil {
		s.env.Charge(mod, satAdd(s.env.GasPerHostCall, bytes))
	}
}

// appendLog appends p to the log within the bound.
func (s *State) appendLog(p []byte) {
	room := s.env.MaxLogBytes - len(s.log)
	if room < 0 {
		room = 0
	}
	if len(p) > room {
		p = p[:room]
		s.truncated = true
	}
	s.log = append(s.log, p...)
}

// logFull reports whether no further byte fits in the log.
func (s *State) logFull() bool { return len(s.log) >= s.env.MaxLogBytes }

// realtime is the realtime clock reading.
func (s *State) realtime() uint64 {
	if s.env.TimeNanos < 0 {
		return 0
	}
	return uint64(s.env.TimeNanos)
}

// monotonicNow is the monotonic reading without consuming a read.
func (s *State) monotonicNow() uint64 { return satAdd(s.realtime(), s.monoOffset) }

// readMonotonic returns the monotonic reading and advances the clock by 1 µs.
func (s *State) readMonotonic() uint64 {
	v := s.monotonicNow()
	s.monoOffset = satAdd(s.monoOffset, 1000)
	return v
}

// advanceTo moves the monotonic clock forward so that it reads at least t.
func (s *State) advanceTo(t uint64) {
	if now := s.monotonicNow(); t > now {
		s.monoOffset = satAdd(s.monoOffset, t-now)
	}
}

// fillRandom fills dst with the next bytes of the random stream.
func (s *State) fillRandom(dst []byte) {
	for len(dst) > 0 {
		if s.rngUsed == len(s.rngBlock) {
			binary.BigEndian.PutUint64(s.rngInput[len(s.rngInput)-8:], s.rngCount)
			s.rngBlock = sha256.Sum256(s.rngInput)
			s.rngCount++
			s.rngUsed = 0
		}
		n := copy(dst, s.rngBlock[s.rngUsed:])
		s.rngUsed += n
		dst = dst[n:]
	}
}

// satAdd returns a+b, or the largest uint64 if that overflows.
func satAdd(a, b uint64) uint64 {
	if a > math.MaxUint64-b {
		return math.MaxUint64
	}
	return a + b
}
