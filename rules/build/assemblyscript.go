package build

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ErrNoNode is returned when node or npm, which AssemblyScript rules need,
// are not on PATH.
var ErrNoNode = errors.New("node and npm are needed for an AssemblyScript rule and are not on PATH")

// IsAssemblyScript says whether dir holds an AssemblyScript rule: a
// package.json with a build script and assembly/index.ts.
func IsAssemblyScript(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil || !bytes.Contains(b, []byte(`"build"`)) {
		return false
	}
	_, err = os.Stat(filepath.Join(dir, "assembly", "index.ts"))
	return err == nil
}

// HaveNode reports whether node and npm are on PATH.
func HaveNode() bool {
	_, err1 := exec.LookPath("node")
	_, err2 := exec.LookPath("npm")
	return err1 == nil && err2 == nil
}

// AssemblyScript builds the AssemblyScript rule in dir into outFile by its
// package.json's build script (`npm run build -- -o OUT`, which runs the
// kit's build.mjs: fixed compiler options, the compiler version pinned by the
// lockfile) and returns its hash. The rule's dependencies must be installed
// (npm ci): see Install.
func AssemblyScript(ctx context.Context, dir, outFile string) (*Artifact, error) {
	if !HaveNode() {
		return nil, ErrNoNode
	}
	absOut, err := filepath.Abs(outFile)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(absOut), 0o755); err != nil {
		return nil, fmt.Errorf("build rule %s: %w", dir, err)
	}
	cmd := exec.CommandContext(ctx, "npm", "run", "--silent", "build", "--", "-o", absOut)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("build rule %s: npm run build: %w\n%s", dir, err, strings.TrimSpace(out.String()))
	}
	a, err := Hash(absOut)
	if err != nil {
		return nil, fmt.Errorf("build rule %s: %w", dir, err)
	}
	a.File = outFile
	return a, nil
}

// Install runs `npm ci` in dir (a folder with package.json and
// package-lock.json) unless its node_modules already exists.
func Install(ctx context.Context, dir string) error {
	if !HaveNode() {
		return ErrNoNode
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules")); err == nil {
		return nil
	}
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("npm ci in %s: %w\n%s", dir, err, strings.TrimSpace(string(out)))
	}
	return nil
}
