package wasm

import "fmt"

// Class says what preparation must know about an instruction.
type Class uint8

const (
	Plain     Class = iota
	Block           // block
	Loop            // loop
	If              // if
	Else            // else
	End             // end
	Br              // br, br_table, unreachable: control does not fall through
	BrIf            // br_if: may branch, may fall through
	Return          // return
	Call            // call
	CallIndir       // call_indirect
	MemGrow         // memory.grow
	MemCopy         // memory.copy
	MemFill         // memory.fill
	NaN32           // an f32 operation whose result may be a NaN
	NaN64           // an f64 operation whose result may be a NaN
)

// Instr is one decoded instruction: where it is and what kind it is.
type Instr struct {
	Class      Class
	Op         byte
	Sub        uint32   // the sub-opcode after a 0xfc prefix
	Start, End int      // byte range within the body
	Index      uint32   // call: the function index; call_indirect: the type index; br, br_if: the label depth; local.*, global.*: the index
	Labels     []uint32 // br_table: the label depths, default last (valid during the callback only)
	BlockType  int64    // block, loop, if: -64 (0x40) for empty, a negative valtype code, or a type index
}

// UnsupportedError says an instruction belongs to a feature preparation does
// not allow. Callers wrap it with the function it was found in.
type UnsupportedError struct {
	What   string
	Offset int
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("%s at offset %d", e.What, e.Offset)
}

// Instructions decodes a function body (as in Code.Body) and calls fn for each
// instruction, in order. It stops at the first error or when fn returns one.
// base is the body's offset within the module, used in messages.
func Instructions(body []byte, base int, fn func(in *Instr) error) error {
	r := NewReader(body, base)
	var in Instr
	var labels []uint32
	depth := 0
	for r.Len() > 0 {
		in = Instr{Start: r.Pos()}
		op := r.Byte()
		in.Op = op
		switch {
		case op == 0x00: // unreachable
			in.Class = Br
		case op == 0x01: // nop
		case op == 0x02 || op == 0x03 || op == 0x04:
			in.Class = [...]Class{Block, Loop, If}[op-2]
			in.BlockType = r.S33()
			depth++
		case op == 0x05:
			in.Class = Else
		case op == 0x0b:
			in.Class = End
			depth--
		case op == 0x0c:
			in.Class = Br
			in.Index = r.U32()
		case op == 0x0d:
			in.Class = BrIf
			in.Index = r.U32()
		case op == 0x0e:
			in.Class = Br
			n := r.Count(1)
			labels = labels[:0]
			for i := 0; i <= n && r.Err() == nil; i++ {
				labels = append(labels, r.U32())
			}
			in.Labels = labels
		case op == 0x0f:
			in.Class = Return
		case op == 0x10:
			in.Class = Call
			in.Index = r.U32()
		case op == 0x11:
			in.Class = CallIndir
			in.Index = r.U32() // type index
			if t := r.U32(); t != 0 && r.Err() == nil {
				return &UnsupportedError{fmt.Sprintf("call_indirect through table %d (only table 0 exists)", t), base + in.Start}
			}
		case op == 0x1a || op == 0x1b: // drop, select
		case op == 0x1c: // select t*
			n := r.Count(1)
			for i := 0; i < n && r.Err() == nil; i++ {
				if t := r.Byte(); t != I32 && t != I64 && t != F32 && t != F64 {
					return &UnsupportedError{"select of type " + Feature(t), base + in.Start}
				}
			}
		case op >= 0x20 && op <= 0x24: // local.get/set/tee, global.get/set
			in.Index = r.U32()
		case op == 0x25: // table.get
			r.U32()
		case op >= 0x28 && op <= 0x3e: // loads and stores
			align := r.U32()
			if align >= 64 && r.Err() == nil {
				return &UnsupportedError{"memory access to a memory index (multiple memories)", base + in.Start}
			}
			r.U64()
		case op == 0x3f || op == 0x40: // memory.size, memory.grow
			if b := r.Byte(); b != 0 && r.Err() == nil {
				return &UnsupportedError{"memory instruction on memory other than 0", base + in.Start}
			}
			if op == 0x40 {
				in.Class = MemGrow
			}
		case op == 0x41:
			r.S32()
		case op == 0x42:
			r.S64()
		case op == 0x43:
			r.Fixed(4)
		case op == 0x44:
			r.Fixed(8)
		case op >= 0x45 && op <= 0xc4: // numeric, conversions, sign extension
			in.Class = numericClass(op)
		case op == 0xfc:
			in.Sub = r.U32()
			switch {
			case in.Sub <= 7: // saturating truncation
			case in.Sub == 10: // memory.copy
				in.Class = MemCopy
				if a, b := r.Byte(), r.Byte(); (a != 0 || b != 0) && r.Err() == nil {
					return &UnsupportedError{"memory.copy between memories other than 0", base + in.Start}
				}
			case in.Sub == 11: // memory.fill
				in.Class = MemFill
				if a := r.Byte(); a != 0 && r.Err() == nil {
					return &UnsupportedError{"memory.fill on memory other than 0", base + in.Start}
				}
			case in.Sub == 16: // table.size
				r.U32()
			default:
				if r.Err() == nil {
					return &UnsupportedError{prefixedName(in.Sub), base + in.Start}
				}
			}
		default:
			if r.Err() == nil {
				return &UnsupportedError{opName(op), base + in.Start}
			}
		}
		if r.Err() != nil {
			return r.Err()
		}
		in.End = r.Pos()
		if depth < 0 {
			if r.Len() != 0 {
				return fmt.Errorf("at offset %d: code after the function's final end", base+in.End)
			}
		}
		if err := fn(&in); err != nil {
			return err
		}
	}
	if depth != -1 {
		return fmt.Errorf("at offset %d: function body ends with %d blocks open", base+len(body), depth+1)
	}
	return nil
}

func numericClass(op byte) Class {
	switch op {
	case 0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, // f32 ceil..max
		0xb6: // f32.demote_f64
		return NaN32
	case 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, // f64 ceil..max
		0xbb: // f64.promote_f32
		return NaN64
	}
	return Plain
}

func opName(op byte) string {
	switch op {
	case 0x06, 0x07, 0x08, 0x09, 0x0a, 0x18, 0x19, 0x1f:
		return fmt.Sprintf("exception-handling instruction 0x%02x", op)
	case 0x12, 0x13:
		return "tail call (return_call)"
	case 0x14, 0x15:
		return "typed function reference call"
	case 0x26:
		return "table.set (tables are immutable after instantiation)"
	case 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6:
		return fmt.Sprintf("reference-type instruction 0x%02x", op)
	case 0xfd:
		return "SIMD instruction (0xfd prefix)"
	case 0xfe:
		return "atomic instruction (threads, 0xfe prefix)"
	case 0xfb:
		return "GC instruction (0xfb prefix)"
	}
	return fmt.Sprintf("unknown opcode 0x%02x", op)
}

func prefixedName(sub uint32) string {
	switch sub {
	case 8:
		return "memory.init (passive data is not allowed)"
	case 9:
		return "data.drop (passive data is not allowed)"
	case 12:
		return "table.init (tables are immutable after instantiation)"
	case 13:
		return "elem.drop (tables are immutable after instantiation)"
	case 14:
		return "table.copy (tables are immutable after instantiation)"
	case 15:
		return "table.grow (tables are immutable after instantiation)"
	case 17:
		return "table.fill (tables are immutable after instantiation)"
	}
	return fmt.Sprintf("unknown instruction 0xfc %d", sub)
}
