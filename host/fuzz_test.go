package host_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/fedmeter/fedmeter/host"
)

// FuzzPrepare: preparation never panics on any bytes, is deterministic, and
// whatever it accepts wazero's optimizing compiler compiles too.
//
//	go test -run '^$' -fuzz FuzzPrepare -fuzztime 60s ./host/   (make fuzz)
func FuzzPrepare(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "hostile", "*.wasm"))
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler().WithCoreFeatures(api.CoreFeaturesV2))
	defer rt.Close(ctx)
	f.Fuzz(func(t *testing.T, code []byte) {
		p, err := host.Prepare(code)
		if err != nil {
			return
		}
		again, err := host.Prepare(code)
		if err != nil || again.Hash != p.Hash {
			t.Fatalf("preparation is not deterministic: %v", err)
		}
		cm, err := rt.CompileModule(ctx, p.Code)
		if err != nil {
			t.Fatalf("prepared module does not compile: %v", err)
		}
		cm.Close(ctx)
	})
}
