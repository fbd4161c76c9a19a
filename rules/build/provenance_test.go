package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSourceHash(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, content string) {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("main.go", "package main\n")
	write("testdata/vectors/01.json", "{}\n")
	sum := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	// What sha256sum prints for the two files, sorted by path.
	want := sum(sum("package main\n") + "  main.go\n" + sum("{}\n") + "  testdata/vectors/01.json\n")
	got, err := SourceHash(dir)
	if err != nil || got != want {
		t.Fatalf("SourceHash = %s, %v; want %s", got, err, want)
	}
	// Hidden files, installed dependencies and outputs are not source.
	write(".git/HEAD", "x")
	write(".editorconfig", "x")
	write("node_modules/assemblyscript/package.json", "{}")
	write("build/rule.wasm", "x")
	if got, _ := SourceHash(dir); got != want {
		t.Fatalf("skipped files changed the hash")
	}
	// From another folder, and by a relative path, the same.
	if wd, err := os.Getwd(); err == nil {
		defer os.Chdir(wd)
		os.Chdir(filepath.Dir(dir))
		if got, _ := SourceHash(filepath.Base(dir)); got != want {
			t.Fatalf("relative path: %s", got)
		}
	}
	write("main.go", "package main // changed\n")
	if got, _ := SourceHash(dir); got == want {
		t.Fatalf("a changed file kept the hash")
	}
	if err := os.Symlink("main.go", filepath.Join(dir, "link.go")); err == nil {
		if _, err := SourceHash(dir); err == nil || !strings.Contains(err.Error(), "symbolic link") {
			t.Fatalf("a symbolic link: %v", err)
		}
	}
	if _, err := SourceHash(t.TempDir()); err == nil {
		t.Fatal("an empty folder has a source hash")
	}
}

func TestToolchain(t *testing.T) {
	ctx := context.Background()
	tc, err := Toolchain(ctx, filepath.Join("..", "ecs"))
	if err != nil || !strings.HasPrefix(tc, "go1.") {
		t.Fatalf("Go rule: %q, %v", tc, err)
	}
	if tc, err := Toolchain(ctx, filepath.Join("..", "wat-flat")); err != nil || tc != "" {
		t.Fatalf("prebuilt rule: %q, %v", tc, err)
	}
	tc, err = Toolchain(ctx, filepath.Join("..", "ecs-as"))
	switch {
	case err != nil && strings.Contains(err.Error(), "not installed"):
		t.Logf("skipping the AssemblyScript case: %v", err)
	case err != nil || !strings.HasPrefix(tc, "assemblyscript 0."):
		t.Fatalf("AssemblyScript rule: %q, %v", tc, err)
	}
}
