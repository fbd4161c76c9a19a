//go:build ignore

// gen writes the fixtures that the wat text format cannot express: malformed
// binaries, function bodies with absurd local declarations, and vector counts
// that claim gigabytes. All but two are derived from ok_fixed.wasm (a valid
// ABI v1 module whose first function body is fm_abi_v1's empty one), so each
// is one fault away from valid. Run it
// after `make fixtures`, from this folder:
//
//	cd host/testdata/hostile && go run gen.go
//
// The output is a pure function of ok_fixed.wasm.
package main

import (
	"bytes"
	"fmt"
	"os"
)

type section struct {
	id      byte
	payload []byte
}

var header = []byte("\x00asm\x01\x00\x00\x00")

func uleb(v uint64) []byte {
	var b []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			c |= 0x80
		}
		b = append(b, c)
		if v == 0 {
			return b
		}
	}
}

func readULEB(b []byte) (uint64, int) {
	var v uint64
	for i := 0; i < len(b) && i < 10; i++ {
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i]&0x80 == 0 {
			return v, i + 1
		}
	}
	panic("bad LEB128 in ok_fixed.wasm")
}

func parse(b []byte) []section {
	if !bytes.HasPrefix(b, header) {
		panic("ok_fixed.wasm: bad header")
	}
	var secs []section
	for b = b[len(header):]; len(b) > 0; {
		id := b[0]
		n, k := readULEB(b[1:])
		start := 1 + k
		secs = append(secs, section{id, b[start : start+int(n)]})
		b = b[start+int(n):]
	}
	return secs
}

func encode(s section) []byte {
	out := append([]byte{s.id}, uleb(uint64(len(s.payload)))...)
	return append(out, s.payload...)
}

func assemble(secs []section) []byte {
	out := append([]byte(nil), header...)
	for _, s := range secs {
		out = append(out, encode(s)...)
	}
	return out
}

func index(secs []section, id byte) int {
	for i, s := range secs {
		if s.id == id {
			return i
		}
	}
	panic(fmt.Sprintf("ok_fixed.wasm has no section %d", id))
}

// withSection returns a copy of secs with secs[i] replaced by s.
func withSection(secs []section, i int, s section) []section {
	out := append([]section(nil), secs...)
	out[i] = s
	return out
}

// withFirstBody returns secs with the first function body (fm_abi_v1's, which
// must be empty: no locals, `end`) replaced by body.
func withFirstBody(secs []section, body []byte) []section {
	i := index(secs, 10)
	code := secs[i].payload
	count, k := readULEB(code)
	size, k2 := readULEB(code[k:])
	if !bytes.Equal(code[k+k2:k+k2+int(size)], []byte{0x00, 0x0b}) {
		panic("ok_fixed.wasm: first function body is not empty")
	}
	p := append([]byte(nil), uleb(count)...)
	p = append(p, uleb(uint64(len(body)))...)
	p = append(p, body...)
	p = append(p, code[k+k2+int(size):]...)
	return withSection(secs, i, section{10, p})
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func main() {
	base, err := os.ReadFile("ok_fixed.wasm")
	if err != nil {
		panic(err)
	}
	secs := parse(base)
	if !bytes.Equal(assemble(secs), base) {
		panic("ok_fixed.wasm does not round-trip")
	}
	const (
		typeSec = 1
		funcSec = 3
		memSec  = 5
		expSec  = 7
		codeSec = 10
		dataSec = 11
	)
	out := map[string][]byte{}

	out["malformed_empty.wasm"] = []byte{}

	b := append([]byte(nil), base...)
	copy(b, "\x00ASM")
	out["malformed_bad_magic.wasm"] = b

	b = append([]byte(nil), base...)
	b[4] = 2
	out["malformed_bad_version.wasm"] = b

	// Cut in the middle of the code section's payload.
	off := len(header)
	for _, s := range secs {
		h := len(encode(s)) - len(s.payload)
		if s.id == codeSec {
			out["malformed_truncated.wasm"] = base[:off+h+len(s.payload)/2]
			break
		}
		off += len(encode(s))
	}

	// The last section (data) claims 1 MiB; the file ends ~100 bytes later.
	i := index(secs, dataSec)
	if i != len(secs)-1 {
		panic("ok_fixed.wasm: data is not the last section")
	}
	last := cat([]byte{dataSec}, uleb(1<<20), secs[i].payload)
	out["malformed_section_too_long.wasm"] = cat(assemble(secs[:i]), last)

	// A section size whose LEB128 has the continuation bit set to end of file.
	out["malformed_leb_unterminated.wasm"] = cat(header, []byte{typeSec}, bytes.Repeat([]byte{0x80}, 32))

	// The type section's size in 6 bytes (padded with 0x80s): the right value,
	// but a u32 LEB128 may have at most 5 bytes.
	i = index(secs, typeSec)
	n := len(secs[i].payload)
	if n > 0x7f {
		panic("type section too large for this encoding")
	}
	overlong := []byte{typeSec, byte(n) | 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}
	out["malformed_leb_overlong.wasm"] = cat(assemble(secs[:i]), overlong, secs[i].payload, assemble(secs[i+1:])[len(header):])

	// Section id 42 (no such section), length 1, right after the type section.
	withUnknown := append([]section(nil), secs[:i+1]...)
	withUnknown = append(withUnknown, section{42, []byte{0}})
	withUnknown = append(withUnknown, secs[i+1:]...)
	out["malformed_unknown_section.wasm"] = assemble(withUnknown)

	// The type section twice in a row.
	dup := append([]section(nil), secs[:i+1]...)
	dup = append(dup, secs[i:]...)
	out["malformed_duplicate_section.wasm"] = assemble(dup)

	// The memory section moved after the export section.
	var reordered []section
	var memory section
	for _, s := range secs {
		if s.id == memSec {
			memory = s
			continue
		}
		reordered = append(reordered, s)
		if s.id == expSec {
			reordered = append(reordered, memory)
		}
	}
	if memory.id != memSec || len(reordered) != len(secs) {
		panic("ok_fixed.wasm: memory section must come before export")
	}
	out["malformed_out_of_order.wasm"] = assemble(reordered)

	// The function section declares one more function than the code section
	// defines.
	i = index(secs, funcSec)
	fcount, k := readULEB(secs[i].payload)
	fs := cat(uleb(fcount+1), secs[i].payload[k:], []byte{0})
	out["malformed_func_code_mismatch.wasm"] = assemble(withSection(secs, i, section{funcSec, fs}))

	// fm_abi_v1's body holds byte 0xff, which is no opcode.
	out["malformed_bad_opcode.wasm"] = assemble(withFirstBody(secs, []byte{0x00, 0xff, 0x0b}))

	// fm_abi_v1 declares 10001 i32 locals: one over ProfileV1.MaxLocals.
	out["locals_too_many.wasm"] = assemble(withFirstBody(secs, cat([]byte{1}, uleb(10001), []byte{0x7f, 0x0b})))

	// fm_abi_v1 declares 2^32-1 i32 locals: valid per the spec's binary format,
	// 32 GiB if an engine allocated them.
	out["locals_huge.wasm"] = assemble(withFirstBody(secs, cat([]byte{1}, uleb(1<<32-1), []byte{0x7f, 0x0b})))

	// Two declarations of 2^31 locals each: 2^32 in all, which is malformed,
	// and 0 to a decoder that sums the counts in a uint32.
	out["locals_sum_wraps.wasm"] = assemble(withFirstBody(secs,
		cat([]byte{2}, uleb(1<<31), []byte{0x7f}, uleb(1<<31), []byte{0x7e, 0x0b})))

	// Vector counts that claim far more entries than the bytes that follow
	// could hold. wazero v1.12.0's decoder allocates each vector at its
	// declared length before reading it (make([]T, count)), so handing any of
	// these to wazero.CompileModule unchecked dies with a fatal, unrecoverable
	// "out of memory" that takes the whole process down. The host's own parser
	// must reject them (every entry takes at least one byte) first.
	const huge = 1<<32 - 1
	i = index(secs, funcSec)
	_, k = readULEB(secs[i].payload)
	out["bomb_func_count.wasm"] = assemble(withSection(secs, i,
		section{funcSec, cat(uleb(huge), secs[i].payload[k:])}))

	i = index(secs, expSec)
	_, k = readULEB(secs[i].payload)
	out["bomb_export_count.wasm"] = assemble(withSection(secs, i,
		section{expSec, cat(uleb(huge), secs[i].payload[k:])}))

	i = index(secs, codeSec)
	_, k = readULEB(secs[i].payload)
	out["bomb_code_count.wasm"] = assemble(withSection(secs, i,
		section{codeSec, cat(uleb(huge), secs[i].payload[k:])}))

	// The one data segment's byte count (after flags 0 and its i32.const
	// offset expression) says 4 GiB - 1.
	i = index(secs, dataSec)
	d := secs[i].payload
	if d[0] != 1 || d[1] != 0 || d[2] != 0x41 {
		panic("ok_fixed.wasm: expected one active data segment with an i32.const offset")
	}
	end := bytes.IndexByte(d[3:], 0x0b) + 3
	_, k = readULEB(d[end+1:])
	out["bomb_data_len.wasm"] = assemble(withSection(secs, i,
		section{dataSec, cat(d[:end+1], uleb(huge), d[end+1+k:])}))

	// A custom "name" section whose function-names subsection claims 2^32-1
	// entries. wazero always decodes "name" (make(NameMap, count), 24 bytes an
	// entry). Custom sections carry no semantics: per the spec (appendix,
	// custom sections) errors in them must not invalidate the module, so the
	// expected outcome is OK: the host must drop or ignore it, not crash.
	sub := cat([]byte{1}, uleb(uint64(len(uleb(huge)))), uleb(huge))
	name := cat(uleb(4), []byte("name"), sub)
	out["bomb_name_section.wasm"] = cat(base, encode(section{0, name}))

	// A custom section whose name is not UTF-8 (0xff never occurs in
	// UTF-8). Section names, unlike a custom section's contents, are part of
	// the binary format: the module is malformed.
	out["custom_name_not_utf8.wasm"] = cat(base, encode(section{0, cat(uleb(3), []byte{'a', 0xff, 'b'}, []byte("x"))}))

	for name, b := range out {
		if err := os.WriteFile(name, b, 0o644); err != nil {
			panic(err)
		}
	}
}
