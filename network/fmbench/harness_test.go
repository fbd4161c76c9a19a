package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/fedmeter/fedmeter/cli/client/embedded"
)

// root is the repository root, for the test modules.
const root = "../.."

func wasm(name string) string { return filepath.Join(root, "chaincode", "testdata", name) }

type result struct {
	code        int
	out, errOut string
}

// fmbench runs the command in process against the embedded ledger in dir.
func fmbench(dir string, args ...string) result {
	var out, errOut bytes.Buffer
	code := run(context.Background(), append([]string{"fmbench", "--data", dir}, args...), IO{Stdout: &out, Stderr: &errOut})
	return result{code, out.String(), errOut.String()}
}

// a splits a command line on spaces.
func a(s string) []string { return strings.Fields(s) }

// initLedger creates an embedded ledger in dir, as fedmeter init does.
func initLedger(t *testing.T, dir string) {
	t.Helper()
	if _, err := embedded.Init(context.Background(), dir, embedded.InitOptions{}); err != nil {
		t.Fatalf("init: %v", err)
	}
}

// withLedger runs f with a client on the embedded ledger in dir, as
// Org1/Admin, and closes it (one process at a time may hold the ledger,
// and fmbench opens it too).
func withLedger(t *testing.T, dir string, f func(cl *client.Client)) {
	t.Helper()
	b, err := embedded.Open(dir, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	f(client.New(b))
}

// refusal is a command line fmbench must refuse, and what it must say.
type refusal struct {
	name string
	args []string
	code int
	err  []string // substrings of stderr
}

// refuse runs each refusal and holds its error to one sentence and an
// optional hint (one JSON document with -o json), never a stack trace.
func refuse(t *testing.T, dir string, cases []refusal) {
	t.Helper()
	for _, c := range cases {
		r := fmbench(dir, c.args...)
		ctx := c.name + ": fmbench " + strings.Join(c.args, " ")
		if r.code != c.code {
			t.Fatalf("%s\nexit %d, want %d\nstdout:\n%s\nstderr:\n%s", ctx, r.code, c.code, r.out, r.errOut)
		}
		for _, w := range c.err {
			if !strings.Contains(r.errOut, w) {
				t.Fatalf("%s\nstderr lacks %q:\n%s", ctx, w, r.errOut)
			}
		}
		if strings.Contains(r.errOut, "goroutine ") || strings.Contains(r.errOut, "panic") || strings.Contains(r.errOut, ".go:") {
			t.Fatalf("%s\nstderr looks like a Go stack trace:\n%s", ctx, r.errOut)
		}
		if strings.HasPrefix(r.errOut, "{") {
			var e struct {
				Error string `json:"error"`
				Exit  int    `json:"exit"`
			}
			if err := json.Unmarshal([]byte(r.errOut), &e); err != nil || e.Error == "" || e.Exit != r.code {
				t.Fatalf("%s\nthe JSON error is not valid: %s", ctx, r.errOut)
			}
			continue
		}
		lines := strings.Split(strings.TrimRight(r.errOut, "\n"), "\n")
		if !strings.HasPrefix(lines[0], "fmbench: ") || !strings.HasSuffix(lines[0], ".") ||
			len(lines) > 2 || (len(lines) == 2 && !strings.HasPrefix(lines[1], "hint: ")) {
			t.Fatalf("%s\nthe error is not one sentence and a hint:\n%s", ctx, r.errOut)
		}
	}
}
