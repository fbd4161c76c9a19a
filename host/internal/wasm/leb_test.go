package wasm

import (
	"math"
	"testing"
)

func TestU32(t *testing.T) {
	tests := []struct {
		in   []byte
		want uint32
		ok   bool
	}{
		{[]byte{0x00}, 0, true},
		{[]byte{0x7f}, 127, true},
		{[]byte{0x80, 0x01}, 128, true},
		{[]byte{0xff, 0xff, 0xff, 0xff, 0x0f}, math.MaxUint32, true},
		{[]byte{0x80, 0x80, 0x80, 0x80, 0x00}, 0, true},        // padded but in range
		{[]byte{0xff, 0xff, 0xff, 0xff, 0x1f}, 0, false},       // bit 32 set
		{[]byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, 0, false}, // six bytes
		{[]byte{0x80}, 0, false},                               // unterminated
		{nil, 0, false},
	}
	for _, tt := range tests {
		r := NewReader(tt.in, 0)
		got := r.U32()
		if ok := r.Err() == nil; ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("U32(% x) = %d, err %v; want %d ok=%v", tt.in, got, r.Err(), tt.want, tt.ok)
		}
	}
}

func TestSigned(t *testing.T) {
	tests := []struct {
		in   []byte
		bits uint
		want int64
		ok   bool
	}{
		{[]byte{0x7f}, 32, -1, true},
		{[]byte{0x3f}, 32, 63, true},
		{[]byte{0x40}, 32, -64, true},
		{[]byte{0xff, 0xff, 0xff, 0xff, 0x07}, 32, math.MaxInt32, true},
		{[]byte{0x80, 0x80, 0x80, 0x80, 0x78}, 32, math.MinInt32, true},
		{[]byte{0xff, 0xff, 0xff, 0xff, 0x0f}, 32, 0, false}, // high bits not a sign extension
		{[]byte{0x80, 0x80, 0x80, 0x80, 0x70}, 32, 0, false},
		{[]byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f}, 64, math.MinInt64, true},
		{[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00}, 64, math.MaxInt64, true},
		{[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 64, 0, false},
		{[]byte{0x40}, 33, -64, true},
	}
	for _, tt := range tests {
		r := NewReader(tt.in, 0)
		got := r.sleb(tt.bits)
		if ok := r.Err() == nil; ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("sleb%d(% x) = %d, err %v; want %d ok=%v", tt.bits, tt.in, got, r.Err(), tt.want, tt.ok)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for _, v := range []int64{0, 1, -1, 63, 64, -64, -65, math.MaxInt32, math.MinInt32, math.MaxInt64, math.MinInt64} {
		r := NewReader(AppendS64(nil, v), 0)
		if got := r.S64(); got != v || r.Err() != nil || r.Len() != 0 {
			t.Errorf("S64 round trip of %d = %d (%v)", v, got, r.Err())
		}
	}
	for _, v := range []uint64{0, 127, 128, math.MaxUint32, math.MaxUint64} {
		r := NewReader(AppendU64(nil, v), 0)
		if got := r.U64(); got != v || r.Err() != nil || r.Len() != 0 {
			t.Errorf("U64 round trip of %d = %d (%v)", v, got, r.Err())
		}
	}
}

func TestCountGuardsAllocation(t *testing.T) {
	// A vector claiming 2^32-1 elements with 3 bytes left must fail before
	// anyone allocates for it.
	r := NewReader([]byte{0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3}, 0)
	if n := r.Count(1); n != 0 || r.Err() == nil {
		t.Fatalf("Count = %d, err %v; want an error", n, r.Err())
	}
}
