// Package build builds Go billing rules into Wasm modules reproducibly: the
// same source and Go toolchain give the same bytes on any machine, so the
// SHA-256 that a governance vote names can be checked by anyone who rebuilds.
//
// Rule runs
//
//	GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0 GOWASM= \
//	  go build -trimpath -buildvcs=false -buildmode=c-shared -ldflags=-buildid= -o OUT .
//
// in the rule's package directory. -trimpath drops local paths, -buildvcs=false
// drops the VCS stamp (which changes with every commit and a dirty tree), and
// an empty build ID drops the one varying field the linker would add. What
// remains in the bytes is the source, the module's dependencies (pinned by
// go.sum) and the Go toolchain version: build with the same Go release
// (go.mod's go line; `go version`) to get the same hash.
//
// It is used by `make rules` (through cmd/buildrules), by ruletest, and by the
// fedmeter CLI's `rule build`.
package build

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// Artifact is a built (or copied) rule module.
type Artifact struct {
	// File is the path of the module.
	File string
	// SHA256 is the SHA-256 of its bytes, what a governance vote names.
	SHA256 [32]byte
	// Size is its length in bytes.
	Size int64
}

// Hex returns the SHA-256 in lower-case hex.
func (a *Artifact) Hex() string { return hex.EncodeToString(a.SHA256[:]) }

// Flags are the go build flags Rule uses (before "-o OUT .").
var Flags = []string{"-trimpath", "-buildvcs=false", "-buildmode=c-shared", "-ldflags=-buildid="}

// GoCommand returns the go command Rule runs: $GO if set, else the go found
// on PATH, else the one in runtime.GOROOT().
func GoCommand() string {
	if g := os.Getenv("GO"); g != "" {
		return g
	}
	if g, err := exec.LookPath("go"); err == nil {
		return g
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// Rule builds the Go main package in pkgDir into the Wasm module outFile
// (creating its directory) and returns its hash. The build's output on
// failure is part of the error.
func Rule(ctx context.Context, pkgDir, outFile string) (*Artifact, error) {
	absOut, err := filepath.Abs(outFile)
	if err != nil {
		return nil, fmt.Errorf("build rule %s: %w", pkgDir, err)
	}
	if err := os.MkdirAll(filepath.Dir(absOut), 0o755); err != nil {
		return nil, fmt.Errorf("build rule %s: %w", pkgDir, err)
	}
	args := append([]string{"build"}, Flags...)
	args = append(args, "-o", absOut, ".")
	cmd := exec.CommandContext(ctx, GoCommand(), args...)
	cmd.Dir = pkgDir
	cmd.Env = buildEnv(os.Environ())
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("build rule %s: go %s: %w\n%s", pkgDir, strings.Join(args, " "), err,
			strings.TrimSpace(out.String()))
	}
	a, err := Hash(absOut)
	if err != nil {
		return nil, fmt.Errorf("build rule %s: %w", pkgDir, err)
	}
	a.File = outFile
	return a, nil
}

// buildEnv sets the target and clears what would change the bytes.
func buildEnv(env []string) []string {
	drop := map[string]bool{"GOOS": true, "GOARCH": true, "CGO_ENABLED": true, "GOWASM": true, "GOFLAGS": true}
	out := env[:0:0]
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[k] {
			out = append(out, kv)
		}
	}
	return append(out, "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0", "GOWASM=", "GOFLAGS=")
}

// Copy copies a prebuilt module (a rule written in another language, whose
// .wasm is committed) to outFile and returns its hash.
func Copy(src, outFile string) (*Artifact, error) {
	if err := os.MkdirAll(filepath.Dir(outFile), 0o755); err != nil {
		return nil, fmt.Errorf("copy rule %s: %w", src, err)
	}
	in, err := os.Open(src)
	if err != nil {
		return nil, fmt.Errorf("copy rule: %w", err)
	}
	defer in.Close()
	tmp := outFile + ".tmp"
	out, err := os.Create(tmp)
	if err != nil {
		return nil, fmt.Errorf("copy rule %s: %w", src, err)
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, outFile)
	}
	if err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("copy rule %s to %s: %w", src, outFile, err)
	}
	return Hash(outFile)
}

// Hash returns the Artifact of an existing module file.
func Hash(file string) (*Artifact, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("hash rule: %w", err)
	}
	return &Artifact{File: file, SHA256: sha256.Sum256(data), Size: int64(len(data))}, nil
}

// Scan reports whether dir holds a Go rule (non-test Go files other than a
// doc-only package) and lists its prebuilt .wasm files: what the builder
// and `fedmeter rule build` decide from.
func Scan(dir string) (goFiles bool, wasm []string, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, nil, err
	}
	for _, e := range entries {
		n := e.Name()
		switch {
		case e.IsDir():
		case strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") && n != "doc.go":
			goFiles = true
		case strings.HasSuffix(n, ".wasm"):
			wasm = append(wasm, filepath.Join(dir, n))
		}
	}
	return goFiles, wasm, nil
}
