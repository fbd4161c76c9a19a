// Package docs holds the project's documents; its test holds the code to the
// dependency rules that architecture.md states.
package docs

import (
	"bufio"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// forbidden is one row of architecture.md's "must never exist" table.
type forbidden struct {
	part   string   // a go list pattern, relative to the module root
	except []string // go list patterns left out of part
	never  []string // import-path prefixes
	allow  []string // import-path prefixes inside never that are allowed
}

var codeSpan = regexp.MustCompile("`([^`]+)`")

// readRules parses the table under "## Arrows that must never exist".
func readRules(t *testing.T) []forbidden {
	t.Helper()
	f, err := os.Open("architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rules []forbidden
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			in = line == "## Arrows that must never exist"
			continue
		}
		if !in || !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(line, "|")
		if len(cells) < 4 {
			t.Fatalf("architecture.md: bad row %q", line)
		}
		spans := codeSpan.FindAllStringSubmatch(cells[1], -1)
		if len(spans) == 0 {
			t.Fatalf("architecture.md: row %q names no part", line)
		}
		r := forbidden{part: spans[0][1]}
		for _, m := range spans[1:] {
			r.except = append(r.except, m[1])
		}
		// "`a`, `b` except `c`": c is allowed although a or b covers it.
		never, allow, _ := strings.Cut(cells[2], " except ")
		for _, m := range codeSpan.FindAllStringSubmatch(never, -1) {
			r.never = append(r.never, m[1])
		}
		for _, m := range codeSpan.FindAllStringSubmatch(allow, -1) {
			r.allow = append(r.allow, m[1])
		}
		if len(r.never) == 0 {
			t.Fatalf("architecture.md: row %q forbids nothing", line)
		}
		rules = append(rules, r)
	}
	if len(rules) < 4 {
		t.Fatalf("architecture.md: found %d rules; the table was not read", len(rules))
	}
	return rules
}

// TestArchitecture fails if a part's non-test dependencies include anything
// architecture.md says it must never import.
func TestArchitecture(t *testing.T) {
	for _, r := range readRules(t) {
		t.Run(r.part, func(t *testing.T) {
			pkgs := goList(t, "./"+r.part)
			for _, e := range r.except {
				drop := map[string]bool{}
				for _, p := range goList(t, "./"+e) {
					drop[p] = true
				}
				kept := pkgs[:0]
				for _, p := range pkgs {
					if !drop[p] {
						kept = append(kept, p)
					}
				}
				pkgs = kept
			}
			if len(pkgs) == 0 {
				t.Fatalf("no packages left in %s", r.part)
			}
			out := strings.Join(goList(t, append([]string{"-deps"}, pkgs...)...), "\n")
			deps := strings.Fields(string(out))
			if len(deps) == 0 {
				t.Fatalf("go list -deps %v listed nothing", pkgs)
			}
			under := func(d, p string) bool { return d == p || strings.HasPrefix(d, p+"/") }
			for _, d := range deps {
				allowed := false
				for _, a := range r.allow {
					allowed = allowed || under(d, a)
				}
				if allowed {
					continue
				}
				for _, bad := range r.never {
					if under(d, bad) {
						t.Errorf("%s depends on %s, which architecture.md forbids", r.part, d)
					}
				}
			}
		})
	}
}

// goList runs go list from the module root.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list"}, args...)...)
	cmd.Dir = ".."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %v: %v", args, err)
	}
	return strings.Fields(string(out))
}

// TestArchitectureCatches makes sure the check can fail: cli/... does import
// chaincode.
func TestArchitectureCatches(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "./cli/...")
	cmd.Dir = ".."
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "github.com/fedmeter/fedmeter/chaincode\n") {
		t.Fatal("go list -deps ./cli/... does not show chaincode: the dependency check reads nothing")
	}
}
