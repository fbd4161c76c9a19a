package app

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fedmeter/fedmeter/rules/build"
)

var reSHA = regexp.MustCompile(`sha256\s+([0-9a-f]{64})`)

// TestRuleNewGo makes a Go scaffold outside the checkout (--sdk), and checks
// that its own test passes with the go command, that its vectors pass in the
// host on both engines, and that it builds to the same bytes twice.
func TestRuleNewGo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a rule: not in -short")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "seats")
	play(t, tmp, map[string]string{}, []step{
		{name: "outside a checkout, the SDK must be named", args: []string{"rule", "new", "seats", "--dir", dir}, code: 1,
			err: []string{"outside a fedmeter checkout", "--sdk DIR"}},
		{name: "a bad name", args: []string{"rule", "new", "Seats!", "--dir", dir, "--sdk", root}, code: 1, err: []string{"is not a rule name"}},
		{name: "a bad language", args: []string{"rule", "new", "seats", "--dir", dir, "--sdk", root, "--lang", "cobol"}, code: 1, err: []string{"is not go or assemblyscript"}},
		{name: "new", args: []string{"rule", "new", "seats", "--dir", dir, "--sdk", filepath.Join(root, "sdk-rules")},
			out: []string{"Created the Go rule \"seats\"", "go.mod", "main_test.go", "testdata/vectors/07_overflow.json", "go test ./..."}},
		{name: "not over an existing folder", args: []string{"rule", "new", "seats", "--dir", dir, "--sdk", root}, code: 1, err: []string{"already exists"}},
		{name: "its vectors in the host", args: []string{"rule", "test", dir}, out: []string{"All 7 vectors pass"}},
		{name: "one call", args: []string{"rule", "run", dir, "--input", filepath.Join(dir, "testdata", "vectors", "01_ninety_minutes.json")},
			out: []string{`"total":180`, "matches want  yes"}},
		{name: "build", args: []string{"rule", "build", dir, "--out", filepath.Join(tmp, "a.wasm")}, out: []string{"sha256"}, save: "A", re: reSHA.String()},
		{name: "build again", args: []string{"rule", "build", dir, "--out", filepath.Join(tmp, "b.wasm")}, out: []string{"sha256"}, save: "B", re: reSHA.String()},
	})
	a, _ := os.ReadFile(filepath.Join(tmp, "a.wasm"))
	b, _ := os.ReadFile(filepath.Join(tmp, "b.wasm"))
	if len(a) == 0 || string(a) != string(b) {
		t.Fatal("two builds of the scaffold differ")
	}
	mod, _ := os.ReadFile(filepath.Join(dir, "go.mod"))
	if strings.Contains(string(mod), tmp) || !strings.Contains(string(mod), "replace github.com/fedmeter/fedmeter/sdk-rules => ../") {
		t.Fatalf("go.mod should replace the SDK by a relative path:\n%s", mod)
	}
	cmd := exec.Command(goCmd, "test", "-count=1", "./...")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go test in the scaffold: %v\n%s", err, out)
	}
	cmd = exec.Command(goCmd, "vet", "./...")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go vet in the scaffold: %v\n%s", err, out)
	}
}

// TestRuleNewInCheckout: inside a checkout (here a stand-in: the two go.mod
// files that make one) the SDK is found by a relative path, with no flag.
func TestRuleNewInCheckout(t *testing.T) {
	co := t.TempDir()
	for f, text := range map[string]string{
		"go.mod":           "module github.com/fedmeter/fedmeter\n\ngo 1.26.0\n",
		"sdk-rules/go.mod": "module github.com/fedmeter/fedmeter/sdk-rules\n\ngo 1.26.0\n",
	} {
		os.MkdirAll(filepath.Join(co, filepath.Dir(f)), 0o755)
		if err := os.WriteFile(filepath.Join(co, f), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(co, "rules", "zz")
	r := fedmeter(t.TempDir(), "", "rule", "new", "zz", "--dir", dir)
	if r.code != 0 || !strings.Contains(r.out, "this checkout's sdk-rules, ../../sdk-rules") {
		t.Fatalf("exit %d: %s%s", r.code, r.out, r.errOut)
	}
	mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil || !strings.Contains(string(mod), "=> ../../sdk-rules\n") || !strings.Contains(string(mod), "module zz\n") ||
		!strings.Contains(string(mod), "go 1.26.0\n") {
		t.Fatalf("go.mod (%v):\n%s", err, mod)
	}
	vec, _ := os.ReadFile(filepath.Join(dir, "testdata", "vectors", "01_ninety_minutes.json"))
	if !strings.Contains(string(vec), `"type": "zz"`) {
		t.Fatalf("the vector names another type:\n%s", vec)
	}
}

// TestRuleNewAssemblyScript makes an AssemblyScript scaffold outside the
// checkout and checks that its vectors pass in the host and that it builds to
// the same bytes twice. It needs node and npm (and the kit's compiler, which
// it installs with npm ci if missing); without them it skips, saying so,
// unless FEDMETER_REQUIRE_AS is set (.ci/run sets it).
func TestRuleNewAssemblyScript(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a rule: not in -short")
	}
	skip := t.Skipf
	if os.Getenv("FEDMETER_REQUIRE_AS") != "" {
		skip = t.Fatalf
	}
	if !build.HaveNode() {
		skip("SKIP: rule new --lang assemblyscript needs node and npm on PATH (not found)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := build.Install(ctx, filepath.Join(root, "sdk-rules", "assemblyscript")); err != nil {
		skip("SKIP: the AssemblyScript kit's compiler could not be installed: %v", err)
	}
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "seats")
	play(t, tmp, map[string]string{}, []step{
		{name: "new", args: []string{"rule", "new", "seats", "--lang", "assemblyscript", "--dir", dir, "--sdk", root},
			out: []string{"Created the AssemblyScript rule \"seats\"", "assembly/index.ts", "package.json", "testdata/vectors/01_ninety_minutes.json", "npm ci"}},
		{name: "a version is Go only", args: []string{"rule", "new", "x", "--lang", "assemblyscript", "--dir", filepath.Join(tmp, "x"), "--sdk", "v1.0.0"},
			code: 1, err: []string{"give a fedmeter checkout DIR"}},
		{name: "its vectors in the host", args: []string{"rule", "test", dir}, out: []string{"All 7 vectors pass"}},
		{name: "build", args: []string{"rule", "build", dir, "--out", filepath.Join(tmp, "a.wasm")}, out: []string{"sha256"}},
		{name: "build again", args: []string{"rule", "build", dir, "--out", filepath.Join(tmp, "b.wasm")}, out: []string{"sha256"}},
	})
	a, _ := os.ReadFile(filepath.Join(tmp, "a.wasm"))
	b, _ := os.ReadFile(filepath.Join(tmp, "b.wasm"))
	if len(a) == 0 || string(a) != string(b) {
		t.Fatal("two builds of the scaffold differ")
	}
	if _, err := os.Stat(filepath.Join(dir, ".gitignore")); err != nil {
		t.Fatal(err)
	}
}
