package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestModuleFiles: a module file is checked before it is read or sent:
// empty, or over the size a rule may have; and a rule built from "." is
// named after its folder (issue 19, item 9).
func TestModuleFiles(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.wasm")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.wasm")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(50 << 20); err != nil { // sparse: no 50 MB written
		t.Fatal(err)
	}
	f.Close()
	for _, c := range []struct{ file, want string }{
		{empty, "empty.wasm is empty: a Wasm module starts with the bytes"},
		{big, "big.wasm is 52428800 bytes; a rule module may have at most 8388608"},
	} {
		r := fedmeter(dir, "", "rule", "run", c.file, "--input", "-")
		if r.code != 1 || !strings.Contains(r.errOut, c.want) {
			t.Errorf("rule run %s: exit %d, stderr %q; want exit 1 saying %q", filepath.Base(c.file), r.code, r.errOut, c.want)
		}
	}
	for _, c := range []struct{ dir, want string }{{".", "x"}, {"..", "tmp"}, {"a/b/", "b"}} {
		base := filepath.Join(dir, "tmp", "x")
		if err := os.MkdirAll(filepath.Join(base, "a", "b"), 0o755); err != nil {
			t.Fatal(err)
		}
		wd, _ := os.Getwd()
		if err := os.Chdir(base); err != nil {
			t.Fatal(err)
		}
		got := ruleName(c.dir)
		os.Chdir(wd)
		if got != c.want {
			t.Errorf("ruleName(%q) = %q, want %q", c.dir, got, c.want)
		}
	}
}
