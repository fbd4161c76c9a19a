// Package wasm reads and writes the parts of the WebAssembly binary format that
// fedmeter's preparation needs: sections, their entries, and the instruction
// stream of function bodies.
//
// It is deliberately not a validator. wazero validates (types, stack shapes);
// this package only has to find every instruction boundary, every immediate and
// every control-flow edge exactly, because preparation rewrites code at those
// points. Decoding is strict where a lenient reading could make two readers
// disagree about where an instruction ends (overlong or unterminated LEB128,
// trailing bytes in a section), and every error names the offset it occurred at.
package wasm
