package build

import (
	"bytes"
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRuleReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Wasm")
	}
	ctx := context.Background()
	dir := t.TempDir()
	a, err := Rule(ctx, "testdata/rule", filepath.Join(dir, "a", "rule.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	// A different output path and a dirty environment must not matter.
	t.Setenv("GOFLAGS", "-buildvcs=true")
	t.Setenv("GOWASM", "satconv")
	b, err := Rule(ctx, "testdata/rule", filepath.Join(dir, "b.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	if a.SHA256 != b.SHA256 || a.Size != b.Size {
		t.Fatalf("two builds differ: %s (%d bytes) and %s (%d bytes)", a.Hex(), a.Size, b.Hex(), b.Size)
	}
	data, err := os.ReadFile(b.File)
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(data) != b.SHA256 {
		t.Fatal("Artifact.SHA256 is not the file's hash")
	}
	if !bytes.HasPrefix(data, []byte("\x00asm")) {
		t.Fatal("not a Wasm module")
	}
	for _, export := range []string{"fm_abi_v1", "fm_alloc", "fm_bill", "_initialize"} {
		if !bytes.Contains(data, []byte(export)) {
			t.Errorf("module lacks export %s", export)
		}
	}
	// -trimpath: no local path in the bytes.
	wd, _ := os.Getwd()
	if bytes.Contains(data, []byte(wd)) {
		t.Errorf("module contains the local path %s", wd)
	}
	t.Logf("%s  %d bytes", a.Hex(), a.Size)
}

func TestRuleError(t *testing.T) {
	_, err := Rule(context.Background(), "testdata/nonexistent", filepath.Join(t.TempDir(), "x.wasm"))
	if err == nil || !strings.Contains(err.Error(), "testdata/nonexistent") {
		t.Fatalf("error %v does not name the package", err)
	}
}

func TestCopy(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src.wasm")
	if err := os.WriteFile(src, []byte("\x00asm\x01\x00\x00\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := Copy(src, filepath.Join(dir, "out", "dst.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Size != 8 || a.SHA256 != sha256.Sum256([]byte("\x00asm\x01\x00\x00\x00")) {
		t.Fatalf("Copy = %+v", a)
	}
	if _, err := Copy(filepath.Join(dir, "missing.wasm"), filepath.Join(dir, "x.wasm")); err == nil {
		t.Fatal("Copy of a missing file succeeded")
	}
}
