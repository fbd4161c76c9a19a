// Package ecsas tests the ECS rule written in AssemblyScript (assembly/index.ts)
// against the Go ECS rule's golden vectors, byte for byte.
package ecsas

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fedmeter/fedmeter/host"
	"github.com/fedmeter/fedmeter/rules/build"
	"github.com/fedmeter/fedmeter/rules/ruletest"
)

const (
	kit     = "../../sdk-rules/assemblyscript"
	vectors = "../ecs/testdata/vectors/*.json"
)

// buildOrSkip installs the kit (npm ci) if needed and builds the rule. It
// skips, saying why, when node/npm are missing or npm ci cannot run (no
// registry), unless FEDMETER_REQUIRE_AS is set (CI sets it: .ci/run).
func buildOrSkip(t *testing.T, dir, out string) *build.Artifact {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	skip := t.Skipf
	if os.Getenv("FEDMETER_REQUIRE_AS") != "" {
		skip = t.Fatalf
	}
	if !build.HaveNode() {
		skip("SKIP: the AssemblyScript rule's tests need node and npm on PATH (not found)")
	}
	if err := build.Install(ctx, kit); err != nil {
		skip("SKIP: the AssemblyScript kit's compiler could not be installed: %v", err)
	}
	a, err := build.AssemblyScript(ctx, dir, out)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return a
}

// TestVectors: the ECS rule's 33 golden vectors, through host.Prepare (no
// special case) and both engines, twice each (ruletest), and each output the
// same bytes as the vector's want compacted, which is what the Go rule
// outputs.
func TestVectors(t *testing.T) {
	out := filepath.Join(t.TempDir(), "ecs-as.wasm")
	a := buildOrSkip(t, ".", out)
	t.Logf("built rules/ecs-as: %d bytes, sha256 %s", a.Size, a.Hex())
	ruletest.Run(t, ruletest.Options{Wasm: out, Vectors: vectors})

	code, _ := os.ReadFile(out)
	p, err := host.Prepare(code)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	h, err := host.New(ctx, host.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(ctx)
	m, err := h.Load(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(vectors)
	if len(files) < 33 {
		t.Fatalf("%d vectors", len(files))
	}
	for _, f := range files {
		var v ruletest.Vector
		data, _ := os.ReadFile(f)
		if err := json.Unmarshal(data, &v); err != nil {
			t.Fatal(err)
		}
		var in, want bytes.Buffer
		if v.InputText != nil {
			in.WriteString(*v.InputText)
		} else if err := json.Compact(&in, v.Input); err != nil {
			t.Fatal(err)
		}
		if err := json.Compact(&want, v.Want); err != nil {
			t.Fatal(err)
		}
		res, err := m.Bill(ctx, host.Call{Input: in.Bytes(), GasLimit: v.GasLimit})
		if res == nil {
			t.Fatalf("%s: %v", f, err)
		}
		if !bytes.Equal(res.Output, want.Bytes()) {
			t.Errorf("%s: not byte for byte:\ngot:  %s\nwant: %s", filepath.Base(f), res.Output, want.Bytes())
		}
	}
}

// TestReproducible: the same bytes twice, and from a copy of the kit and the
// rule in another folder.
func TestReproducible(t *testing.T) {
	tmp := t.TempDir()
	a := buildOrSkip(t, ".", filepath.Join(tmp, "a.wasm"))
	b := buildOrSkip(t, ".", filepath.Join(tmp, "b.wasm"))
	if a.SHA256 != b.SHA256 {
		t.Fatalf("two builds differ: %s and %s", a.Hex(), b.Hex())
	}
	// The same relative layout elsewhere: <root>/sdk-rules/assemblyscript and
	// <root>/rules/ecs-as, with the kit's installed compiler linked in.
	root := filepath.Join(tmp, "elsewhere")
	absKit, _ := filepath.Abs(kit)
	copyTree(t, filepath.Join(absKit, "assembly"), filepath.Join(root, "sdk-rules", "assemblyscript", "assembly"))
	for _, f := range []string{"build.mjs", "package.json", "package-lock.json"} {
		copyTree(t, filepath.Join(absKit, f), filepath.Join(root, "sdk-rules", "assemblyscript", f))
	}
	if err := os.Symlink(filepath.Join(absKit, "node_modules"), filepath.Join(root, "sdk-rules", "assemblyscript", "node_modules")); err != nil {
		t.Fatal(err)
	}
	copyTree(t, "assembly", filepath.Join(root, "rules", "ecs-as", "assembly"))
	copyTree(t, "package.json", filepath.Join(root, "rules", "ecs-as", "package.json"))
	c := buildOrSkip(t, filepath.Join(root, "rules", "ecs-as"), filepath.Join(tmp, "c.wasm"))
	if c.SHA256 != a.SHA256 {
		t.Fatalf("a build in another folder differs: %s, not %s", c.Hex(), a.Hex())
	}
	t.Logf("sha256 %s (three builds, two folders)", a.Hex())
}

func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
