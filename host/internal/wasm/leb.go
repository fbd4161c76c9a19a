package wasm

import (
	"errors"
	"fmt"
	"math"
	"unicode/utf8"
)

// ErrUnexpectedEOF is returned when the input ends inside an item.
var ErrUnexpectedEOF = errors.New("unexpected end of input")

// Reader reads binary-format items from a byte slice. Its methods never panic;
// the first error sticks, so a sequence of reads can be checked once.
type Reader struct {
	buf  []byte
	pos  int
	base int // offset of buf[0] in the whole module, for error messages
	err  error
}

// NewReader returns a Reader over b whose offsets are reported relative to base.
func NewReader(b []byte, base int) *Reader { return &Reader{buf: b, base: base} }

// Err returns the first error met.
func (r *Reader) Err() error { return r.err }

// Pos returns the current position within the reader's slice.
func (r *Reader) Pos() int { return r.pos }

// Offset returns the current position within the whole module.
func (r *Reader) Offset() int { return r.base + r.pos }

// Len returns the number of unread bytes.
func (r *Reader) Len() int { return len(r.buf) - r.pos }

// Bytes returns the reader's whole slice.
func (r *Reader) Bytes() []byte { return r.buf }

func (r *Reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("at offset %d: %s", r.Offset(), fmt.Sprintf(format, args...))
	}
}

func (r *Reader) eof(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("at offset %d: %s: %w", r.Offset(), what, ErrUnexpectedEOF)
	}
}

// Byte reads one byte.
func (r *Reader) Byte() byte {
	if r.err != nil {
		return 0
	}
	if r.pos >= len(r.buf) {
		r.eof("byte")
		return 0
	}
	b := r.buf[r.pos]
	r.pos++
	return b
}

// Fixed reads n raw bytes.
func (r *Reader) Fixed(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.buf)-r.pos {
		r.eof(fmt.Sprintf("%d bytes", n))
		return nil
	}
	b := r.buf[r.pos : r.pos+n]
	r.pos += n
	return b
}

// U32 reads an unsigned LEB128 of at most 32 bits, rejecting overlong encodings
// whose unused bits are set (the spec's rule; wazero applies it too).
func (r *Reader) U32() uint32 {
	v := r.uleb(32)
	return uint32(v)
}

// U64 reads an unsigned LEB128 of at most 64 bits.
func (r *Reader) U64() uint64 { return r.uleb(64) }

func (r *Reader) uleb(bits uint) uint64 {
	if r.err != nil {
		return 0
	}
	var v uint64
	var shift uint
	maxBytes := int((bits + 6) / 7)
	for i := 0; ; i++ {
		if r.pos >= len(r.buf) {
			r.eof("LEB128")
			return 0
		}
		b := r.buf[r.pos]
		r.pos++
		if i == maxBytes-1 {
			// Last permitted byte: no continuation, and the bits beyond
			// `bits` must be zero.
			if b&0x80 != 0 {
				r.fail("LEB128 longer than %d bytes", maxBytes)
				return 0
			}
			unused := bits - shift
			if unused < 7 && b>>unused != 0 {
				r.fail("LEB128 overflows %d bits", bits)
				return 0
			}
		}
		v |= uint64(b&0x7f) << shift
		if b&0x80 == 0 {
			return v
		}
		shift += 7
	}
}

// S32 reads a signed LEB128 of at most 32 bits.
func (r *Reader) S32() int32 { return int32(r.sleb(32)) }

// S33 reads a signed LEB128 of at most 33 bits (block types).
func (r *Reader) S33() int64 { return r.sleb(33) }

// S64 reads a signed LEB128 of at most 64 bits.
func (r *Reader) S64() int64 { return r.sleb(64) }

func (r *Reader) sleb(bits uint) int64 {
	if r.err != nil {
		return 0
	}
	var v int64
	var shift uint
	maxBytes := int((bits + 6) / 7)
	for i := 0; ; i++ {
		if r.pos >= len(r.buf) {
			r.eof("LEB128")
			return 0
		}
		b := r.buf[r.pos]
		r.pos++
		if i == maxBytes-1 {
			if b&0x80 != 0 {
				r.fail("LEB128 longer than %d bytes", maxBytes)
				return 0
			}
			// The unused high bits must all equal the sign bit.
			used := bits - shift // bits still carried by this byte (1..7)
			if used < 7 {
				rest := int8(b<<1) >> (used + 1) // sign-extended bits above `used`
				sign := int8(0)
				if b&(1<<(used-1)) != 0 {
					sign = -1
				}
				if rest != sign {
					r.fail("signed LEB128 overflows %d bits", bits)
					return 0
				}
			}
		}
		v |= int64(b&0x7f) << shift
		shift += 7
		if b&0x80 == 0 {
			if shift < 64 && b&0x40 != 0 {
				v |= -1 << shift
			}
			return v
		}
	}
}

// Name reads a length-prefixed UTF-8 name.
func (r *Reader) Name() string {
	n := r.U32()
	if r.err != nil {
		return ""
	}
	if int64(n) > int64(r.Len()) {
		r.eof("name")
		return ""
	}
	b := r.Fixed(int(n))
	if r.err == nil && !utf8.Valid(b) {
		r.fail("name %q is not valid UTF-8", b)
		return ""
	}
	return string(b)
}

// Count reads a vector length and checks that at least min bytes per element
// remain, so a hostile count cannot make a caller allocate gigabytes.
func (r *Reader) Count(minBytesEach int) int {
	n := r.U32()
	if r.err != nil {
		return 0
	}
	if minBytesEach > 0 && uint64(n)*uint64(minBytesEach) > uint64(r.Len()) {
		r.fail("vector of %d elements longer than the %d bytes left", n, r.Len())
		return 0
	}
	if n > math.MaxInt32 {
		r.fail("vector of %d elements too long", n)
		return 0
	}
	return int(n)
}

// AppendU32 appends v as unsigned LEB128.
func AppendU32(b []byte, v uint32) []byte { return AppendU64(b, uint64(v)) }

// AppendU64 appends v as unsigned LEB128.
func AppendU64(b []byte, v uint64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

// AppendS64 appends v as signed LEB128 (also right for i32 values).
func AppendS64(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// AppendName appends a length-prefixed name.
func AppendName(b []byte, s string) []byte {
	b = AppendU32(b, uint32(len(s)))
	return append(b, s...)
}
