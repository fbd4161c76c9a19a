// Package instrument turns an uploaded rule module into the module fedmeter
// runs: it enforces the policy of ABI v1 and rewrites the code so that every
// bound the host promises is enforced by the module's own instructions.
//
// Why rewrite instead of asking the engine: wazero has no fuel, its native
// call-stack limits differ between the compiler and the interpreter, and NaN bit
// patterns are whatever the CPU produces. Counting gas, call depth and memory in
// injected code makes all three a property of the prepared bytes, identical on
// every engine and machine. See host/RATIONALE.md for the full argument.
package instrument

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/fedmeter/fedmeter/host/internal/wasm"
)

// Names the prepared module exports for the host. Uploaded modules may not
// export anything starting with ReservedPrefix.
const (
	ReservedPrefix = "__fm_"
	ExportGas      = "__fm_gas"    // i64: gas left; below zero means out of gas
	ExportDepth    = "__fm_depth"  // i32: current call depth
	ExportStatus   = "__fm_status" // i32: why the module trapped, see Status*
	ExportStart    = "__fm_start"  // the original start function, called by the host
	ExportGlobal   = "__fm_g"      // prefix of each original mutable global, by index
)

// Values of the status global after a trap.
const (
	StatusOK          = 0
	StatusOutOfGas    = 1
	StatusStackLimit  = 2
	StatusMemoryLimit = 3
)

// Instruction costs. A flat cost keeps gas easy to reason about; calls cost more
// because they also pay for the frame. memory.grow, memory.copy and memory.fill
// are charged by size in injected helpers on top of these.
const (
	costDefault  = 1
	costCall     = 2
	costCallIndi = 3
)

// Config is the part of the host profile that preparation depends on.
type Config struct {
	MaxMemoryPages   uint32
	MaxTableElements uint32
	MaxFunctions     int
	MaxLocals        int
	MaxCallDepth     int32
	// Bounds on the code, checked before anything compiles it (see
	// checkCode). Zero means no bound.
	MaxBodyBytes int // one function body
	MaxCodeBytes int // all function bodies together
	MaxNesting   int // block, loop and if nested in one function
	MaxBrTable   int // targets of one br_table, default excluded
	// Module-wide budgets; see checkCode.
	MaxNestingWork uint64 // sum of each block's depth (loops weighted)
	MaxBrTableWork uint64 // sum of each br_table's targets squared
	MaxControl     int    // blocks, ifs and loops in one function (loops weighted)
	MaxControlWork uint64 // sum over functions of MaxControl's count squared
	InitGas        uint64
	GasPerPage     uint64
	BytesPerGas    uint64
	GasPerMemOp    uint64 // base of memory.grow/copy/fill (a refused grow pays only this)
	// Import reports whether module.name may be imported and with which
	// signature.
	Import func(module, name string) (wasm.FuncType, bool)
}

// Result is a prepared module and what the host needs to know about it.
type Result struct {
	Code []byte
	// ABI is the declared ABI version.
	ABI int
	// HasStart and HasInitialize say which init functions the host must call,
	// in that order.
	HasStart      bool
	HasInitialize bool
	// MutableGlobals are the original mutable globals, exported as
	// ExportGlobal+index, which a snapshot must save and restore.
	MutableGlobals []uint32
}

// Error is a policy violation; Reason names the offender.
type Error struct{ Reason string }

func (e *Error) Error() string { return e.Reason }

func reject(format string, args ...any) error {
	return &Error{Reason: fmt.Sprintf(format, args...)}
}

var abiMarker = regexp.MustCompile(`^fm_abi_v([0-9]+)$`)

var (
	sigVoid   = wasm.FuncType{}
	sigAlloc  = wasm.FuncType{Params: []byte{wasm.I32}, Results: []byte{wasm.I32}}
	sigBill   = wasm.FuncType{Params: []byte{wasm.I32, wasm.I32}, Results: []byte{wasm.I64}}
	sigMemOp  = wasm.FuncType{Params: []byte{wasm.I32, wasm.I32, wasm.I32}}
	numerical = map[byte]bool{wasm.I32: true, wasm.I64: true, wasm.F32: true, wasm.F64: true}
)

// Prepare checks code against the policy and returns the instrumented module.
// Errors from malformed binaries and policy violations are *Error. It does not
// validate the module as WebAssembly (types, index spaces): the caller must do
// that to the input between Check and Rewrite (see host.Prepare).
func Prepare(code []byte, cfg Config) (*Result, error) {
	c, err := Check(code, cfg)
	if err != nil {
		return nil, err
	}
	if err := c.CheckABI(cfg); err != nil {
		return nil, err
	}
	return Rewrite(c, cfg)
}

// Checked is a module that passed Check: decoded, within the policy and the
// bounds, ready for Rewrite.
type Checked struct {
	m      *wasm.Module
	res    Result
	abiSet bool // CheckABI passed: the module has its one memory and exports
}

// Check decodes code and checks it against the policy and the bounds. Every
// fault is an *Error whose reason names the section, entry or instruction.
func Check(code []byte, cfg Config) (*Checked, error) {
	m, err := wasm.Decode(code)
	if err != nil {
		return nil, &Error{Reason: "malformed binary: " + err.Error()}
	}
	c := &Checked{m: m}
	if err := checkPolicy(m, cfg); err != nil {
		return nil, err
	}
	if err := checkCode(m, cfg); err != nil {
		return nil, err
	}
	return c, nil
}

// CheckABI checks what ABI v1 asks of a module that is valid WebAssembly. Call
// it after validation and before Rewrite.
func (c *Checked) CheckABI(cfg Config) error {
	if err := checkABI(c.m, cfg, &c.res); err != nil {
		return err
	}
	c.abiSet = true
	return nil
}

// Module returns the checked module's bytes without its custom sections: what
// a WebAssembly validator must see. Custom sections cannot change what a
// module does, and Check has already checked their framing and names; wazero
// decodes the name section eagerly, and a hostile one is a huge allocation.
func (c *Checked) Module(code []byte) []byte { return c.m.WithoutCustom(code) }

// Rewrite instruments a checked module. CheckABI must have passed: the
// rewrite relies on what it checks (one memory, the exports).
func Rewrite(c *Checked, cfg Config) (*Result, error) {
	if !c.abiSet {
		return nil, fmt.Errorf("instrument: Rewrite before CheckABI passed")
	}
	res := c.res
	res.MutableGlobals = nil
	out, err := rewrite(c.m, cfg, &res)
	if err != nil {
		return nil, err
	}
	res.Code = out
	return &res, nil
}

// checkPolicy checks, before validation, what the profile bans or bounds:
// features (by name), kinds of import, sizes. What ABI v1 asks of a valid
// module is checkABI's, after validation.
func checkPolicy(m *wasm.Module, cfg Config) error {
	if m.HasTags {
		return reject("tag section: exception handling is not allowed")
	}
	for i, t := range m.Types {
		for _, v := range append(append([]byte(nil), t.Params...), t.Results...) {
			if !numerical[v] {
				return reject("type %d %s: value type %s is not allowed (only i32, i64, f32, f64)", i, t, wasm.Feature(v))
			}
		}
	}
	for _, im := range m.Imports {
		switch im.Kind {
		case wasm.KindFunc:
		case wasm.KindMemory:
			return reject("import %s.%s: imported memory is not allowed (the module must define its memory)", im.Module, im.Name)
		case wasm.KindTable:
			return reject("import %s.%s: imported table is not allowed", im.Module, im.Name)
		case wasm.KindGlobal:
			return reject("import %s.%s: imported global is not allowed", im.Module, im.Name)
		default:
			return reject("import %s.%s: import of kind %d is not allowed", im.Module, im.Name, im.Kind)
		}
		if int(im.TypeIndex) >= len(m.Types) {
			return reject("import %s.%s: type index %d out of range", im.Module, im.Name, im.TypeIndex)
		}
	}
	if n := m.NumImportedFuncs() + len(m.Functions); n > cfg.MaxFunctions {
		return reject("%d functions, more than the limit of %d", n, cfg.MaxFunctions)
	}
	for i, ti := range m.Functions {
		if int(ti) >= len(m.Types) {
			return reject("function %d: type index %d out of range", m.NumImportedFuncs()+i, ti)
		}
	}
	if len(m.Tables) > 1 {
		return reject("%d tables: at most one is allowed", len(m.Tables))
	}
	for _, t := range m.Tables {
		if t.RefType != wasm.FuncRef {
			return reject("table of %s: only funcref tables are allowed", wasm.Feature(t.RefType))
		}
		if t.Limits.Flags > 1 {
			return reject("table limits flags 0x%02x: only 32-bit tables are allowed", t.Limits.Flags)
		}
		if t.Limits.Min > uint64(cfg.MaxTableElements) {
			return reject("table of %d elements, more than the limit of %d", t.Limits.Min, cfg.MaxTableElements)
		}
	}
	if len(m.Memories) > 1 {
		return reject("%d memories: multiple memories are not allowed", len(m.Memories))
	}
	for _, mem := range m.Memories {
		if err := checkMemory(mem, cfg); err != nil {
			return err
		}
	}
	for i, g := range m.Globals {
		if !numerical[g.Type] {
			return reject("global %d of type %s: only i32, i64, f32, f64 globals are allowed", i, wasm.Feature(g.Type))
		}
	}
	for _, s := range m.Elements {
		if s.Flags&1 != 0 {
			return reject("element segment at offset %d is passive or declarative: only active segments are allowed", s.Offset)
		}
		if s.Table != 0 {
			return reject("element segment at offset %d targets table %d", s.Offset, s.Table)
		}
	}
	for _, d := range m.Data {
		if d.Mode == 1 {
			return reject("data segment at offset %d is passive: only active segments are allowed", d.Offset)
		}
		if d.Memory != 0 {
			return reject("data segment at offset %d targets memory %d", d.Offset, d.Memory)
		}
	}
	return nil
}

func checkMemory(mem wasm.Limits, cfg Config) error {
	switch {
	case mem.Flags&0x02 != 0:
		return reject("shared memory is not allowed (threads)")
	case mem.Flags&0x04 != 0:
		return reject("64-bit memory is not allowed")
	case mem.Flags > 1:
		return reject("memory limits flags 0x%02x are not supported", mem.Flags)
	case mem.HasMax && mem.Max > 65536:
		return reject("memory maximum of %d pages: a 32-bit memory has at most 65536 pages (4 GiB)", mem.Max)
	case mem.Min > uint64(cfg.MaxMemoryPages):
		return reject("memory of %d pages, more than the limit of %d", mem.Min, cfg.MaxMemoryPages)
	case mem.HasMax && mem.Max < mem.Min:
		return reject("memory maximum %d is below its minimum %d", mem.Max, mem.Min)
	}
	return nil
}

// checkABI checks what ABI v1 asks of a valid module: imports from the
// allow-list only, with their signatures; one memory, exported; the exports.
// It runs after validation, so a module that is invalid is reported as
// invalid rather than as missing an export.
func checkABI(m *wasm.Module, cfg Config, res *Result) error {
	for _, im := range m.Imports {
		want, ok := cfg.Import(im.Module, im.Name)
		if !ok {
			return reject("import %s.%s is not allowed (see ABI.md for the allowed WASI functions)", im.Module, im.Name)
		}
		if got := m.Types[im.TypeIndex]; !got.Equal(want) {
			return reject("import %s.%s has signature %s, want %s", im.Module, im.Name, got, want)
		}
	}
	if len(m.Memories) != 1 {
		return reject("%d memories: exactly one is required", len(m.Memories))
	}
	// An active element segment that does not fit its table makes
	// instantiation fail (the spec); wazero instead writes what fits and
	// goes on. With no imported table or global both sizes are constants,
	// so the module is refused here, the same on every engine.
	for i, s := range m.Elements {
		if s.Flags&1 != 0 {
			continue
		}
		size := uint64(0)
		if len(m.Tables) > 0 {
			size = m.Tables[0].Limits.Min
		}
		n := uint64(s.Count)
		if !s.HasBase || uint64(s.Base)+n > size {
			return reject("element segment %d: %d elements at table offset %d do not fit a table of %d", i, n, s.Base, size)
		}
	}
	if m.Start != nil {
		t, ok := m.FuncTypeOf(*m.Start)
		if !ok {
			return reject("start function %d does not exist", *m.Start)
		}
		if !t.Equal(sigVoid) {
			return reject("start function has signature %s, want ()", t)
		}
		res.HasStart = true
	}
	return checkExports(m, res)
}

func checkExports(m *wasm.Module, res *Result) error {
	funcs := map[string]uint32{}
	memoryOK := false
	var versions []int
	for _, e := range m.Exports {
		if strings.HasPrefix(e.Name, ReservedPrefix) {
			return reject("export %q: names starting with %q are reserved for the host", e.Name, ReservedPrefix)
		}
		if e.Kind == wasm.KindFunc {
			funcs[e.Name] = e.Index
		}
		if e.Name == "memory" && e.Kind == wasm.KindMemory && e.Index == 0 {
			memoryOK = true
		}
		if mm := abiMarker.FindStringSubmatch(e.Name); mm != nil {
			v, err := strconv.Atoi(mm[1])
			if err != nil || v > math.MaxInt16 {
				return reject("export %q: bad ABI version", e.Name)
			}
			versions = append(versions, v)
		}
	}
	if !memoryOK {
		return reject("missing export \"memory\" (memory 0)")
	}
	switch {
	case len(versions) == 0:
		return reject("missing ABI marker: export a function fm_abi_v1 () -> ()")
	case len(versions) > 1:
		return reject("more than one ABI marker exported: %v", versions)
	case versions[0] != 1:
		return reject("unsupported ABI version %d (this host supports fm_abi_v1)", versions[0])
	}
	res.ABI = 1
	want := []struct {
		name     string
		sig      wasm.FuncType
		optional bool
	}{
		{"fm_abi_v1", sigVoid, false},
		{"fm_alloc", sigAlloc, false},
		{"fm_bill", sigBill, false},
		{"_initialize", sigVoid, true},
	}
	for _, w := range want {
		fi, ok := funcs[w.name]
		if !ok {
			if w.optional {
				continue
			}
			return reject("missing export %q: a function %s", w.name, w.sig)
		}
		t, ok := m.FuncTypeOf(fi)
		if !ok {
			return reject("export %q names function %d, which does not exist", w.name, fi)
		}
		if !t.Equal(w.sig) {
			return reject("export %q has signature %s, want %s", w.name, t, w.sig)
		}
		if w.name == "_initialize" {
			res.HasInitialize = true
		}
	}
	return nil
}
