//go:build wasip1

package rule

import (
	"runtime"
	"unsafe"
)

// The ABI v1 exports (host/ABI.md). They are compiled only into a wasip1 build,
// so any main package that imports this package and calls Register is a rule
// module once built with -buildmode=c-shared.

// inputBuf keeps the buffer fm_alloc handed out reachable; outputBuf keeps
// the output alive until the host has copied it. The host restores the
// initialized snapshot before every call, so neither survives a call.
var inputBuf, outputBuf []byte

//go:wasmexport fm_abi_v1
func fmABIv1() {}

//go:wasmexport fm_alloc
func fmAlloc(size uint32) unsafe.Pointer {
	n := int(size)
	if n == 0 {
		n = 1
	}
	inputBuf = make([]byte, n)
	return unsafe.Pointer(&inputBuf[0])
}

//go:wasmexport fm_bill
func fmBill(ptr unsafe.Pointer, length uint32) uint64 {
	var input []byte
	if length > 0 {
		input = unsafe.Slice((*byte)(ptr), length)
	}
	outputBuf = run(registered, input, make([]byte, 0, 512))
	if len(outputBuf) == 0 {
		return 0
	}
	return uint64(uintptr(unsafe.Pointer(&outputBuf[0])))<<32 | uint64(len(outputBuf))
}

func init() { warmUp() }

// warmUp runs the SDK's decode and encode paths once during module init, so
// that the snapshot the host takes after init already holds the memory
// allocator's per-size-class spans: every call then allocates from them
// instead of refilling them, which costs far more gas than the work itself.
func warmUp() {
	// A collection now leaves the snapshot with every span swept, so that
	// no call pays for sweeping what init left behind.
	runtime.GC()
	in, err := DecodeInput([]byte(warmInput))
	if err != nil {
		return
	}
	b := NewBill(in)
	for i := 0; i < 8; i++ {
		b.Add(Line{Item: "warm", Quantity: 1, Unit: "unit", UnitPrice: 1, Amount: 1})
	}
	AppendBill(make([]byte, 0, 512), b)
	AppendError(make([]byte, 0, 512), CodeBadInput, "warm")
}

const warmInput = `{"abi":1,"currency":"CNY","period":{"end":2,"start":1},"price":{"effective_from":1,` +
	`"unit_prices":{"a_hour":1,"b_hour":2,"c_hour":3,"d_hour":4,"e_hour":5,"f_hour":6}},` +
	`"quota":{"a":1,"b":2},"resource":{"attributes":{"zone":"z"},"consumer":"Org2MSP","id":"res-1",` +
	`"provider":"Org1MSP","spec":{"a":1,"b":2,"c":3,"d":4,"e":5},"type":"ecs"},"scale":2,` +
	`"tx":{"id":"tx","time":2},"usage":{"a":1,"b":2}}`
