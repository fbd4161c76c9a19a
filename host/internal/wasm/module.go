package wasm

import (
	"bytes"
	"fmt"
)

// Section IDs.
const (
	SecCustom    byte = 0
	SecType      byte = 1
	SecImport    byte = 2
	SecFunction  byte = 3
	SecTable     byte = 4
	SecMemory    byte = 5
	SecGlobal    byte = 6
	SecExport    byte = 7
	SecStart     byte = 8
	SecElement   byte = 9
	SecCode      byte = 10
	SecData      byte = 11
	SecDataCount byte = 12
	SecTag       byte = 13
)

// Value types.
const (
	I32       byte = 0x7f
	I64       byte = 0x7e
	F32       byte = 0x7d
	F64       byte = 0x7c
	V128      byte = 0x7b
	FuncRef   byte = 0x70
	ExternRef byte = 0x6f
)

// External kinds (imports and exports).
const (
	KindFunc   byte = 0
	KindTable  byte = 1
	KindMemory byte = 2
	KindGlobal byte = 3
	KindTag    byte = 4
)

// Magic and Version open every module.
var (
	Magic   = []byte{0x00, 0x61, 0x73, 0x6d}
	Version = []byte{0x01, 0x00, 0x00, 0x00}
)

// sectionOrder gives each known non-custom section its required position.
var sectionOrder = map[byte]int{
	SecType: 1, SecImport: 2, SecFunction: 3, SecTable: 4, SecMemory: 5, SecTag: 6,
	SecGlobal: 7, SecExport: 8, SecStart: 9, SecElement: 10, SecDataCount: 11,
	SecCode: 12, SecData: 13,
}

// SectionName names a section ID for messages.
func SectionName(id byte) string {
	names := [...]string{"custom", "type", "import", "function", "table", "memory",
		"global", "export", "start", "element", "code", "data", "data count", "tag"}
	if int(id) < len(names) {
		return names[id]
	}
	return fmt.Sprintf("unknown(%d)", id)
}

// ValTypeName names a value type for messages.
func ValTypeName(t byte) string {
	switch t {
	case I32:
		return "i32"
	case I64:
		return "i64"
	case F32:
		return "f32"
	case F64:
		return "f64"
	case V128:
		return "v128"
	case FuncRef:
		return "funcref"
	case ExternRef:
		return "externref"
	}
	return fmt.Sprintf("valtype(0x%02x)", t)
}

// Feature names the proposal a value type belongs to, for reasons that say
// what was refused ("v128 (SIMD)"), or just the type for the numeric ones.
func Feature(t byte) string {
	switch t {
	case V128:
		return "v128 (SIMD)"
	case FuncRef, ExternRef:
		return ValTypeName(t) + " (reference types)"
	}
	return ValTypeName(t)
}

// FuncType is a function signature.
type FuncType struct {
	Params, Results []byte
}

// Equal reports whether two signatures are the same.
func (t FuncType) Equal(o FuncType) bool {
	return bytes.Equal(t.Params, o.Params) && bytes.Equal(t.Results, o.Results)
}

func (t FuncType) String() string {
	s := "("
	for i, p := range t.Params {
		if i > 0 {
			s += ", "
		}
		s += ValTypeName(p)
	}
	s += ") -> ("
	for i, p := range t.Results {
		if i > 0 {
			s += ", "
		}
		s += ValTypeName(p)
	}
	return s + ")"
}

// EncodeTypes is the payload of a type section holding ts.
func EncodeTypes(ts []FuncType) []byte {
	b := AppendU32(nil, uint32(len(ts)))
	for _, t := range ts {
		b = append(b, 0x60)
		b = AppendU32(b, uint32(len(t.Params)))
		b = append(b, t.Params...)
		b = AppendU32(b, uint32(len(t.Results)))
		b = append(b, t.Results...)
	}
	return b
}

// Limits are the size bounds of a memory or table.
type Limits struct {
	Flags  byte
	Min    uint64
	Max    uint64
	HasMax bool
}

// Import is one import entry. For functions, TypeIndex is set; for other kinds
// only Kind is recorded (preparation rejects them).
type Import struct {
	Module, Name string
	Kind         byte
	TypeIndex    uint32
}

// Export is one export entry.
type Export struct {
	Name  string
	Kind  byte
	Index uint32
}

// Table is a table definition.
type Table struct {
	RefType byte
	Limits  Limits
}

// Global is a global definition; Init is its constant expression, final end
// included.
type Global struct {
	Type    byte
	Mutable bool
	Init    []byte
}

// ElementSegment summarizes an element segment: its mode flags and, for the
// forms that list function indices, those indices.
type ElementSegment struct {
	Flags   uint32
	Table   uint32
	Funcs   []uint32
	Offset  int // of the segment within the module
	HasExpr bool
	// Base is the table offset of an active segment whose offset is an
	// i32.const (HasBase); preparation refuses imported globals, so every
	// active segment of a module it accepts has one.
	Base    uint32
	HasBase bool
	Count   uint32 // elements in the segment
}

// DataSegment summarizes a data segment.
type DataSegment struct {
	Mode   uint32 // 0 active memory 0, 1 passive, 2 active with memory index
	Memory uint32
	Offset int
}

// LocalDecl is a run of locals of one type.
type LocalDecl struct {
	Count uint32
	Type  byte
}

// Code is one function body.
type Code struct {
	Locals []LocalDecl
	// Body is the instruction sequence, final end included.
	Body []byte
	// Offset is Body's offset within the module.
	Offset int
}

// Section is a section as found in the binary.
type Section struct {
	ID      byte
	Name    string // custom sections only
	Payload []byte
	Offset  int // of the payload
	Start   int // of the section's id byte: the section is b[Start:Offset+len(Payload)]
}

// Module is a decoded module. It keeps every section's payload so that a writer
// can copy what it does not change byte for byte.
type Module struct {
	Sections []Section

	Types     []FuncType
	Imports   []Import
	Functions []uint32 // type index of each defined function
	Tables    []Table
	Memories  []Limits
	Globals   []Global
	Exports   []Export
	Start     *uint32
	Elements  []ElementSegment
	DataCount *uint32
	Codes     []Code
	Data      []DataSegment
	HasTags   bool
}

// NumImportedFuncs counts function imports.
func (m *Module) NumImportedFuncs() int {
	n := 0
	for _, im := range m.Imports {
		if im.Kind == KindFunc {
			n++
		}
	}
	return n
}

// FuncTypeOf returns the signature of function index fi (imports first).
func (m *Module) FuncTypeOf(fi uint32) (FuncType, bool) {
	n := uint32(0)
	for _, im := range m.Imports {
		if im.Kind != KindFunc {
			continue
		}
		if n == fi {
			if int(im.TypeIndex) < len(m.Types) {
				return m.Types[im.TypeIndex], true
			}
			return FuncType{}, false
		}
		n++
	}
	di := uint64(fi) - uint64(n)
	if di >= uint64(len(m.Functions)) {
		return FuncType{}, false
	}
	ti := m.Functions[di]
	if int(ti) >= len(m.Types) {
		return FuncType{}, false
	}
	return m.Types[ti], true
}

// Decode parses the module structure: every section and every entry, but not
// the instructions inside function bodies (see Instructions). It checks the
// binary framing strictly: magic, version, section order, section sizes, and
// that every section is consumed exactly.
func Decode(b []byte) (*Module, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("module is %d bytes, shorter than the 8-byte header", len(b))
	}
	if !bytes.Equal(b[:4], Magic) {
		return nil, fmt.Errorf("bad magic number % x (not a WebAssembly binary)", b[:4])
	}
	if !bytes.Equal(b[4:8], Version) {
		return nil, fmt.Errorf("unsupported binary version % x", b[4:8])
	}
	m := &Module{}
	r := NewReader(b[8:], 8)
	last := 0
	seen := map[byte]bool{}
	for r.Len() > 0 {
		start := r.Offset()
		id := r.Byte()
		size := r.U32()
		if r.Err() != nil {
			return nil, fmt.Errorf("section header: %w", r.Err())
		}
		if int64(size) > int64(r.Len()) {
			return nil, fmt.Errorf("at offset %d: %s section of %d bytes runs past the end of the module (%d bytes left)",
				r.Offset(), SectionName(id), size, r.Len())
		}
		off := r.Offset()
		payload := r.Fixed(int(size))
		sec := Section{ID: id, Payload: payload, Offset: off, Start: start}
		if id == SecCustom {
			cr := NewReader(payload, off)
			sec.Name = cr.Name()
			if cr.Err() != nil {
				return nil, fmt.Errorf("custom section name: %w", cr.Err())
			}
			m.Sections = append(m.Sections, sec)
			continue
		}
		pos, ok := sectionOrder[id]
		if !ok {
			return nil, fmt.Errorf("at offset %d: unknown section id %d", off-1, id)
		}
		if seen[id] {
			return nil, fmt.Errorf("at offset %d: duplicate %s section", off, SectionName(id))
		}
		if pos < last {
			return nil, fmt.Errorf("at offset %d: %s section out of order", off, SectionName(id))
		}
		seen[id] = true
		last = pos
		m.Sections = append(m.Sections, sec)
		sr := NewReader(payload, off)
		if err := m.decodeSection(id, sr); err != nil {
			return nil, fmt.Errorf("%s section: %w", SectionName(id), err)
		}
		if sr.Err() != nil {
			return nil, fmt.Errorf("%s section: %w", SectionName(id), sr.Err())
		}
		if sr.Len() != 0 {
			return nil, fmt.Errorf("%s section: %d trailing bytes at offset %d", SectionName(id), sr.Len(), sr.Offset())
		}
	}
	if len(m.Functions) != len(m.Codes) {
		return nil, fmt.Errorf("function section declares %d functions but code section has %d bodies", len(m.Functions), len(m.Codes))
	}
	return m, nil
}

// WithoutCustom returns the module b (which m was decoded from) with its
// custom sections left out and every other byte as it was.
func (m *Module) WithoutCustom(b []byte) []byte {
	out := append([]byte(nil), b[:8]...)
	for _, s := range m.Sections {
		if s.ID != SecCustom {
			out = append(out, b[s.Start:s.Offset+len(s.Payload)]...)
		}
	}
	return out
}

func (m *Module) decodeSection(id byte, r *Reader) error {
	switch id {
	case SecType:
		n := r.Count(3)
		m.Types = make([]FuncType, 0, n)
		for i := 0; i < n && r.Err() == nil; i++ {
			if form := r.Byte(); form != 0x60 {
				if r.Err() == nil {
					return fmt.Errorf("type %d: form 0x%02x is not a function type (GC types are not supported)", i, form)
				}
				break
			}
			var t FuncType
			np := r.Count(1)
			t.Params = append([]byte(nil), r.Fixed(np)...)
			nr := r.Count(1)
			t.Results = append([]byte(nil), r.Fixed(nr)...)
			m.Types = append(m.Types, t)
		}
	case SecImport:
		n := r.Count(4)
		for i := 0; i < n && r.Err() == nil; i++ {
			im := Import{Module: r.Name(), Name: r.Name(), Kind: r.Byte()}
			switch im.Kind {
			case KindFunc:
				im.TypeIndex = r.U32()
			case KindTable:
				r.Byte()
				readLimits(r)
			case KindMemory:
				readLimits(r)
			case KindGlobal:
				r.Byte()
				r.Byte()
			case KindTag:
				r.Byte()
				r.U32()
			default:
				if r.Err() == nil {
					return fmt.Errorf("import %q.%q: unknown kind %d", im.Module, im.Name, im.Kind)
				}
			}
			m.Imports = append(m.Imports, im)
		}
	case SecFunction:
		n := r.Count(1)
		m.Functions = make([]uint32, 0, n)
		for i := 0; i < n && r.Err() == nil; i++ {
			m.Functions = append(m.Functions, r.U32())
		}
	case SecTable:
		n := r.Count(3)
		for i := 0; i < n && r.Err() == nil; i++ {
			t := Table{RefType: r.Byte()}
			t.Limits = readLimits(r)
			m.Tables = append(m.Tables, t)
		}
	case SecMemory:
		n := r.Count(2)
		for i := 0; i < n && r.Err() == nil; i++ {
			m.Memories = append(m.Memories, readLimits(r))
		}
	case SecTag:
		m.HasTags = true
		r.Fixed(r.Len())
	case SecGlobal:
		n := r.Count(3)
		for i := 0; i < n && r.Err() == nil; i++ {
			g := Global{Type: r.Byte()}
			mut := r.Byte()
			if mut > 1 && r.Err() == nil {
				return fmt.Errorf("global %d: bad mutability %d", i, mut)
			}
			g.Mutable = mut == 1
			g.Init = ConstExpr(r)
			m.Globals = append(m.Globals, g)
		}
	case SecExport:
		n := r.Count(3)
		for i := 0; i < n && r.Err() == nil; i++ {
			m.Exports = append(m.Exports, Export{Name: r.Name(), Kind: r.Byte(), Index: r.U32()})
		}
	case SecStart:
		s := r.U32()
		m.Start = &s
	case SecElement:
		n := r.Count(2)
		for i := 0; i < n && r.Err() == nil; i++ {
			seg, err := readElement(r)
			if err != nil {
				return fmt.Errorf("element segment %d: %w", i, err)
			}
			m.Elements = append(m.Elements, seg)
		}
	case SecDataCount:
		c := r.U32()
		m.DataCount = &c
	case SecCode:
		n := r.Count(2)
		m.Codes = make([]Code, 0, n)
		for i := 0; i < n && r.Err() == nil; i++ {
			size := r.U32()
			if r.Err() != nil {
				break
			}
			if int64(size) > int64(r.Len()) {
				return fmt.Errorf("body %d: size %d runs past the section end", i, size)
			}
			br := NewReader(r.Fixed(int(size)), r.Offset()-int(size))
			var c Code
			nl := br.Count(2)
			for j := 0; j < nl && br.Err() == nil; j++ {
				c.Locals = append(c.Locals, LocalDecl{Count: br.U32(), Type: br.Byte()})
			}
			if br.Err() != nil {
				return fmt.Errorf("body %d locals: %w", i, br.Err())
			}
			c.Offset = br.Offset()
			c.Body = br.Bytes()[br.Pos():]
			if len(c.Body) == 0 || c.Body[len(c.Body)-1] != 0x0b {
				return fmt.Errorf("body %d at offset %d does not end with end", i, c.Offset)
			}
			m.Codes = append(m.Codes, c)
		}
	case SecData:
		n := r.Count(1)
		for i := 0; i < n && r.Err() == nil; i++ {
			d := DataSegment{Offset: r.Offset(), Mode: r.U32()}
			switch d.Mode {
			case 0:
				ConstExpr(r)
			case 1:
			case 2:
				d.Memory = r.U32()
				ConstExpr(r)
			default:
				if r.Err() == nil {
					return fmt.Errorf("data segment %d: unknown mode %d", i, d.Mode)
				}
			}
			sz := r.U32()
			if int64(sz) > int64(r.Len()) {
				if r.Err() == nil {
					return fmt.Errorf("data segment %d: %d bytes run past the section end", i, sz)
				}
				break
			}
			r.Fixed(int(sz))
			m.Data = append(m.Data, d)
		}
	}
	return nil
}

func readLimits(r *Reader) Limits {
	l := Limits{Flags: r.Byte()}
	wide := l.Flags&0x04 != 0 // memory64 / table64: 64-bit limits
	read := func() uint64 {
		if wide {
			return r.U64()
		}
		return uint64(r.U32())
	}
	l.Min = read()
	if l.Flags&0x01 != 0 {
		l.HasMax = true
		l.Max = read()
	}
	return l
}

// ConstExpr reads a constant expression through its end and returns its bytes.
// It accepts the instructions constant expressions may contain; anything else
// is an error (wazero would reject it too).
func ConstExpr(r *Reader) []byte {
	start := r.Pos()
	for r.Err() == nil {
		op := r.Byte()
		switch op {
		case 0x0b:
			return r.Bytes()[start:r.Pos()]
		case 0x41:
			r.S32()
		case 0x42:
			r.S64()
		case 0x43:
			r.Fixed(4)
		case 0x44:
			r.Fixed(8)
		case 0x23, 0xd2:
			r.U32()
		case 0xd0:
			r.Byte()
		case 0xfd: // v128.const, so that a SIMD global is refused as SIMD
			if sub := r.U32(); sub != 12 && r.Err() == nil {
				r.fail("SIMD instruction 0xfd %d not allowed in a constant expression", sub)
			}
			r.Fixed(16)
		default:
			if r.Err() == nil {
				r.fail("opcode 0x%02x not allowed in a constant expression", op)
			}
		}
	}
	return nil
}

// constI32 is the value of a constant expression that is one i32.const.
func constI32(expr []byte) (uint32, bool) {
	if len(expr) < 3 || expr[0] != 0x41 || expr[len(expr)-1] != 0x0b {
		return 0, false
	}
	r := NewReader(expr[1:len(expr)-1], 0)
	v := r.S32()
	if r.Err() != nil || r.Len() != 0 {
		return 0, false
	}
	return uint32(v), true
}

func readElement(r *Reader) (ElementSegment, error) {
	seg := ElementSegment{Offset: r.Offset(), Flags: r.U32()}
	if seg.Flags > 7 {
		return seg, fmt.Errorf("unknown flags %d", seg.Flags)
	}
	passiveOrDecl := seg.Flags&1 != 0
	explicitTable := seg.Flags&2 != 0
	exprs := seg.Flags&4 != 0
	seg.HasExpr = exprs
	if !passiveOrDecl {
		if explicitTable {
			seg.Table = r.U32()
		}
		seg.Base, seg.HasBase = constI32(ConstExpr(r))
	}
	if passiveOrDecl || explicitTable {
		// elemkind (0x00) for index lists, reftype for expression lists.
		r.Byte()
	}
	n := r.Count(1)
	seg.Count = uint32(n)
	for i := 0; i < n && r.Err() == nil; i++ {
		if exprs {
			ConstExpr(r)
		} else {
			seg.Funcs = append(seg.Funcs, r.U32())
		}
	}
	return seg, r.Err()
}
