//go:build wasip1

// Command gorule is a stand-in billing rule built by stock Go as a WASI
// reactor, to check that the host's deterministic WASI serves everything the
// Go runtime and standard library need. TestStockGoRule builds it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o rule.wasm .
//
// It has its own go.mod so that building it never depends on the state of the
// fedmeter module.
package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"time"
)

func main() {}

// run prints what it observed and returns the wall-clock time it read, in
// Unix nanoseconds.
//
//go:wasmexport run
func run() int64 {
	start := time.Now()
	var b [40]byte // more than one SHA-256 block
	if _, err := rand.Read(b[:]); err != nil {
		fmt.Fprintln(os.Stderr, "rand:", err)
	}
	time.Sleep(time.Millisecond)
	slept := time.Since(start)
	fmt.Println("unix", start.Unix(), "crypto", hex.EncodeToString(b[:]), "math", mrand.Uint64())
	fmt.Fprintln(os.Stderr, "slept", slept >= time.Millisecond, slept)
	return start.UnixNano()
}
