// Package watflat is a billing rule written without the Go SDK, by hand in
// WebAssembly text (flat.wat), against host/ABI.md alone: it shows that ABI v1
// is language-neutral. It bills price.unit_prices.flat_fee once per period;
// see flat.wat for the details and its rule errors.
//
// flat.wasm is committed; regenerate it after editing flat.wat with
//
//	go generate ./rules/wat-flat
//
// (needs wat2wasm, from Debian's wabt package). The test runs flat.wasm
// through the host over testdata/vectors, like every other rule, and checks
// that flat.wasm is what flat.wat assembles to.
package watflat

//go:generate wat2wasm flat.wat -o flat.wasm
