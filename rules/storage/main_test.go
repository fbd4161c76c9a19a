package main

import (
	"testing"

	"github.com/fedmeter/fedmeter/rules/ruletest"
)

// TestVectors runs testdata/vectors natively and in Wasm.
// Regenerate the wants with: go test ./rules/... -update
func TestVectors(t *testing.T) {
	ruletest.Run(t, ruletest.Options{Func: Bill, Package: "."})
}
