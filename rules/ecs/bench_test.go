package main

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/fedmeter/fedmeter/sdk-rules/rule"
)

// BenchmarkNative is the floor for host's BenchmarkWarmCall/ecs-sdk: the same
// rule, the same input (vector 01), run as native Go through rule.Run, which
// decodes, bills and encodes exactly as the Wasm module does.
//
//	go test -run '^$' -bench Native ./rules/ecs/
func BenchmarkNative(b *testing.B) {
	raw, err := os.ReadFile("testdata/vectors/01_seed_one_day.json")
	if err != nil {
		b.Fatal(err)
	}
	var v struct {
		Input json.RawMessage `json:"input"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		if out := rule.Run(Bill, v.Input); len(out) == 0 {
			b.Fatal("no output")
		}
	}
}
