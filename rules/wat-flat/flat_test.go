package watflat

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/fedmeter/fedmeter/rules/ruletest"
)

// TestVectors runs flat.wasm over testdata/vectors (Wasm only: the rule has no
// Go function). Regenerate the wants with: go test ./rules/... -update
func TestVectors(t *testing.T) {
	ruletest.Run(t, ruletest.Options{Wasm: "flat.wasm"})
}

// TestWasmMatchesWat checks that the committed flat.wasm is flat.wat
// assembled, so that what is reviewed (the text) is what runs.
func TestWasmMatchesWat(t *testing.T) {
	wat2wasm, err := exec.LookPath("wat2wasm")
	if err != nil {
		t.Skip("wat2wasm not installed (apt-get install wabt)")
	}
	out := filepath.Join(t.TempDir(), "flat.wasm")
	if msg, err := exec.Command(wat2wasm, "flat.wat", "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm: %v\n%s", err, msg)
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("flat.wasm")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("flat.wasm is not flat.wat assembled: run go generate ./rules/wat-flat")
	}
}
