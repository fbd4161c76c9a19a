package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fedmeter/fedmeter/rules/build"
)

// TestRuleProvenance uploads rules from their folders (provenance computed)
// and from a file (--source-hash, --toolchain, or none), and checks them
// with rule verify-build: a match, another source with the same module, and
// another module.
func TestRuleProvenance(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "ledger")
	flatDir := filepath.Join(root, "rules", "wat-flat")
	ecsDir := filepath.Join(root, "rules", "ecs")
	flatSrc, err := build.SourceHash(flatDir)
	if err != nil {
		t.Fatal(err)
	}
	// A copy of wat-flat's module with another file beside it: the same
	// module from another source tree.
	other := filepath.Join(tmp, "flat-copy")
	if err := os.MkdirAll(other, 0o755); err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile(filepath.Join(flatDir, "flat.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(other, "flat.wasm"), mod, 0o644)
	os.WriteFile(filepath.Join(other, "NOTES"), []byte("not in the uploaded tree\n"), 0o644)
	// A folder holding another module.
	hourlyDir := filepath.Join(tmp, "hourly")
	os.MkdirAll(hourlyDir, 0o755)
	hourly, _ := os.ReadFile(wasm("ecs_hourly.wasm"))
	os.WriteFile(filepath.Join(hourlyDir, "ecs_hourly.wasm"), hourly, 0o644)
	src := strings.Repeat("c", 64)

	vars := map[string]string{}
	play(t, dir, vars, []step{
		{name: "init", args: a("--at 2026-01-01T00:00:00Z init")},
		{name: "upload a dir", args: a("--as Org1/Admin rule upload " + flatDir + " --name flat --version 1.0.0 --types ecs"),
			out: []string{"source", "sha256 " + flatSrc, "rule verify-build"}},
		{name: "show json", args: a("-o json rule show flat@1.0.0"), json: true, out: []string{`"source_sha256": "` + flatSrc + `"`}},
		{name: "upload a Go dir", args: a("--as Org1/Admin rule upload " + ecsDir + " --name ecs --version 2.0.0 --types ecs"), out: []string{"built with go1."}},
		{name: "upload a file with provenance", args: a("--as Org1/Admin rule upload " + wasm("ecs_hourly.wasm") + " --name hourly --version 1.0.0 --types ecs --source-hash " + src + " --toolchain wat2wasm-1.0.34"),
			out: []string{"sha256 " + src + ", built with wat2wasm-1.0.34"}},
		{name: "upload a file without", args: a("--as Org1/Admin rule upload " + wasm("rule_usd.wasm") + " --name usd --version 1.0.0 --types ecs -o json"), json: true},
		{name: "bad --source-hash", args: a("--as Org1/Admin rule upload " + wasm("rule_trap.wasm") + " --name trap --version 1.0.0 --source-hash xyz"), code: 1, err: []string{`--source-hash "xyz" is not a SHA-256`}},
		{name: "--no-provenance with a hash", args: a("--as Org1/Admin rule upload " + flatDir + " --name trap --version 1.0.0 --no-provenance --source-hash " + src), code: 1, err: []string{"contradicts"}},
		{name: "--no-provenance", args: a("--as Org1/Admin rule upload " + wasm("rule_trap.wasm") + " --name trap --version 1.0.0 --types ecs --no-provenance")},

		{name: "verify-build a dir", args: a("rule verify-build " + flatDir + " flat@1.0.0"),
			out: []string{"module hash", "source hash", "ok", "is the code voted on"}},
		{name: "verify-build a Go rule", args: a("rule verify-build " + ecsDir + " ecs@2.0.0 --json"), json: true, out: []string{`"ok": true`, `"toolchain"`}},
		{name: "same module, another source", args: a("rule verify-build " + other + " flat@1.0.0"), code: 5,
			out: []string{"MISMATCH"}, err: []string{"is not rule flat 1.0.0 as uploaded", "the module matches, but the folder's files differ"}},
		{name: "another module", args: a("rule verify-build " + hourlyDir + " flat@1.0.0"), code: 5, err: []string{"is not rule flat 1.0.0 as uploaded"}},
		{name: "no provenance recorded", args: a("rule verify-build " + hourlyDir + " trap@1.0.0"), code: 5, out: []string{"not recorded"}, err: []string{"a different source or toolchain"}},
		{name: "recorded source differs", args: a("rule verify-build " + hourlyDir + " hourly@1.0.0"), code: 5, out: []string{"MISMATCH", "differs"}},
		{name: "not a dir", args: a("rule verify-build " + wasm("ecs_hourly.wasm") + " flat@1.0.0"), code: 1, err: []string{"is not a rule directory"}},
		{name: "unknown rule", args: a("rule verify-build " + flatDir + " nope@1.0.0"), code: 2},
	})
	// A rule uploaded without provenance has no provenance key.
	r := fedmeter(dir, "", a("-o json rule show usd@1.0.0")...)
	if r.code != 0 || strings.Contains(r.out, "provenance") {
		t.Fatalf("usd@1.0.0: %d %s", r.code, r.out)
	}
}
