package build

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// SourceHash is the SHA-256 (hex) of the source tree of the rule in dir,
// the source_sha256 of a rule's provenance: the SHA-256 of a manifest with
// one line per regular file under dir,
//
//	<SHA-256 of the file, hex>  <path relative to dir, with '/'>\n
//
// sorted by path (sha256sum's format: `find . -type f | sort | xargs
// sha256sum` with the same files gives the same manifest). Skipped: files
// and folders whose name starts with '.', and node_modules and build
// folders (installed dependencies and outputs, not source). Symbolic links
// are refused, so the hash depends on the tree alone. What the folder does
// not hold (the SDK a rule in this repository reaches through the main
// module's replace, the Go toolchain) is not covered; a standalone rule
// (fedmeter rule new) holds its go.mod and go.sum, which pin the rest.
func SourceHash(dir string) (string, error) {
	type entry struct{ path, sum string }
	var files []entry
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if p != dir && (strings.HasPrefix(name, ".") || (d.IsDir() && (name == "node_modules" || name == "build"))) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		switch {
		case d.IsDir():
			return nil
		case d.Type()&fs.ModeSymlink != 0:
			return fmt.Errorf("%s is a symbolic link; a rule's source tree holds regular files only", p)
		case !d.Type().IsRegular():
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		s := sha256.Sum256(b)
		files = append(files, entry{filepath.ToSlash(rel), hex.EncodeToString(s[:])})
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("source hash of %s: %w", dir, err)
	}
	if len(files) == 0 {
		return "", fmt.Errorf("source hash of %s: it holds no source files", dir)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].path < files[j].path })
	var m bytes.Buffer
	for _, f := range files {
		fmt.Fprintf(&m, "%s  %s\n", f.sum, f.path)
	}
	s := sha256.Sum256(m.Bytes())
	return hex.EncodeToString(s[:]), nil
}

// Toolchain names what builds the rule in dir, the toolchain of a rule's
// provenance: the Go release (`go env GOVERSION` of GoCommand, e.g.
// "go1.26.0") for a Go rule, "assemblyscript VERSION" (the compiler
// installed for it: its node_modules, or the kit's its build script runs)
// for an AssemblyScript rule, and "" for a folder holding a prebuilt .wasm
// (and no Go but a doc.go, as fedmeter rule build decides).
func Toolchain(ctx context.Context, dir string) (string, error) {
	if IsAssemblyScript(dir) {
		v, err := asVersion(dir)
		if err != nil {
			return "", err
		}
		return "assemblyscript " + v, nil
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	goFiles := false
	for _, e := range ents {
		if n := e.Name(); !e.IsDir() && strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") && n != "doc.go" {
			goFiles = true
		}
	}
	if !goFiles {
		return "", nil
	}
	cmd := exec.CommandContext(ctx, GoCommand(), "env", "GOVERSION")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go env GOVERSION in %s: %w", dir, err)
	}
	return strings.TrimSpace(string(out)), nil
}

var reKit = regexp.MustCompile(`node\s+(\S+)/build\.mjs`)

// asVersion is the version of the assemblyscript package that builds the
// rule in dir.
func asVersion(dir string) (string, error) {
	cands := []string{filepath.Join(dir, "node_modules", "assemblyscript", "package.json")}
	if b, err := os.ReadFile(filepath.Join(dir, "package.json")); err == nil {
		var pkg struct {
			Scripts map[string]string `json:"scripts"`
		}
		if json.Unmarshal(b, &pkg) == nil {
			if m := reKit.FindStringSubmatch(pkg.Scripts["build"]); m != nil {
				cands = append(cands, filepath.Join(dir, filepath.FromSlash(m[1]), "node_modules", "assemblyscript", "package.json"))
			}
		}
	}
	for _, c := range cands {
		b, err := os.ReadFile(c)
		if err != nil {
			continue
		}
		var pkg struct {
			Version string `json:"version"`
		}
		if json.Unmarshal(b, &pkg) == nil && pkg.Version != "" {
			return pkg.Version, nil
		}
	}
	return "", fmt.Errorf("the AssemblyScript compiler of %s is not installed (run npm ci)", dir)
}
