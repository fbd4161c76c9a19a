package main

import "unsafe"

var buf [4096]byte
var out = []byte(`{"error":{"code":"x","message":"y"}}`)

//go:wasmexport fm_abi_v1
func abi() {}

//go:wasmexport fm_alloc
func alloc(n uint32) unsafe.Pointer { return unsafe.Pointer(&buf[0]) }

//go:wasmexport fm_bill
func bill(p unsafe.Pointer, n uint32) uint64 {
	return uint64(uintptr(unsafe.Pointer(&out[0])))<<32 | uint64(len(out))
}

func main() {}
