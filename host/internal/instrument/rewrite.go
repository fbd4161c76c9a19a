package instrument

import (
	"fmt"
	"strconv"

	"github.com/fedmeter/fedmeter/host/internal/wasm"
)

// Opcodes emitted by the rewriter.
const (
	opUnreachable = 0x00
	opBlock       = 0x02
	opIf          = 0x04
	opEnd         = 0x0b
	opBr          = 0x0c
	opReturn      = 0x0f
	opCall        = 0x10
	opSelect      = 0x1b
	opLocalGet    = 0x20
	opLocalSet    = 0x21
	opLocalTee    = 0x22
	opGlobalGet   = 0x23
	opGlobalSet   = 0x24
	opMemorySize  = 0x3f
	opMemoryGrow  = 0x40
	opI32Const    = 0x41
	opI64Const    = 0x42
	opF32Const    = 0x43
	opF64Const    = 0x44
	opI32GtU      = 0x4b
	opI64LtS      = 0x53
	opI64GtU      = 0x56
	opF32Eq       = 0x5b
	opF64Eq       = 0x61
	opI32Add      = 0x6a
	opI32Sub      = 0x6b
	opI64Add      = 0x7c
	opI64Sub      = 0x7d
	opI64Mul      = 0x7e
	opI64DivU     = 0x80
	opI64ExtendU  = 0xad
	opPrefixFC    = 0xfc
	blockEmpty    = 0x40
)

// Canonical NaNs: quiet, positive, zero payload.
var (
	canonF32 = []byte{0x00, 0x00, 0xc0, 0x7f}
	canonF64 = []byte{0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0x7f}
)

// layout holds the indices of everything the rewriter adds.
type layout struct {
	gas, depth, status uint32 // globals
	fnOOG, fnStack     uint32 // functions
	fnGrow, fnCopy     uint32
	fnFill             uint32
	tVoid, tGrow, tMem uint32 // types
	types              []wasm.FuncType
}

func (l *layout) typeIndex(t wasm.FuncType) uint32 {
	for i, have := range l.types {
		if have.Equal(t) {
			return uint32(i)
		}
	}
	l.types = append(l.types, t)
	return uint32(len(l.types) - 1)
}

func rewrite(m *wasm.Module, cfg Config, res *Result) ([]byte, error) {
	l := &layout{types: append([]wasm.FuncType(nil), m.Types...)}
	l.tVoid = l.typeIndex(sigVoid)
	l.tGrow = l.typeIndex(sigAlloc) // (i32) -> i32
	l.tMem = l.typeIndex(sigMemOp)
	ng := uint32(len(m.Globals))
	l.gas, l.depth, l.status = ng, ng+1, ng+2
	nf := uint32(m.NumImportedFuncs() + len(m.Functions))
	l.fnOOG, l.fnStack, l.fnGrow, l.fnCopy, l.fnFill = nf, nf+1, nf+2, nf+3, nf+4

	bodies := make([][]byte, 0, len(m.Codes)+5)
	var fr funcRewriter
	for i, c := range m.Codes {
		fi := m.NumImportedFuncs() + i
		sig := m.Types[m.Functions[i]]
		body, err := fr.rewrite(m, l, cfg, c, sig)
		if err != nil {
			return nil, reject("function %d: %v", fi, err)
		}
		bodies = append(bodies, body)
	}
	bodies = append(bodies, helperBodies(l, cfg, memoryMax(m.Memories[0], cfg.MaxMemoryPages))...)

	// Sections that change.
	newSec := map[byte][]byte{}
	newSec[wasm.SecType] = wasm.EncodeTypes(l.types)
	funcs := append(append([]uint32(nil), m.Functions...), l.tVoid, l.tVoid, l.tGrow, l.tMem, l.tMem)
	newSec[wasm.SecFunction] = encodeVecU32(funcs)
	newSec[wasm.SecMemory] = encodeMemory(m.Memories[0], cfg.MaxMemoryPages)
	newSec[wasm.SecGlobal] = encodeGlobals(m.Globals, cfg.InitGas)
	newSec[wasm.SecExport] = encodeExports(m, l, res)
	newSec[wasm.SecCode] = encodeCode(bodies)

	out := append(append([]byte(nil), wasm.Magic...), wasm.Version...)
	order := []byte{wasm.SecType, wasm.SecImport, wasm.SecFunction, wasm.SecTable, wasm.SecMemory,
		wasm.SecGlobal, wasm.SecExport, wasm.SecStart, wasm.SecElement, wasm.SecDataCount,
		wasm.SecCode, wasm.SecData}
	orig := map[byte][]byte{}
	for _, s := range m.Sections {
		if s.ID != wasm.SecCustom {
			orig[s.ID] = s.Payload
		}
	}
	for _, id := range order {
		p, ok := newSec[id]
		if !ok {
			if id == wasm.SecStart { // replaced by the __fm_start export
				continue
			}
			p, ok = orig[id]
		}
		if !ok {
			continue
		}
		out = append(out, id)
		out = wasm.AppendU32(out, uint32(len(p)))
		out = append(out, p...)
	}
	return out, nil
}

// funcRewriter rewrites one function body at a time, reusing its buffers.
type funcRewriter struct {
	instrs  []wasm.Instr
	ends    []bool   // per instruction: a metering segment ends after it
	costs   []uint64 // cost of each metering segment
	checked []bool   // per segment: test for out-of-gas after charging
	ctl     []ctlFrame
	out     []byte
}

// ctlFrame is an open block during the first pass.
type ctlFrame struct {
	class    wasm.Class
	targeted bool // some branch goes to this block's end
}

// segmentEnds reports whether a metering segment ends after in: whether the
// next instruction can be reached other than by falling through from in.
//
// Entering a block is unconditional, so block does not end a segment; the
// code after a block's end is a join point only if some branch targets the
// block. loop starts a segment (its head is a branch target), if/else start
// one per arm, and unconditional branches end one. br_if does not (see below).
func (fr *funcRewriter) segmentEnds(in *wasm.Instr) bool {
	switch in.Class {
	case wasm.Block:
		fr.ctl = append(fr.ctl, ctlFrame{class: wasm.Block})
		return false
	case wasm.Loop, wasm.If:
		fr.ctl = append(fr.ctl, ctlFrame{class: in.Class})
		return true
	case wasm.Else:
		return true
	case wasm.End:
		if len(fr.ctl) == 0 {
			return true // the function's end
		}
		top := fr.ctl[len(fr.ctl)-1]
		fr.ctl = fr.ctl[:len(fr.ctl)-1]
		return top.class != wasm.Block || top.targeted
	case wasm.BrIf:
		// The code after a br_if is reached only by falling through, so
		// it is charged with the segment before it: a taken branch pays
		// in advance for the run it skipped. This halves the charges of
		// the usual loop shape (test, br_if out, body, br back).
		fr.markTargets(in)
		return false
	case wasm.Br:
		fr.markTargets(in)
		return true
	case wasm.Return:
		return true
	}
	return false
}

// markTargets records which open blocks a branch goes to.
func (fr *funcRewriter) markTargets(in *wasm.Instr) {
	mark := func(depth uint32) {
		if i := len(fr.ctl) - 1 - int(depth); i >= 0 && int(depth) < len(fr.ctl) {
			fr.ctl[i].targeted = true
		}
	}
	switch in.Op {
	case 0x0c, 0x0d: // br, br_if
		mark(in.Index)
	case 0x0e: // br_table: every label, default included
		for _, d := range in.Labels {
			mark(d)
		}
	}
}

// instrCost is an instruction's gas. Structure (block, loop, else, end, nop)
// costs nothing: it compiles to no machine code, and Go's output nests a
// hundred blocks around every function's jump table, which at one unit each
// dominated a Go rule's gas. Every loop iteration still pays for the branch
// that repeats it, and every call for the call, so nothing runs for free.
func instrCost(in *wasm.Instr) uint64 {
	switch in.Class {
	case wasm.Block, wasm.Loop, wasm.Else, wasm.End:
		return 0
	case wasm.Call:
		return costCall
	case wasm.CallIndir:
		return costCallIndi
	}
	if in.Op == 0x01 { // nop
		return 0
	}
	return costDefault
}

func (fr *funcRewriter) rewrite(m *wasm.Module, l *layout, cfg Config, c wasm.Code, sig wasm.FuncType) ([]byte, error) {
	nlocals := uint64(len(sig.Params))
	for _, d := range c.Locals {
		if !numerical[d.Type] {
			return nil, fmt.Errorf("local of type %s is not allowed", wasm.Feature(d.Type))
		}
		nlocals += uint64(d.Count)
		if nlocals > uint64(cfg.MaxLocals) {
			return nil, fmt.Errorf("more than %d locals", cfg.MaxLocals)
		}
	}
	fr.instrs, fr.ends, fr.ctl = fr.instrs[:0], fr.ends[:0], fr.ctl[:0]
	// The entry segment is checked, so recursion cannot outrun gas.
	fr.costs, fr.checked = append(fr.costs[:0], 0), append(fr.checked[:0], true)
	leaf, uses32, uses64 := true, false, false
	err := wasm.Instructions(c.Body, c.Offset, func(in *wasm.Instr) error {
		fr.instrs = append(fr.instrs, *in)
		fr.costs[len(fr.costs)-1] += instrCost(in)
		switch in.Class {
		case wasm.Call, wasm.CallIndir:
			leaf = false
		case wasm.NaN32:
			uses32 = true
		case wasm.NaN64:
			uses64 = true
		}
		ends := fr.segmentEnds(in)
		fr.ends = append(fr.ends, ends)
		if ends {
			fr.costs = append(fr.costs, 0)
			// Only a loop head can run again without passing a function
			// entry, so only loop heads (and entries) test for out of
			// gas. Elsewhere gas may dip below zero for at most one
			// function body's straight-line run before a test sees it;
			// the host also tests after every call.
			fr.checked = append(fr.checked, in.Class == wasm.Loop)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// New locals go after every existing one so no index moves: the gas
	// counter, then the temporaries of NaN canonicalization.
	g := uint32(nlocals)
	locals := append([]wasm.LocalDecl(nil), c.Locals...)
	locals = append(locals, wasm.LocalDecl{Count: 1, Type: wasm.I64})
	next := g + 1
	var tmp32, tmp64 uint32
	if uses32 {
		locals = append(locals, wasm.LocalDecl{Count: 1, Type: wasm.F32})
		tmp32, next = next, next+1
	}
	if uses64 {
		locals = append(locals, wasm.LocalDecl{Count: 1, Type: wasm.F64})
		tmp64 = next
	}

	out := fr.out[:0]
	out = wasm.AppendU32(out, uint32(len(locals)))
	for _, d := range locals {
		out = wasm.AppendU32(out, d.Count)
		out = append(out, d.Type)
	}
	// A function that calls nothing cannot deepen the stack by more than its
	// own frame, so only callers count depth: they check before their body runs.
	if !leaf {
		out = appendDepthCheck(out, l, cfg.MaxCallDepth)
	}
	// The function keeps its gas in a local (a register, once compiled) and
	// syncs it with the global around calls and on the way out: the global
	// is what callees, host functions and the host read.
	out = appendLoadGas(out, l, g)
	// Wrap the body in a block with the function's results, so that every
	// way out (return, a branch to the function label, falling off the end)
	// passes the epilogue.
	out = append(out, opBlock)
	switch len(sig.Results) {
	case 0:
		out = append(out, blockEmpty)
	case 1:
		out = append(out, sig.Results[0])
	default:
		out = wasm.AppendS64(out, int64(l.typeIndex(wasm.FuncType{Results: sig.Results})))
	}
	seg := 0
	out = appendCharge(out, l, g, fr.costs[seg], fr.checked[seg])
	open := 0 // blocks open inside the function body
	body := c.Body
	for i := range fr.instrs {
		in := &fr.instrs[i]
		raw := body[in.Start:in.End]
		switch in.Class {
		case wasm.Block, wasm.Loop, wasm.If:
			open++
			out = append(out, raw...)
		case wasm.End:
			if open == 0 { // the function's own end
				out = append(out, opEnd) // closes the wrapper
				out = appendStoreGas(out, l, g)
				if !leaf {
					out = append(out, opGlobalGet)
					out = wasm.AppendU32(out, l.depth)
					out = append(out, opI32Const, 1, opI32Sub, opGlobalSet)
					out = wasm.AppendU32(out, l.depth)
				}
				out = append(out, opEnd)
				fr.out = out
				return append([]byte(nil), out...), nil
			}
			open--
			out = append(out, raw...)
		case wasm.Return:
			out = append(out, opBr)
			out = wasm.AppendU32(out, uint32(open))
		case wasm.Call, wasm.CallIndir:
			out = appendStoreGas(out, l, g)
			out = append(out, raw...)
			out = appendLoadGas(out, l, g)
		case wasm.MemGrow:
			out = appendHelperCall(out, l, g, l.fnGrow)
		case wasm.MemCopy:
			out = appendHelperCall(out, l, g, l.fnCopy)
		case wasm.MemFill:
			out = appendHelperCall(out, l, g, l.fnFill)
		case wasm.NaN32:
			out = append(out, raw...)
			out = appendCanon(out, tmp32, opF32Const, canonF32, opF32Eq)
		case wasm.NaN64:
			out = append(out, raw...)
			out = appendCanon(out, tmp64, opF64Const, canonF64, opF64Eq)
		default:
			out = append(out, raw...)
		}
		if fr.ends[i] {
			seg++
			out = appendCharge(out, l, g, fr.costs[seg], fr.checked[seg])
		}
	}
	return nil, fmt.Errorf("body has no final end")
}

func appendLoadGas(out []byte, l *layout, g uint32) []byte {
	out = append(out, opGlobalGet)
	out = wasm.AppendU32(out, l.gas)
	out = append(out, opLocalSet)
	return wasm.AppendU32(out, g)
}

func appendStoreGas(out []byte, l *layout, g uint32) []byte {
	out = append(out, opLocalGet)
	out = wasm.AppendU32(out, g)
	out = append(out, opGlobalSet)
	return wasm.AppendU32(out, l.gas)
}

func appendHelperCall(out []byte, l *layout, g, fn uint32) []byte {
	out = appendStoreGas(out, l, g)
	out = append(out, opCall)
	out = wasm.AppendU32(out, fn)
	return appendLoadGas(out, l, g)
}

// appendCharge subtracts cost from the function's gas local and, if check is
// set, traps with StatusOutOfGas when the result is negative. Gas can be below
// zero between checks, which is why the host reports gas used = limit on
// out-of-gas rather than reading the counter.
func appendCharge(out []byte, l *layout, g uint32, cost uint64, check bool) []byte {
	if cost == 0 && !check {
		return out
	}
	out = append(out, opLocalGet)
	out = wasm.AppendU32(out, g)
	out = append(out, opI64Const)
	out = wasm.AppendS64(out, int64(cost))
	out = append(out, opI64Sub)
	if !check {
		out = append(out, opLocalSet)
		return wasm.AppendU32(out, g)
	}
	out = append(out, opLocalTee)
	out = wasm.AppendU32(out, g)
	// The slow path traps inline rather than calling a helper: a call on
	// the path makes the compiler treat registers as clobbered across it,
	// which costs the fast path spills in hot loops.
	out = append(out, opI64Const, 0, opI64LtS, opIf, blockEmpty, opI32Const, StatusOutOfGas, opGlobalSet)
	out = wasm.AppendU32(out, l.status)
	return append(out, opUnreachable, opEnd)
}

func appendDepthCheck(out []byte, l *layout, max int32) []byte {
	out = append(out, opGlobalGet)
	out = wasm.AppendU32(out, l.depth)
	out = append(out, opI32Const, 1, opI32Add, opGlobalSet)
	out = wasm.AppendU32(out, l.depth)
	out = append(out, opGlobalGet)
	out = wasm.AppendU32(out, l.depth)
	out = append(out, opI32Const)
	out = wasm.AppendS64(out, int64(max))
	out = append(out, opI32GtU, opIf, blockEmpty, opCall)
	out = wasm.AppendU32(out, l.fnStack)
	return append(out, opEnd)
}

// appendCanon replaces the float on top of the stack by the canonical NaN if it
// is a NaN: x := tee; select(x, canon, x == x).
func appendCanon(out []byte, tmp uint32, constOp byte, canon []byte, eqOp byte) []byte {
	out = append(out, opLocalTee)
	out = wasm.AppendU32(out, tmp)
	out = append(out, constOp)
	out = append(out, canon...)
	out = append(out, opLocalGet)
	out = wasm.AppendU32(out, tmp)
	out = append(out, opLocalGet)
	out = wasm.AppendU32(out, tmp)
	return append(out, eqOp, opSelect)
}

// helperBodies returns the bodies of the injected functions, in the order of
// layout's fn* indices: out-of-gas, stack overflow, grow, copy, fill.
func helperBodies(l *layout, cfg Config, maxPages uint64) [][]byte {
	trapWith := func(status byte) []byte {
		b := []byte{0, opI32Const, status, opGlobalSet}
		b = wasm.AppendU32(b, l.status)
		return append(b, opUnreachable, opEnd)
	}

	// grow(pages i32) -> i32. A grow past the memory's maximum (the lower of
	// its declared maximum and the profile's limit) returns -1, as the spec
	// says, so a rule can probe for memory; it is charged GasPerMemOp, like
	// any grow that does not happen. A grow that happens is charged
	// GasPerMemOp plus GasPerPage per page before it runs: the pages are
	// where the time goes (the kernel zeroes each 4 KiB the first time it is
	// touched), see RATIONALE.md.
	grow := []byte{0}
	grow = append(grow, opMemorySize, 0, opI64ExtendU, opLocalGet, 0, opI64ExtendU, opI64Add, opI64Const)
	grow = wasm.AppendS64(grow, int64(maxPages))
	grow = append(grow, opI64GtU, opIf, blockEmpty)
	grow = appendGlobalCharge(grow, l, cfg.GasPerMemOp)
	grow = appendOOGCheck(grow, l)
	grow = append(grow, opI32Const, 0x7f, opReturn, opEnd) // -1
	grow = append(grow, opGlobalGet)
	grow = wasm.AppendU32(grow, l.gas)
	grow = append(grow, opLocalGet, 0, opI64ExtendU, opI64Const)
	grow = wasm.AppendS64(grow, int64(cfg.GasPerPage))
	grow = append(grow, opI64Mul, opI64Const)
	grow = wasm.AppendS64(grow, int64(cfg.GasPerMemOp))
	grow = append(grow, opI64Add, opI64Sub, opGlobalSet)
	grow = wasm.AppendU32(grow, l.gas)
	grow = appendOOGCheck(grow, l)
	grow = append(grow, opLocalGet, 0, opMemoryGrow, 0, opEnd)

	// copy and fill: GasPerMemOp plus one unit per BytesPerGas bytes, charged
	// before the op, so a huge one runs out of gas instead of running.
	memop := func(sub byte, imm []byte) []byte {
		b := []byte{0}
		b = append(b, opGlobalGet)
		b = wasm.AppendU32(b, l.gas)
		b = append(b, opLocalGet, 2, opI64ExtendU, opI64Const)
		b = wasm.AppendS64(b, int64(cfg.BytesPerGas))
		b = append(b, opI64DivU, opI64Const)
		b = wasm.AppendS64(b, int64(cfg.GasPerMemOp))
		b = append(b, opI64Add, opI64Sub, opGlobalSet)
		b = wasm.AppendU32(b, l.gas)
		b = appendOOGCheck(b, l)
		b = append(b, opLocalGet, 0, opLocalGet, 1, opLocalGet, 2, opPrefixFC, sub)
		b = append(b, imm...)
		return append(b, opEnd)
	}
	return [][]byte{
		trapWith(StatusOutOfGas),
		trapWith(StatusStackLimit),
		grow,
		memop(10, []byte{0, 0}),
		memop(11, []byte{0}),
	}
}

// appendGlobalCharge subtracts cost from the gas global.
func appendGlobalCharge(b []byte, l *layout, cost uint64) []byte {
	b = append(b, opGlobalGet)
	b = wasm.AppendU32(b, l.gas)
	b = append(b, opI64Const)
	b = wasm.AppendS64(b, int64(cost))
	b = append(b, opI64Sub, opGlobalSet)
	return wasm.AppendU32(b, l.gas)
}

func appendOOGCheck(b []byte, l *layout) []byte {
	b = append(b, opGlobalGet)
	b = wasm.AppendU32(b, l.gas)
	b = append(b, opI64Const, 0, opI64LtS, opIf, blockEmpty, opCall)
	b = wasm.AppendU32(b, l.fnOOG)
	return append(b, opEnd)
}

func encodeVecU32(v []uint32) []byte {
	b := wasm.AppendU32(nil, uint32(len(v)))
	for _, x := range v {
		b = wasm.AppendU32(b, x)
	}
	return b
}

// memoryMax is the most pages the prepared memory may have: the lower of its
// declared maximum and the profile's limit.
func memoryMax(mem wasm.Limits, maxPages uint32) uint64 {
	max := uint64(maxPages)
	if mem.HasMax && mem.Max < max {
		max = mem.Max
	}
	return max
}

// encodeMemory caps the memory's maximum at the profile's limit, so that
// wazero's own bound agrees with the injected one.
func encodeMemory(mem wasm.Limits, maxPages uint32) []byte {
	max := memoryMax(mem, maxPages)
	b := []byte{1, 1}
	b = wasm.AppendU32(b, uint32(mem.Min))
	return wasm.AppendU32(b, uint32(max))
}

func encodeGlobals(gs []wasm.Global, initGas uint64) []byte {
	b := wasm.AppendU32(nil, uint32(len(gs)+3))
	for _, g := range gs {
		b = append(b, g.Type)
		if g.Mutable {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
		b = append(b, g.Init...)
	}
	b = append(b, wasm.I64, 1, opI64Const)
	b = wasm.AppendS64(b, int64(initGas))
	b = append(b, opEnd)
	b = append(b, wasm.I32, 1, opI32Const, 0, opEnd)
	b = append(b, wasm.I32, 1, opI32Const, 0, opEnd)
	return b
}

func encodeExports(m *wasm.Module, l *layout, res *Result) []byte {
	type exp struct {
		name  string
		kind  byte
		index uint32
	}
	var add []exp
	add = append(add, exp{ExportGas, wasm.KindGlobal, l.gas}, exp{ExportDepth, wasm.KindGlobal, l.depth},
		exp{ExportStatus, wasm.KindGlobal, l.status})
	if m.Start != nil {
		add = append(add, exp{ExportStart, wasm.KindFunc, *m.Start})
	}
	for i, g := range m.Globals {
		if g.Mutable {
			res.MutableGlobals = append(res.MutableGlobals, uint32(i))
			add = append(add, exp{ExportGlobal + strconv.Itoa(i), wasm.KindGlobal, uint32(i)})
		}
	}
	b := wasm.AppendU32(nil, uint32(len(m.Exports)+len(add)))
	for _, e := range m.Exports {
		b = wasm.AppendName(b, e.Name)
		b = append(b, e.Kind)
		b = wasm.AppendU32(b, e.Index)
	}
	for _, e := range add {
		b = wasm.AppendName(b, e.name)
		b = append(b, e.kind)
		b = wasm.AppendU32(b, e.index)
	}
	return b
}

func encodeCode(bodies [][]byte) []byte {
	n := 0
	for _, b := range bodies {
		n += len(b) + 5
	}
	out := make([]byte, 0, n+5)
	out = wasm.AppendU32(out, uint32(len(bodies)))
	for _, b := range bodies {
		out = wasm.AppendU32(out, uint32(len(b)))
		out = append(out, b...)
	}
	return out
}
