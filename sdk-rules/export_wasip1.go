//go:build wasip1

package rule

import "unsafe"

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
