package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/fedmeter/fedmeter/host/internal/instrument"
	"github.com/fedmeter/fedmeter/host/internal/wasm"
)

// TestSpecSuite runs the official WebAssembly core test suite through Prepare,
// on both engines. The suite is not copied into this repository: the wazero
// module go.mod requires ships it, converted by wast2json, under
// internal/integration_test/spectest/{v1,v2}/testdata of its module folder.
//
// What must hold (issue 17):
//   - every assert_invalid and binary assert_malformed module is rejected;
//   - every module Prepare accepts gives, prepared, the results the spec asks
//     for and the original gives (assert_return, action, assert_trap), on both
//     engines, and the two engines agree bit for bit; where the spec allows
//     any NaN (nan:canonical, nan:arithmetic) the prepared module gives a
//     canonical NaN;
//   - nothing panics.
//
// Spec modules are not ABI v1 rules, so a valid module is given what the ABI
// asks for before Prepare: three stub functions and exports appended after
// everything the module has (no index moves), a memory if it has none (a
// valid module without one uses none), and a "memory" export. The spec's
// "spectest" host module and the modules a script registers are importable,
// each with the signature it really has, as wazero's own harness links them.
// Modules the profile refuses (SIMD, reference types, imported globals, ...)
// are counted by reason and their assertions skipped.
func TestSpecSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("the spec suite takes a while; run without -short")
	}
	dir := wazeroDir(t)
	spectest, err := os.ReadFile(filepath.Join(dir, "internal", "integration_test", "spectest", "testdata", "spectest.wasm"))
	if err != nil {
		t.Fatalf("the spectest host module: %v", err)
	}
	for _, version := range []string{"v1", "v2"} {
		t.Run(version, func(t *testing.T) {
			td := filepath.Join(dir, "internal", "integration_test", "spectest", version, "testdata")
			files, _ := filepath.Glob(filepath.Join(td, "*.json"))
			if len(files) < 50 {
				t.Fatalf("found %d spec scripts in %s; the wazero module should ship ~100", len(files), td)
			}
			st := newSpecStats()
			for _, f := range files {
				runSpecScript(t, st, td, f, spectest)
			}
			st.report(t)
			if st.invalidAccepted > 0 {
				t.Errorf("%d modules the spec says are invalid or malformed were accepted", st.invalidAccepted)
			}
			if st.differences > 0 {
				t.Errorf("%d assertions differ", st.differences)
			}
			if st.accepted == 0 || st.assertions < 10000 {
				t.Errorf("only %d modules accepted and %d assertions run: the harness is not exercising the suite", st.accepted, st.assertions)
			}
		})
	}
}

// wazeroDir is the folder of the wazero module this build uses.
func wazeroDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/tetratelabs/wazero").Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		out, err = exec.Command("go", "mod", "download", "-json", "github.com/tetratelabs/wazero").Output()
		var info struct{ Dir string }
		if err != nil || json.Unmarshal(out, &info) != nil || info.Dir == "" {
			t.Fatalf("cannot find the wazero module's folder (go list -m, go mod download): %v", err)
		}
		dir = info.Dir
	}
	return dir
}

type specScript struct {
	SourceFile string        `json:"source_filename"`
	Commands   []specCommand `json:"commands"`
}

type specCommand struct {
	Type       string      `json:"type"`
	Line       int         `json:"line"`
	Name       string      `json:"name"`
	Filename   string      `json:"filename"`
	As         string      `json:"as"`
	Action     specAction  `json:"action"`
	Expected   []specValue `json:"expected"`
	ModuleType string      `json:"module_type"`
	Text       string      `json:"text"`
}

type specAction struct {
	Type   string      `json:"type"`
	Module string      `json:"module"`
	Field  string      `json:"field"`
	Args   []specValue `json:"args"`
}

type specValue struct {
	Type  string `json:"type"`
	Value any    `json:"value"`
}

// specStats counts what the suite did, for the report and the verdict.
type specStats struct {
	accepted, invalidRejected, invalidAccepted int
	rejected                                   map[string]int // valid modules the profile refuses, by reason
	invalidReasons                             map[string]int // which stage refused invalid modules
	assertions, skipped, differences           int
	nanCanonical                               int
	textSkipped                                int
	diffs                                      []string
}

func newSpecStats() *specStats {
	return &specStats{rejected: map[string]int{}, invalidReasons: map[string]int{}}
}

func (st *specStats) differ(format string, args ...any) {
	st.differences++
	if len(st.diffs) < 40 {
		st.diffs = append(st.diffs, fmt.Sprintf(format, args...))
	}
}

func (st *specStats) report(t *testing.T) {
	t.Logf("modules: %d accepted, %d refused by the profile; invalid/malformed: %d rejected, %d accepted; text-format assertions skipped: %d",
		st.accepted, sum(st.rejected), st.invalidRejected, st.invalidAccepted, st.textSkipped)
	t.Logf("assertions: %d run on both engines (prepared and original), %d skipped (their module was refused, or shares state with one that was), %d differ; %d NaN results canonical where the spec allows any NaN",
		st.assertions, st.skipped, st.differences, st.nanCanonical)
	for _, k := range sortedByCount(st.rejected) {
		t.Logf("  refused by the profile: %5d  %s", st.rejected[k], k)
	}
	for _, k := range sortedByCount(st.invalidReasons) {
		t.Logf("  invalid, rejected by:   %5d  %s", st.invalidReasons[k], k)
	}
	for _, d := range st.diffs {
		t.Log("  DIFF " + d)
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func sortedByCount(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	return keys
}

// specSide is one runtime the script runs in: original or prepared modules,
// on one engine.
type specSide struct {
	name     string
	prepared bool
	rt       wazero.Runtime
	named    map[string]api.Module // by the script's $name
	last     api.Module
	all      []api.Module
}

var specEngines = []EngineKind{Compiler, Interpreter}

func runSpecScript(t *testing.T, st *specStats, dir, file string, spectest []byte) {
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var sc specScript
	if err := json.Unmarshal(raw, &sc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	script := filepath.Base(sc.SourceFile)
	ctx := context.Background()
	var sides []*specSide
	for _, k := range specEngines {
		for _, prepared := range []bool{false, true} {
			var cfg wazero.RuntimeConfig
			if prepared {
				cfg = runtimeConfig(k, ProfileV1().MaxMemoryPages)
			} else if k == Interpreter {
				cfg = wazero.NewRuntimeConfigInterpreter().WithCoreFeatures(api.CoreFeaturesV2)
			} else {
				cfg = wazero.NewRuntimeConfigCompiler().WithCoreFeatures(api.CoreFeaturesV2)
			}
			s := &specSide{name: k.String(), prepared: prepared, rt: wazero.NewRuntimeWithConfig(ctx, cfg), named: map[string]api.Module{}}
			if prepared {
				s.name += "/prepared"
			} else {
				s.name += "/original"
			}
			if _, err := s.rt.InstantiateWithConfig(ctx, spectest, wazero.NewModuleConfig().WithName("spectest")); err != nil {
				t.Fatalf("instantiate spectest: %v", err)
			}
			defer s.rt.Close(ctx)
			sides = append(sides, s)
		}
	}
	// The prepared compiler side decides what is importable: the modules
	// instantiated there under a name, with the signatures they export.
	linker := sides[1].rt
	allow := func(module, name string) (wasm.FuncType, bool) {
		m := linker.Module(module)
		if m == nil {
			return wasm.FuncType{}, false
		}
		d, ok := m.ExportedFunctionDefinitions()[name]
		if !ok {
			return wasm.FuncType{}, false
		}
		return wasm.FuncType{Params: valTypes(d.ParamTypes()), Results: valTypes(d.ResultTypes())}, true
	}

	refused := false // the current module was refused by the profile
	// A refused module that imports a table, memory or global would, in
	// the spec's run, write into its exporter's state (elem and data
	// segments, even when its instantiation then fails). The exporter's
	// later results then depend on a module that did not run here, so
	// assertions on it are skipped and counted.
	tainted := map[string]bool{}
	importsOf := map[api.Module][]string{}
	taint := func(code []byte) {
		m, err := wasm.Decode(code)
		if err != nil {
			return
		}
		for _, im := range m.Imports {
			if im.Kind != wasm.KindFunc {
				tainted[im.Module] = true
			}
		}
	}
	// A module that calls into a tainted one (it imports from it) is
	// affected too.
	skip := func(c *specCommand) bool {
		target := sides[1].last
		if c.Action.Module != "" {
			target = sides[1].named[c.Action.Module]
		}
		if target == nil || target.Name() != "" && tainted[target.Name()] {
			return true
		}
		for _, mod := range importsOf[target] {
			if tainted[mod] {
				return true
			}
		}
		return false
	}
	for i := range sc.Commands {
		c := &sc.Commands[i]
		where := fmt.Sprintf("%s:%d", script, c.Line)
		func() {
			defer func() {
				if r := recover(); r != nil {
					st.differ("%s %s: panic: %v", where, c.Type, r)
				}
			}()
			switch c.Type {
			case "module":
				refused = !specModule(t, st, sides, sc.Commands, i, dir, allow, where)
				code, _ := os.ReadFile(filepath.Join(dir, c.Filename))
				if refused {
					taint(code)
				} else if m, err := wasm.Decode(code); err == nil && sides[1].last != nil {
					for _, im := range m.Imports {
						importsOf[sides[1].last] = append(importsOf[sides[1].last], im.Module)
					}
				}
			case "register":
				// Handled when the module was instantiated (specRegisteredAs).
			case "assert_return", "action":
				if skip(c) {
					st.skipped++
					return
				}
				specAssertReturn(st, sides, c, where)
			case "assert_trap", "assert_exhaustion":
				if skip(c) {
					st.skipped++
					return
				}
				specAssertTrap(st, sides, c, where)
			case "assert_invalid", "assert_malformed":
				if c.ModuleType == "text" {
					st.textSkipped++
					return
				}
				code, err := os.ReadFile(filepath.Join(dir, c.Filename))
				if err != nil {
					t.Fatal(err)
				}
				_, err = ProfileV1().prepare(code, allow)
				if err == nil {
					st.invalidAccepted++
					st.differ("%s %s (%s) accepted by Prepare", where, c.Type, c.Text)
					return
				}
				st.invalidRejected++
				st.invalidReasons[rejectStage(err)]++
			case "assert_unlinkable", "assert_uninstantiable":
				code, _ := os.ReadFile(filepath.Join(dir, c.Filename))
				taint(code)
				specMustNotInstantiate(t, st, sides, c, dir, allow, where)
			default:
				st.differ("%s: unknown command %q", where, c.Type)
			}
		}()
	}
}

// rejectStage names the stage of Prepare that refused an invalid module.
func rejectStage(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "malformed binary"):
		return "the decoder (framing)"
	case strings.Contains(msg, "invalid module: function ") && strings.Contains(msg, " at offset "):
		return "the index and bounds check"
	case strings.Contains(msg, "prepared module failed validation"):
		return "validation of the output (a rewriter bug)"
	case strings.HasPrefix(msg, "invalid module: invalid ") || strings.Contains(msg, "invalid module: section ") ||
		strings.Contains(msg, "invalid module: ") && wazeroWords(msg):
		return "wazero's validation of the upload"
	}
	return "the profile's policy"
}

func wazeroWords(msg string) bool {
	for _, w := range []string{"type mismatch", "unknown", "invalid", "not enabled", "duplicate", "out of range", "must", "exceeds", "mismatch"} {
		if strings.Contains(msg, w) {
			return true
		}
	}
	return false
}

// specRegisteredAs is the name a later register command gives the module of
// command i, as wazero's harness does: modules are linked by name at
// instantiation, so the name is chosen before.
func specRegisteredAs(cmds []specCommand, i int) string {
	for j := i + 1; j < len(cmds); j++ {
		c := cmds[j]
		if c.Type == "module" && c.Name == "" {
			break // a later anonymous module becomes the "last" one
		}
		if c.Type != "register" {
			continue
		}
		if (c.Name == "" && j == i+1) || (c.Name != "" && c.Name == cmds[i].Name) {
			return c.As
		}
	}
	return ""
}

func specModule(t *testing.T, st *specStats, sides []*specSide, cmds []specCommand, i int, dir string,
	allow func(string, string) (wasm.FuncType, bool), where string) bool {
	c := &cmds[i]
	code, err := os.ReadFile(filepath.Join(dir, c.Filename))
	if err != nil {
		t.Fatal(err)
	}
	reg := specRegisteredAs(cmds, i)
	withABI, err := addABI(code)
	var p *Prepared
	if err == nil {
		p, err = ProfileV1().prepare(withABI, allow)
	}
	if err != nil {
		st.rejected[refusalReason(err)]++
		// Assertions on it are skipped; modules that import from it are
		// refused too (the linker cannot find it).
		for _, s := range sides {
			s.last = nil
		}
		return false
	}
	st.accepted++
	ctx := context.Background()
	for _, s := range sides {
		b := code
		if s.prepared {
			b = p.Code
		}
		m, err := s.rt.InstantiateWithConfig(ctx, b, wazero.NewModuleConfig().WithName(reg))
		if err == nil && s.prepared {
			err = specStart(ctx, s, m)
		}
		if err != nil {
			st.differ("%s: module does not instantiate on %s: %v", where, s.name, firstLine(err.Error()))
			s.last = nil
			continue
		}
		s.last = m
		s.all = append(s.all, m)
		if c.Name != "" {
			s.named[c.Name] = m
		}
	}
	return true
}

// specStart runs a prepared module's start function, which preparation turns
// into the export __fm_start for the host to call.
func specStart(ctx context.Context, s *specSide, m api.Module) error {
	f := m.ExportedFunction(instrument.ExportStart)
	if f == nil {
		return nil
	}
	specResetCounters(s)
	_, err := f.Call(ctx)
	return err
}

// specResetCounters gives every prepared module of a side full gas and a
// zero call depth, as the host does before each call.
func specResetCounters(s *specSide) {
	if !s.prepared {
		return
	}
	for _, m := range s.all {
		if g, ok := m.ExportedGlobal(instrument.ExportGas).(api.MutableGlobal); ok {
			g.Set(ProfileV1().InitGas)
		}
		for _, name := range []string{instrument.ExportDepth, instrument.ExportStatus} {
			if g, ok := m.ExportedGlobal(name).(api.MutableGlobal); ok {
				g.Set(0)
			}
		}
	}
}

func refusalReason(err error) string {
	msg := strings.TrimPrefix(err.Error(), "invalid module: ")
	// Group by what the reason says, without the indices and offsets.
	for _, key := range []string{"do not fit", "SIMD", "v128", "reference-type", "funcref", "externref", "imported global", "imported memory",
		"imported table", "tables: at most one", "passive", "declarative", "table.", "elem.drop", "memory.init", "data.drop",
		"tail call", "exception", "multiple memories", "memories", "is not allowed (see ABI.md", "memory of", "table of",
		"select of type", "targets table", "through table", "start function", "export"} {
		if strings.Contains(msg, key) {
			return key
		}
	}
	return msg
}

// specInvoke calls the action on one side and returns the results, or the
// trap: the engine's first line, or for a prepared module a trap the injected
// code raised, named by its status.
func specInvoke(s *specSide, c *specCommand) (res []uint64, trap string, err error) {
	m := s.last
	if c.Action.Module != "" {
		m = s.named[c.Action.Module]
	}
	if m == nil {
		return nil, "", errors.New("no module")
	}
	ctx := context.Background()
	switch c.Action.Type {
	case "get":
		g := m.ExportedGlobal(c.Action.Field)
		if g == nil {
			return nil, "", fmt.Errorf("no global %q", c.Action.Field)
		}
		return []uint64{g.Get()}, "", nil
	case "invoke":
		f := m.ExportedFunction(c.Action.Field)
		if f == nil {
			return nil, "", fmt.Errorf("no function %q", c.Action.Field)
		}
		args := make([]uint64, len(c.Action.Args))
		for i, a := range c.Action.Args {
			v, ok := a.bits()
			if !ok {
				return nil, "", fmt.Errorf("argument %v", a)
			}
			args[i] = v
		}
		specResetCounters(s)
		res, err := f.Call(ctx, args...)
		if err != nil {
			if s.prepared {
				if g := m.ExportedGlobal(instrument.ExportStatus); g != nil && g.Get() != instrument.StatusOK {
					return nil, fmt.Sprintf("profile limit (status %d)", g.Get()), nil
				}
			}
			return nil, firstLine(err.Error()), nil
		}
		return res, "", nil
	}
	return nil, "", fmt.Errorf("action %q", c.Action.Type)
}

func specAssertReturn(st *specStats, sides []*specSide, c *specCommand, where string) {
	st.assertions++
	var prepared [][]uint64
	var original []uint64
	for _, s := range sides {
		res, trap, err := specInvoke(s, c)
		if err != nil || trap != "" {
			st.differ("%s %s %s(%v) on %s: %v%s", where, c.Type, c.Action.Field, c.Action.Args, s.name, err, trap)
			return
		}
		if c.Type == "action" {
			continue
		}
		if len(res) != len(c.Expected) {
			st.differ("%s %s on %s: %d results, want %d", where, c.Action.Field, s.name, len(res), len(c.Expected))
			return
		}
		for i, e := range c.Expected {
			// wazero leaves the upper half of a 32-bit result undefined.
			if e.Type == "i32" || e.Type == "f32" {
				res[i] = uint64(uint32(res[i]))
			}
			if why := e.check(res[i], s.prepared); why != "" {
				st.differ("%s %s(%v) on %s: result %d: %s", where, c.Action.Field, c.Action.Args, s.name, i, why)
				return
			}
		}
		if s.prepared {
			prepared = append(prepared, res)
		} else if original == nil {
			original = res
		}
	}
	if len(prepared) == 2 {
		for i := range prepared[0] {
			if prepared[0][i] != prepared[1][i] {
				st.differ("%s %s: the engines differ on result %d: %#x vs %#x", where, c.Action.Field, i, prepared[0][i], prepared[1][i])
				return
			}
			if c.Expected[i].isNaNPattern() {
				st.nanCanonical++
			} else if prepared[0][i] != original[i] {
				st.differ("%s %s: prepared %#x, original %#x", where, c.Action.Field, prepared[0][i], original[i])
				return
			}
		}
	}
}

func specAssertTrap(st *specStats, sides []*specSide, c *specCommand, where string) {
	st.assertions++
	var orig string
	for _, s := range sides {
		_, trap, err := specInvoke(s, c)
		if err != nil {
			st.differ("%s %s on %s: %v", where, c.Type, s.name, err)
			return
		}
		if trap == "" {
			st.differ("%s %s %s(%v) on %s: returned, want a trap (%s)", where, c.Type, c.Action.Field, c.Action.Args, s.name, c.Text)
			return
		}
		switch {
		case !s.prepared:
			if orig == "" {
				orig = trap
			}
		case c.Type == "assert_exhaustion":
			// The injected depth counter trips before the engine's stack.
			if trap != fmt.Sprintf("profile limit (status %d)", instrument.StatusStackLimit) {
				st.differ("%s exhaustion on %s: %s, want the call-depth limit", where, s.name, trap)
				return
			}
		case trap != orig:
			st.differ("%s %s on %s: trap %q, original %q", where, c.Action.Field, s.name, trap, orig)
			return
		}
	}
}

// specMustNotInstantiate: assert_unlinkable and assert_uninstantiable modules
// must not instantiate prepared either (Prepare may accept them: they are
// valid).
func specMustNotInstantiate(t *testing.T, st *specStats, sides []*specSide, c *specCommand, dir string,
	allow func(string, string) (wasm.FuncType, bool), where string) {
	code, err := os.ReadFile(filepath.Join(dir, c.Filename))
	if err != nil {
		t.Fatal(err)
	}
	withABI, err := addABI(code)
	if err != nil {
		st.rejected[refusalReason(err)]++
		return
	}
	p, err := ProfileV1().prepare(withABI, allow)
	if err != nil {
		st.rejected[refusalReason(err)]++
		return
	}
	st.assertions++
	ctx := context.Background()
	for _, s := range sides {
		if !s.prepared {
			continue
		}
		m, err := s.rt.InstantiateWithConfig(ctx, p.Code, wazero.NewModuleConfig())
		if err == nil {
			err = specStart(ctx, s, m)
			m.Close(ctx)
		}
		// wazero keeps a module whose element segment is out of bounds
		// after writing the ones before (its harness says why); so does
		// the prepared module.
		if err == nil && c.Text != "out of bounds table access" {
			st.differ("%s %s (%s): the prepared module instantiates on %s", where, c.Type, c.Text, s.name)
		}
	}
}

func (v specValue) isNaNPattern() bool {
	s, _ := v.Value.(string)
	return strings.HasPrefix(s, "nan:")
}

// bits is the value as wazero passes it: the raw bits in a uint64.
func (v specValue) bits() (uint64, bool) {
	s, ok := v.Value.(string)
	if !ok {
		return 0, false
	}
	switch v.Type {
	case "i32", "f32":
		n, err := strconv.ParseUint(s, 10, 32)
		return n, err == nil
	case "i64", "f64":
		n, err := strconv.ParseUint(s, 10, 64)
		return n, err == nil
	}
	return 0, false
}

// check compares a result with the expectation. Where the spec allows any
// NaN, a prepared module must give the canonical NaN (either sign): that is
// what preparation promises, and what makes NaN bits deterministic.
func (v specValue) check(got uint64, prepared bool) string {
	if v.isNaNPattern() {
		switch v.Type {
		case "f32":
			f := math.Float32frombits(uint32(got))
			if f == f {
				return fmt.Sprintf("%#x is not a NaN (want %v)", got, v.Value)
			}
			if prepared && uint32(got)&0x7fffffff != 0x7fc00000 {
				return fmt.Sprintf("%#x is not the canonical NaN", got)
			}
		case "f64":
			f := math.Float64frombits(got)
			if f == f {
				return fmt.Sprintf("%#x is not a NaN (want %v)", got, v.Value)
			}
			if prepared && got&0x7fffffffffffffff != 0x7ff8000000000000 {
				return fmt.Sprintf("%#x is not the canonical NaN", got)
			}
		default:
			return "NaN pattern for " + v.Type
		}
		return ""
	}
	want, ok := v.bits()
	if !ok {
		return fmt.Sprintf("cannot compare a %s result", v.Type)
	}
	if got != want {
		return fmt.Sprintf("%#x, want %#x", got, want)
	}
	return ""
}

// addABI gives a valid spec module what ABI v1 asks for, without moving any
// index: the types and three stub functions (fm_abi_v1, fm_alloc, fm_bill)
// are appended after the module's own, a memory is added if it has none (a
// valid module without a memory uses none), and exports are appended.
func addABI(code []byte) ([]byte, error) {
	m, err := wasm.Decode(code)
	if err != nil {
		return nil, err
	}
	types := append([]wasm.FuncType(nil), m.Types...)
	tVoid, tAlloc, tBill := uint32(len(types)), uint32(len(types)+1), uint32(len(types)+2)
	types = append(types, wasm.FuncType{},
		wasm.FuncType{Params: []byte{wasm.I32}, Results: []byte{wasm.I32}},
		wasm.FuncType{Params: []byte{wasm.I32, wasm.I32}, Results: []byte{wasm.I64}})
	nf := uint32(m.NumImportedFuncs() + len(m.Functions))
	sec := map[byte][]byte{}
	for _, s := range m.Sections {
		if s.ID != wasm.SecCustom {
			sec[s.ID] = s.Payload
		}
	}
	sec[wasm.SecType] = wasm.EncodeTypes(types)
	b := wasm.AppendU32(nil, uint32(len(m.Functions)+3))
	for _, ti := range append(append([]uint32(nil), m.Functions...), tVoid, tAlloc, tBill) {
		b = wasm.AppendU32(b, ti)
	}
	sec[wasm.SecFunction] = b
	if len(m.Memories) == 0 {
		sec[wasm.SecMemory] = []byte{1, 0, 0}
	}
	var exps []wasm.Export
	hasMemory := false
	for _, e := range m.Exports {
		switch e.Name {
		case "memory":
			if e.Kind != wasm.KindMemory {
				return nil, errors.New("the module exports something else as \"memory\"")
			}
			hasMemory = true
		case "fm_abi_v1", "fm_alloc", "fm_bill":
			return nil, fmt.Errorf("the module exports %q", e.Name)
		}
		exps = append(exps, e)
	}
	if !hasMemory {
		exps = append(exps, wasm.Export{Name: "memory", Kind: wasm.KindMemory})
	}
	exps = append(exps, wasm.Export{Name: "fm_abi_v1", Kind: wasm.KindFunc, Index: nf},
		wasm.Export{Name: "fm_alloc", Kind: wasm.KindFunc, Index: nf + 1},
		wasm.Export{Name: "fm_bill", Kind: wasm.KindFunc, Index: nf + 2})
	b = wasm.AppendU32(nil, uint32(len(exps)))
	for _, e := range exps {
		b = wasm.AppendName(b, e.Name)
		b = append(b, e.Kind)
		b = wasm.AppendU32(b, e.Index)
	}
	sec[wasm.SecExport] = b
	bodies := [][]byte{{0, 0x0b}, {0, 0x41, 0, 0x0b}, {0, 0x42, 0, 0x0b}}
	code0 := sec[wasm.SecCode]
	if code0 == nil {
		code0 = []byte{0}
	}
	r := wasm.NewReader(code0, 0)
	n := r.U32()
	b = wasm.AppendU32(nil, n+3)
	b = append(b, code0[r.Pos():]...)
	for _, body := range bodies {
		b = wasm.AppendU32(b, uint32(len(body)))
		b = append(b, body...)
	}
	sec[wasm.SecCode] = b
	out := append(append([]byte(nil), wasm.Magic...), wasm.Version...)
	for _, id := range []byte{wasm.SecType, wasm.SecImport, wasm.SecFunction, wasm.SecTable, wasm.SecMemory, wasm.SecTag,
		wasm.SecGlobal, wasm.SecExport, wasm.SecStart, wasm.SecElement, wasm.SecDataCount, wasm.SecCode, wasm.SecData} {
		if p, ok := sec[id]; ok {
			out = append(out, id)
			out = wasm.AppendU32(out, uint32(len(p)))
			out = append(out, p...)
		}
	}
	return out, nil
}
