package host

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/fedmeter/fedmeter/host/internal/instrument"
	"github.com/fedmeter/fedmeter/host/internal/wasi"
	"github.com/fedmeter/fedmeter/host/internal/wasm"
)

// Host compiles and runs prepared modules. It is safe for concurrent use.
type Host struct {
	prof  Profile
	kind  EngineKind
	rt    wazero.Runtime
	cache wazero.CompilationCache

	// calls bounds the calls running at once, host-wide: each may grow its
	// instance to the profile's memory limit (RATIONALE.md, "Memory").
	calls chan struct{}

	mu       sync.Mutex
	max      int
	maxBytes int64                      // bound on the cached modules' footprints
	bytes    int64                      // sum of the cached modules' footprints
	modules  map[[32]byte]*list.Element // of *Module
	lru      *list.List
	loading  map[[32]byte]*loadCall
	closed   bool
}

type loadCall struct {
	done chan struct{}
	m    *Module
	err  error
}

// New returns a Host. Close it to release compiled code.
func New(ctx context.Context, cfg Config) (*Host, error) {
	prof := ProfileV1()
	if cfg.Profile != nil {
		prof = *cfg.Profile
	}
	rc := runtimeConfig(cfg.Engine, prof.MaxMemoryPages)
	h := &Host{prof: prof, kind: cfg.Engine, max: cfg.MaxModules,
		modules: map[[32]byte]*list.Element{}, lru: list.New(), loading: map[[32]byte]*loadCall{}}
	if h.max <= 0 {
		h.max = 64
	}
	h.maxBytes = cfg.MaxMemoryBytes
	if h.maxBytes <= 0 {
		h.maxBytes = DefaultMaxMemoryBytes
	}
	inFlight := cfg.MaxCallsInFlight
	if inFlight <= 0 {
		inFlight = DefaultMaxCallsInFlight
	}
	h.calls = make(chan struct{}, inFlight)
	if cfg.CacheDir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(cfg.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("open compilation cache %q: %w", cfg.CacheDir, err)
		}
		h.cache = cache
		rc = rc.WithCompilationCache(cache)
	}
	h.rt = wazero.NewRuntimeWithConfig(ctx, rc)
	if _, err := wasi.Instantiate(ctx, h.rt); err != nil {
		h.rt.Close(ctx)
		return nil, fmt.Errorf("instantiate WASI host module: %w", err)
	}
	return h, nil
}

// Engine reports which wazero engine the host runs.
func (h *Host) Engine() EngineKind { return h.kind }

// Close releases every compiled module. Calls in flight must have returned.
func (h *Host) Close(ctx context.Context) error {
	h.mu.Lock()
	h.closed = true
	h.modules = map[[32]byte]*list.Element{}
	h.lru.Init()
	h.mu.Unlock()
	err := h.rt.Close(ctx)
	if h.cache != nil {
		if cerr := h.cache.Close(ctx); err == nil {
			err = cerr
		}
	}
	return err
}

// Load returns the ready-to-call Module for p: compiled (or taken from the
// cache), initialized once, and snapshotted. Concurrent loads of the same
// module share one compilation.
func (h *Host) Load(ctx context.Context, p *Prepared) (*Module, error) {
	if p == nil {
		return nil, errors.New("load: nil prepared module")
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, errors.New("load: host is closed")
	}
	if el, ok := h.modules[p.Hash]; ok {
		h.lru.MoveToFront(el)
		h.mu.Unlock()
		return el.Value.(*Module), nil
	}
	if lc, ok := h.loading[p.Hash]; ok {
		h.mu.Unlock()
		<-lc.done
		return lc.m, lc.err
	}
	lc := &loadCall{done: make(chan struct{})}
	h.loading[p.Hash] = lc
	h.mu.Unlock()

	lc.m, lc.err = h.load(ctx, p)

	h.mu.Lock()
	delete(h.loading, p.Hash)
	if lc.err == nil && !h.closed {
		h.modules[p.Hash] = h.lru.PushFront(lc.m)
		h.bytes += lc.m.footprint
		// Evict by count and by bytes; the module just loaded stays even
		// if it alone is over the byte bound.
		for h.lru.Len() > h.max || (h.bytes > h.maxBytes && h.lru.Len() > 1) {
			old := h.lru.Remove(h.lru.Back()).(*Module)
			delete(h.modules, old.hash)
			h.bytes -= old.footprint
			old.release()
		}
	}
	h.mu.Unlock()
	close(lc.done)
	return lc.m, lc.err
}

// Module is a compiled, initialized rule ready to bill. It is safe for
// concurrent use: each call takes an instance from a pool and restores it to
// the post-init snapshot first.
type Module struct {
	h        *Host
	hash     [32]byte
	compiled wazero.CompiledModule
	hasStart bool
	hasInit  bool
	globals  []string // export names of the original mutable globals

	// The snapshot of an initialized instance, and its memory cut into runs
	// of all-zero and other 4 KiB pages: restoring clears the zero runs
	// instead of copying them (about half of a Go rule's memory, and a
	// clear writes without reading).
	snapMem     []byte
	snapRuns    []memRun
	snapGlobals []uint64
	// restoreGas is what every call pays for its restore, before the rule
	// runs: Profile.GasPerRestorePage per 4 KiB copied and
	// GasPerRestoreZeroPage per 4 KiB cleared.
	restoreGas uint64
	// footprint is the most memory the module holds while cached: its
	// compiled code (estimated), the snapshot, and a full pool of
	// instances at the snapshot's size.
	footprint int64

	// pool holds idle instances, restored when taken; slots bounds the
	// instances in use, so that a burst of calls waits for one rather
	// than instantiating more. A call does not block (the rule has no I/O),
	// so more instances than CPUs run no faster, and each extra one would
	// cost an instantiation, a grow and the page faults of a fresh 2.8 MB
	// memory (RATIONALE.md, "Calls").
	pool  chan *instance
	slots chan struct{}
	made  atomic.Int64 // instances ever made (tests: the bound holds)

	refMu   sync.Mutex
	refs    int  // calls in flight
	evicted bool // released by the cache; close when refs drops to 0
}

type instance struct {
	mod                api.Module
	mem                api.Memory
	gas, depth, status api.MutableGlobal
	globals            []api.MutableGlobal
	alloc, bill        api.Function
	start, init        api.Function
	stack              []uint64
}

func (h *Host) load(ctx context.Context, p *Prepared) (*Module, error) {
	dm, err := wasm.Decode(p.Code)
	if err != nil {
		return nil, invalidf("prepared code does not decode (was it made by Prepare?): %v", err)
	}
	m := &Module{h: h, hash: p.Hash, pool: make(chan *instance, instancesPerModule), slots: make(chan struct{}, instancesPerModule)}
	for _, e := range dm.Exports {
		switch {
		case e.Name == instrument.ExportStart:
			m.hasStart = true
		case e.Name == "_initialize":
			m.hasInit = true
		case strings.HasPrefix(e.Name, instrument.ExportGlobal):
			m.globals = append(m.globals, e.Name)
		}
	}
	if m.compiled, err = h.rt.CompileModule(ctx, p.Code); err != nil {
		return nil, invalidf("compile: %s", firstLine(err.Error()))
	}
	// Init may grow memory to the profile's limit before the snapshot
	// bound is checked: it takes a call slot like any call.
	select {
	case h.calls <- struct{}{}:
	case <-ctx.Done():
		m.compiled.Close(ctx)
		return nil, ctx.Err()
	}
	defer func() { <-h.calls }()
	inst, err := m.instantiate(ctx)
	if err != nil {
		m.compiled.Close(ctx)
		return nil, err
	}
	if err := m.initialize(ctx, inst); err != nil {
		inst.mod.Close(ctx)
		m.compiled.Close(ctx)
		return nil, err
	}
	if pages, limit := inst.mem.Size()/65536, h.prof.MaxSnapshotPages; pages > limit {
		inst.mod.Close(ctx)
		m.compiled.Close(ctx)
		return nil, fmt.Errorf("%w: init left %d pages of memory, more than the snapshot limit of %d (Profile.MaxSnapshotPages)",
			ErrMemoryLimit, pages, limit)
	}
	m.snapMem = append([]byte(nil), memView(inst.mem)...)
	m.snapRuns = memRuns(m.snapMem)
	m.restoreGas = restoreGas(m.snapRuns, h.prof)
	m.footprint = int64(len(p.Code))*compiledBytesPerCodeByte(h.kind) + int64(len(m.snapMem))*(1+instancesPerModule)
	m.snapGlobals = make([]uint64, len(inst.globals))
	for i, g := range inst.globals {
		m.snapGlobals[i] = g.Get()
	}
	m.pool <- inst // the pool is empty: a send does not block
	return m, nil
}

// compiledBytesPerCodeByte estimates a compiled module's size from the
// prepared module's, which is all wazero tells. Measured on the stock-Go test
// rule and the ECS rule (2.6-3.4 MB prepared): loading one grew Go's heap by
// 2.9-3.0x its size on the compiler, plus the machine code mapped outside the
// heap (counted here as 2x more), and by 25-26x on the interpreter, whose
// compiled form is a slice of Go structs per instruction.
func compiledBytesPerCodeByte(k EngineKind) int64 {
	if k == Interpreter {
		return 26
	}
	return 5
}

// restoreGas is the charge of restoring a snapshot cut into runs.
func restoreGas(runs []memRun, prof Profile) uint64 {
	var gas uint64
	for _, r := range runs {
		pages := uint64((r.end - r.off + runPage - 1) / runPage)
		if r.zero {
			gas += pages * prof.GasPerRestoreZeroPage
		} else {
			gas += pages * prof.GasPerRestorePage
		}
	}
	return gas
}

// instancesPerModule bounds a module's instances: calls in flight beyond
// it wait for one to be returned (TestConcurrentCallsShareInstances).
const instancesPerModule = 8

func memView(mem api.Memory) []byte {
	b, _ := mem.Read(0, mem.Size())
	return b
}

func (m *Module) instantiate(ctx context.Context) (*instance, error) {
	// No name: instances of one module coexist in the runtime. No start
	// functions: the host runs init itself, metered, via __fm_start.
	cfg := wazero.NewModuleConfig().WithName("").WithStartFunctions()
	mod, err := m.h.rt.InstantiateModule(withMemoryAllocator(ctx), m.compiled, cfg)
	m.made.Add(1)
	if err != nil {
		return nil, &TrapError{Phase: "init", Message: firstLine(err.Error())}
	}
	inst := &instance{mod: mod, mem: mod.Memory(), stack: make([]uint64, 2)}
	var ok bool
	if inst.gas, ok = mod.ExportedGlobal(instrument.ExportGas).(api.MutableGlobal); !ok {
		return nil, invalidf("prepared module lacks %s", instrument.ExportGas)
	}
	inst.depth, _ = mod.ExportedGlobal(instrument.ExportDepth).(api.MutableGlobal)
	inst.status, _ = mod.ExportedGlobal(instrument.ExportStatus).(api.MutableGlobal)
	for _, name := range m.globals {
		g, ok := mod.ExportedGlobal(name).(api.MutableGlobal)
		if !ok {
			return nil, invalidf("prepared module lacks mutable global %s", name)
		}
		inst.globals = append(inst.globals, g)
	}
	inst.alloc = mod.ExportedFunction("fm_alloc")
	inst.bill = mod.ExportedFunction("fm_bill")
	inst.start = mod.ExportedFunction(instrument.ExportStart)
	inst.init = mod.ExportedFunction("_initialize")
	if inst.depth == nil || inst.status == nil || inst.mem == nil || inst.alloc == nil || inst.bill == nil {
		return nil, invalidf("prepared module lacks an ABI export")
	}
	return inst, nil
}

// initialize runs the module's start function and _initialize, metered by
// Profile.InitGas, in the environment of an empty transaction at time 0.
func (m *Module) initialize(ctx context.Context, inst *instance) error {
	st := wasi.NewState(m.wasiEnv(0, ""))
	ctx = wasi.WithState(ctx, st)
	inst.gas.Set(m.h.prof.InitGas)
	for _, fn := range []api.Function{inst.start, inst.init} {
		if fn == nil {
			continue
		}
		if _, err := fn.Call(ctx); err != nil {
			// A reactor or command may end init with proc_exit(0): that
			// is a normal return, not a failure.
			var exit *wasi.ExitError
			if errors.As(err, &exit) && exit.Code == 0 && inst.status.Get() == instrument.StatusOK {
				continue
			}
			return classify(inst, "init", err)
		}
	}
	return nil
}

func (m *Module) wasiEnv(timeNanos int64, txID string) wasi.Env {
	return wasi.Env{
		TimeNanos:        timeNanos,
		TxID:             txID,
		MaxLogBytes:      m.h.prof.MaxLogBytes,
		GasPerHostCall:   m.h.prof.GasPerHostCall,
		GasPerRandomByte: m.h.prof.GasPerRandomByte,
		Charge:           chargeHostCall,
	}
}

// errHostOutOfGas aborts a host function when the call has no gas left for it.
var errHostOutOfGas = errors.New("out of gas in a host call")

// chargeHostCall takes a host function's cost from the calling instance's gas.
func chargeHostCall(mod api.Module, units uint64) {
	gas, ok := mod.ExportedGlobal(instrument.ExportGas).(api.MutableGlobal)
	if !ok {
		return
	}
	left := int64(gas.Get())
	if units > math.MaxInt64 || left < int64(units) {
		gas.Set(^uint64(0)) // -1
		if st, ok := mod.ExportedGlobal(instrument.ExportStatus).(api.MutableGlobal); ok {
			st.Set(instrument.StatusOutOfGas)
		}
		panic(errHostOutOfGas)
	}
	gas.Set(uint64(left - int64(units)))
}

// classify turns an engine error into the host's typed errors, using the
// status global the injected code sets before it traps.
func classify(inst *instance, phase string, err error) error {
	switch inst.status.Get() {
	case instrument.StatusOutOfGas:
		return ErrOutOfGas
	case instrument.StatusStackLimit:
		return ErrStackLimit
	case instrument.StatusMemoryLimit: // no longer set: a refused grow returns -1
		return ErrMemoryLimit
	}
	var exit *wasi.ExitError
	if errors.As(err, &exit) {
		return &TrapError{Phase: phase, Message: exit.Error()}
	}
	return &TrapError{Phase: phase, Message: firstLine(err.Error())}
}

// acquire counts a call in flight; it fails once the cache has evicted m.
func (m *Module) acquire() bool {
	m.refMu.Lock()
	defer m.refMu.Unlock()
	if m.evicted {
		return false
	}
	m.refs++
	return true
}

func (m *Module) releaseRef() {
	m.refMu.Lock()
	m.refs--
	closeNow := m.evicted && m.refs == 0
	m.refMu.Unlock()
	if closeNow {
		m.closeAll()
	}
}

// release is called when the cache evicts m: it closes once idle.
func (m *Module) release() {
	m.refMu.Lock()
	m.evicted = true
	closeNow := m.refs == 0
	m.refMu.Unlock()
	if closeNow {
		m.closeAll()
	}
}

func (m *Module) closeAll() {
	ctx := context.Background()
	for {
		select {
		case inst := <-m.pool:
			inst.mod.Close(ctx)
		default:
			m.refMu.Lock()
			if m.compiled != nil {
				m.compiled.Close(ctx)
			}
			m.compiled = nil
			m.refMu.Unlock()
			return
		}
	}
}

// get returns an instance at the snapshot, waiting while all of the
// module's instances are in use. Every instance get returns goes back
// through put or discard.
func (m *Module) get(ctx context.Context) (*instance, error) {
	select {
	case m.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case inst := <-m.pool:
		m.restore(inst)
		return inst, nil
	default:
	}
	inst, err := m.instantiate(ctx)
	if err != nil {
		<-m.slots
		return nil, err
	}
	// A fresh instance holds the module's initial memory; make it the
	// snapshot without running init again.
	if want := uint32(len(m.snapMem) / 65536); inst.mem.Size()/65536 < want {
		if _, ok := inst.mem.Grow(want - inst.mem.Size()/65536); !ok {
			m.discard(inst)
			return nil, ErrMemoryLimit
		}
	}
	m.restore(inst)
	return inst, nil
}

// memRun is a stretch of the snapshot that is all zero, or not.
type memRun struct {
	off, end int
	zero     bool
}

const runPage = 4096

func memRuns(snap []byte) []memRun {
	var runs []memRun
	for off := 0; off < len(snap); off += runPage {
		end := min(off+runPage, len(snap))
		zero := isZero(snap[off:end])
		if n := len(runs); n > 0 && runs[n-1].zero == zero {
			runs[n-1].end = end
			continue
		}
		runs = append(runs, memRun{off: off, end: end, zero: zero})
	}
	return runs
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// restore puts an instance back in the post-init state: memory and every
// mutable global, including the host's own counters.
func (m *Module) restore(inst *instance) {
	mem := memView(inst.mem)
	for _, r := range m.snapRuns {
		if r.zero {
			clear(mem[r.off:r.end])
		} else {
			copy(mem[r.off:r.end], m.snapMem[r.off:r.end])
		}
	}
	for i, g := range inst.globals {
		g.Set(m.snapGlobals[i])
	}
	inst.depth.Set(0)
	inst.status.Set(0)
}

// put returns inst to the pool if it can be restored: its memory did not grow
// (memory cannot shrink, and a restored instance must be indistinguishable from
// a fresh one).
func (m *Module) put(inst *instance) {
	if inst.mem.Size() != uint32(len(m.snapMem)) {
		m.discard(inst)
		return
	}
	m.pool <- inst // at most instancesPerModule are out: never blocks
	<-m.slots
}

// discard closes an instance get returned that must not be reused.
func (m *Module) discard(inst *instance) {
	inst.mod.Close(context.Background())
	<-m.slots
}
