package instrument

import (
	"errors"
	"fmt"

	"github.com/fedmeter/fedmeter/host/internal/wasm"
)

// checkCode walks every function body once, before anything else reads the
// instructions, and refuses what preparation or compilation could not finish
// in bounded time and memory: bodies and code sections over their size
// limits, blocks nested deeper than MaxNesting, br_tables with more than
// MaxBrTable targets. wazero's compilers are superlinear in some of these
// (100,000 nested blocks took minutes to compile), so the bounds are checked
// on the raw bytes, in one linear pass, before wazero sees the module.
//
// The same pass rejects instructions of features the profile bans, so the
// reason names the feature ("SIMD instruction") rather than whatever a later
// stage would make of it.
func checkCode(m *wasm.Module, cfg Config) error {
	total := 0
	// Module-wide work: per-function bounds alone do not bound a module's
	// compile time, because a module may repeat a costly function until
	// the code bound. wazero's compiler is quadratic in nesting (each
	// block costs about its depth, a loop about five times that) and in
	// br_table size (about targets squared); the budgets sum those.
	// The same compiler is also quadratic in the number of basic blocks
	// in one function, nested or not: every block, if, else, branch,
	// return and unreachable counts 1 and a loop 4 (the gas check at each
	// loop head adds an if). Prepared, 5,400 loops in a row took 7 s to
	// compile and 16,384 br_ifs in a row 5.9 s.
	var nestWork, brWork, controlWork uint64
	for i, c := range m.Codes {
		fi := m.NumImportedFuncs() + i
		size := len(c.Body)
		total += size
		if cfg.MaxBodyBytes > 0 && size > cfg.MaxBodyBytes {
			return reject("function %d: body of %d bytes, more than the limit of %d", fi, size, cfg.MaxBodyBytes)
		}
		if cfg.MaxCodeBytes > 0 && total > cfg.MaxCodeBytes {
			return reject("code section: more than %d bytes of function bodies (limit reached at function %d)", cfg.MaxCodeBytes, fi)
		}
		// Locals first: wazero allocates what a local declaration claims,
		// so a 300-byte body claiming 2^32 locals must not reach it.
		nlocals := uint64(len(m.Types[m.Functions[i]].Params))
		for _, d := range c.Locals {
			if !numerical[d.Type] {
				return reject("function %d: local of type %s is not allowed", fi, wasm.Feature(d.Type))
			}
			nlocals += uint64(d.Count)
			if nlocals > uint64(cfg.MaxLocals) {
				return reject("function %d: more than %d locals", fi, cfg.MaxLocals)
			}
		}
		depth := 0
		control := uint64(0)
		nfuncs := uint32(m.NumImportedFuncs() + len(m.Functions))
		bad := func(in *wasm.Instr, format string, args ...any) error {
			return &boundError{fmt.Sprintf("%s at offset %d", fmt.Sprintf(format, args...), in.Start+c.Offset)}
		}
		// Index spaces are checked here, on the upload, with the index
		// named; wazero checks them again (and everything else) next.
		// The rewrite adds locals, globals, functions and an outer block,
		// so an index one past the upload's would otherwise land on them.
		label := func(in *wasm.Instr, l uint32) error {
			if uint64(l) > uint64(depth) { // depth open blocks + the function's label
				return bad(in, "branch to label %d, but only %d labels are in scope", l, depth+1)
			}
			return nil
		}
		err := wasm.Instructions(c.Body, c.Offset, func(in *wasm.Instr) error {
			switch in.Class {
			case wasm.Block, wasm.Loop, wasm.If, wasm.Else, wasm.Br, wasm.BrIf, wasm.Return:
				control++
				if in.Class == wasm.Loop {
					control += loopWeight - 1
				}
				if cfg.MaxControl > 0 && control > uint64(cfg.MaxControl) {
					return bad(in, "more than %d control instructions in one function (blocks, branches, a loop counts %d)", cfg.MaxControl, loopWeight)
				}
			}
			switch in.Class {
			case wasm.Block, wasm.Loop, wasm.If:
				if in.BlockType >= 0 && in.BlockType >= int64(len(m.Types)) {
					return bad(in, "block type %d out of range (%d types)", in.BlockType, len(m.Types))
				}
				depth++
				if cfg.MaxNesting > 0 && depth > cfg.MaxNesting {
					return bad(in, "blocks nested %d deep, more than the limit of %d", depth, cfg.MaxNesting)
				}
				w := uint64(depth)
				if in.Class == wasm.Loop {
					w *= loopWeight
				}
				if nestWork += w; cfg.MaxNestingWork > 0 && nestWork > cfg.MaxNestingWork {
					return bad(in, "nesting work over the module's budget of %d (each block counts its depth, each loop %d times its depth)", cfg.MaxNestingWork, loopWeight)
				}
			case wasm.End:
				depth--
			case wasm.Br, wasm.BrIf:
				switch in.Op {
				case 0x0c, 0x0d:
					return label(in, in.Index)
				case 0x0e:
					n := uint64(len(in.Labels) - 1)
					if cfg.MaxBrTable > 0 && n > uint64(cfg.MaxBrTable) {
						return bad(in, "br_table with %d targets, more than the limit of %d", n, cfg.MaxBrTable)
					}
					if brWork += n * n; cfg.MaxBrTableWork > 0 && brWork > cfg.MaxBrTableWork {
						return bad(in, "br_table work over the module's budget of %d (each br_table counts its targets squared)", cfg.MaxBrTableWork)
					}
					for _, l := range in.Labels {
						if err := label(in, l); err != nil {
							return err
						}
					}
				}
			case wasm.Call:
				if in.Index >= nfuncs {
					return bad(in, "call of function %d, but the module has %d functions", in.Index, nfuncs)
				}
			case wasm.CallIndir:
				if in.Index >= uint32(len(m.Types)) {
					return bad(in, "call_indirect of type %d out of range (%d types)", in.Index, len(m.Types))
				}
				if len(m.Tables) == 0 {
					return bad(in, "call_indirect, but the module has no table")
				}
			}
			switch in.Op {
			case 0x20, 0x21, 0x22:
				if uint64(in.Index) >= nlocals {
					return bad(in, "%s of local %d, but the function has %d locals (parameters included)", localOp[in.Op-0x20], in.Index, nlocals)
				}
			case 0x23, 0x24:
				if in.Index >= uint32(len(m.Globals)) {
					return bad(in, "%s of global %d, but the module has %d globals", globalOp[in.Op-0x23], in.Index, len(m.Globals))
				}
			}
			return nil
		})
		if err == nil {
			if controlWork += control * control; cfg.MaxControlWork > 0 && controlWork > cfg.MaxControlWork {
				err = &boundError{fmt.Sprintf("control work over the module's budget of %d (each function counts its control instructions squared)", cfg.MaxControlWork)}
			}
		}
		if err != nil {
			var be *boundError
			if errors.As(err, &be) {
				return reject("function %d: %s", fi, be.msg)
			}
			return reject("function %d: %v", fi, err)
		}
	}
	return nil
}

// loopWeight is what a loop counts, relative to a block, against
// MaxNestingWork (per level of depth) and MaxControl: measured, 2,048 nested
// loops took 5.3x as long to compile as 2,048 nested blocks, and loops in a
// row cost about as much as four times as many ifs (docs/benchmarks.md).
const loopWeight = 4

var (
	localOp  = [...]string{"local.get", "local.set", "local.tee"}
	globalOp = [...]string{"global.get", "global.set"}
)

type boundError struct{ msg string }

func (e *boundError) Error() string { return e.msg }
