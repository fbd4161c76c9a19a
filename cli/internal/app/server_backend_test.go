package app

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fedmeter/fedmeter/cli/internal/serve"
)

// TestServerBackend: with --server every command goes through a fedmeter
// server, as its token's identity, so that scripts keep working while a
// server holds the embedded ledger; refusals cross with their exit codes.
func TestServerBackend(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ledger")
	if r := fedmeter(dir, "", "init"); r.code != 0 {
		t.Fatalf("init: %d %s", r.code, r.errOut)
	}
	token := func(as string) string {
		r := fedmeter(dir, "", "-o", "json", "serve", "token", "create", "--as", as)
		var created struct {
			Token string `json:"token"`
		}
		if err := json.Unmarshal([]byte(r.out), &created); err != nil || created.Token == "" {
			t.Fatalf("token create --as %s: %v\n%s%s", as, err, r.out, r.errOut)
		}
		return created.Token
	}
	admin, user := token("Org1/Admin"), token("Org2/User1")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := serve.New(ctx, serve.Options{Dir: dir, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ts := httptest.NewServer(s)
	defer ts.Close()

	run := func(tok string, args ...string) result {
		t.Setenv("FEDMETER_TOKEN", tok)
		return fedmeter(filepath.Join(t.TempDir(), "none"), "", append([]string{"--server", ts.URL}, args...)...)
	}
	if r := run(admin, "price", "set", "ecs", "--currency", "CNY", "--scale", "2", "vcpu_hour=12"); r.code != 0 || !strings.Contains(r.out, "Org1MSP") {
		t.Fatalf("price set through the server: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	if r := run(user, "price", "list"); r.code != 0 || !strings.Contains(r.out, "vcpu_hour") {
		t.Fatalf("price list through the server: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	for _, c := range []struct {
		name, tok string
		args      []string
		code      int
		err       string
	}{
		{"a refusal crosses with its exit code", user, a("price set ecs --currency CNY --scale 2 vcpu_hour=1"), ExitDenied, "admin"},
		{"an unknown ID", user, a("bill show nope:000001"), ExitNotFound, "nope:000001"},
		{"no token", "", a("price list"), ExitDenied, "no token"},
		{"a wrong token", "fmt_0000", a("price list"), ExitDenied, ""},
		{"--as does not apply", admin, a("--as Org1/Admin price list"), ExitInvalid, "--server is in use"},
		{"--at does not apply", admin, a("--at 2026-01-01T00:00:00Z price list"), ExitInvalid, "server's clock"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := run(c.tok, c.args...)
			if r.code != c.code || !strings.Contains(r.errOut, c.err) {
				t.Fatalf("exit %d, want %d; stderr %q, want %q", r.code, c.code, r.errOut, c.err)
			}
		})
	}
	t.Setenv("FEDMETER_TOKEN", admin)
	if r := fedmeter(dir, "", "--server", "ftp://x", "price", "list"); r.code != ExitInvalid || !strings.Contains(r.errOut, "not a server URL") {
		t.Fatalf("a bad URL: exit %d %s", r.code, r.errOut)
	}
}
