package host_test

import (
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/fedmeter/fedmeter/host"
)

var update = flag.Bool("update", false, "rewrite golden files")

const goldenFile = "testdata/prepared.golden"

// TestPreparedGolden pins the hash of every prepared corpus module. Any change
// to preparation changes what peers compute, so it must show up here and come
// with a new Profile version. Regenerate with:
//
//	go test ./host -run TestPreparedGolden -update
func TestPreparedGolden(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "hostile", "*.wasm"))
	sort.Strings(files)
	var b strings.Builder
	fmt.Fprintf(&b, "# profile %s: SHA-256 of the prepared module, per corpus file\n", host.ProfileV1().Version)
	for _, f := range files {
		code, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		p, err := host.Prepare(code)
		if err != nil {
			continue
		}
		fmt.Fprintf(&b, "%s %s\n", filepath.Base(f), hex.EncodeToString(p.Hash[:]))
	}
	if *update {
		if err := os.WriteFile(goldenFile, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(goldenFile)
	if err != nil {
		t.Fatalf("%v (generate it with -update)", err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("prepared hashes changed; if intended, bump Profile.Version and run with -update.\ngot:\n%s\nwant:\n%s", got, want)
	}
}
