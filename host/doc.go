// Package host runs fedmeter billing rules: WebAssembly modules that turn a
// resource's usage into a bill, on every endorsing peer, with results that agree
// byte for byte and unit of gas for unit of gas.
//
// The work is split in two, because the two halves run at different times:
//
//   - Prepare validates an uploaded module and rewrites it once: it injects gas
//     metering, a call-depth bound, NaN canonicalization and memory-growth
//     accounting, and exports the module's globals so an instance can be
//     snapshotted. Preparation is a pure function of the bytes and the Profile,
//     so the prepared bytes and their hash are the same on every machine.
//   - A Host compiles prepared modules with wazero (cached by hash, optionally on
//     disk), initializes each once, snapshots the initialized instance, and
//     serves every Bill call from that snapshot, so no call can see another's
//     state and a warm call costs a memory restore, not a Go runtime start.
//
// The module contract (exports, input and output JSON, allowed imports) is ABI v1,
// documented in ABI.md. Why each limit and mechanism is what it is: RATIONALE.md.
package host
