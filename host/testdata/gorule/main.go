// Command gorule is a stock-Go rule written straight against ABI v1 (no SDK),
// used by the host's tests. It deliberately touches everything that could make
// two peers disagree: the clock, crypto/rand, math/rand, map iteration order,
// floating point (NaN included), goroutines, the log, and heap growth, and
// folds each into a bill line so any divergence shows up in the output.
//
// Input: {"n": N, "alloc": B}: N rounds of integer work, B bytes allocated.
package main

import (
	crand "crypto/rand"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"time"
	"unsafe"
)

//go:wasmexport fm_abi_v1
func abi() {}

var buf []byte

//go:wasmexport fm_alloc
func alloc(n int32) int32 {
	buf = make([]byte, n)
	return int32(uintptr(unsafe.Pointer(unsafe.SliceData(buf))))
}

var out []byte

//go:wasmexport fm_bill
func bill(p, n int32) int64 {
	in := parse(buf[:n])
	type line struct {
		item   string
		amount int64
	}
	var lines []line
	add := func(item string, v int64) { lines = append(lines, line{item, v & 0xffffff}) }

	add("time", time.Now().Unix())
	var rb [8]byte
	crand.Read(rb[:])
	add("crypto_rand", int64(binary.LittleEndian.Uint64(rb[:])>>1))
	add("math_rand", rand.Int64())
	m := map[string]int{}
	for i := 0; i < 16; i++ {
		m[strconv.Itoa(i)] = i
	}
	order := int64(0)
	for k := range m {
		v, _ := strconv.Atoi(k)
		order = order*31 + int64(v)
	}
	add("map_order", order)
	nan := math.Sqrt(-1) * float64(in["n"]+1)
	add("nan_bits", int64(math.Float64bits(nan)>>12))
	add("float", int64(math.Float64bits(math.Sin(float64(in["n"]))*1e6)))
	work := int64(0)
	for i := int64(0); i < in["n"]; i++ {
		work = work*6364136223846793005 + i
	}
	add("work", work)
	junk := make([]byte, in["alloc"])
	for i := range junk {
		junk[i] = byte(i)
	}
	add("alloc", int64(len(junk)))
	done := make(chan int64)
	go func() { done <- 7 }()
	add("goroutine", <-done)
	fmt.Fprintf(os.Stderr, "billed n=%d\n", in["n"])

	total := int64(0)
	for _, l := range lines {
		total += l.amount
	}
	out = append(out[:0], `{"total":`...)
	out = strconv.AppendInt(out, total, 10)
	out = append(out, `,"currency":"CNY","scale":2,"lines":[`...)
	for i, l := range lines {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, `{"item":"`...)
		out = append(out, l.item...)
		out = append(out, `","amount":`...)
		out = strconv.AppendInt(out, l.amount, 10)
		out = append(out, '}')
	}
	out = append(out, "]}"...)
	return int64(uintptr(unsafe.Pointer(unsafe.SliceData(out))))<<32 | int64(len(out))
}

// parse reads a flat JSON object of integers; enough for this test rule.
func parse(b []byte) map[string]int64 {
	r := map[string]int64{}
	var key []byte
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			j := i + 1
			for j < len(b) && b[j] != '"' {
				j++
			}
			key = b[i+1 : j]
			i = j
		case c == '-' || (c >= '0' && c <= '9'):
			j := i
			for j < len(b) && (b[j] == '-' || (b[j] >= '0' && b[j] <= '9')) {
				j++
			}
			v, _ := strconv.ParseInt(string(b[i:j]), 10, 64)
			r[string(key)] = v
			i = j - 1
		}
	}
	return r
}

func main() {}
