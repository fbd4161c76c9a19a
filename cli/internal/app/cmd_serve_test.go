package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestServeCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ledger")
	if r := fedmeter(dir, "", "init"); r.code != 0 {
		t.Fatalf("init: %d %s", r.code, r.errOut)
	}
	play(t, dir, map[string]string{}, []step{
		{name: "no tokens yet", args: a("serve token list"), out: []string{"no tokens"}},
		{name: "create needs --as", args: a("serve token create"), code: ExitInvalid, err: []string{"--as ORG/USER"}},
		{name: "an unknown identity", args: a("serve token create --as Org9/Admin"), code: ExitNotFound, err: []string{"Org9/Admin"}},
		{name: "an unknown user", args: a("serve token create --as Org2/Nobody"), code: ExitNotFound, err: []string{"no user Nobody"}},
		{name: "create", args: a("serve token create --as org2/admin --note finance"), out: []string{"fmt_"}, err: []string{"acts as Org2/Admin (Org2MSP)", "shown only now"}},
		{name: "list", args: a("serve token list"), out: []string{"Org2/Admin", "Org2MSP", "finance"}},
		{name: "list json", args: a("serve token list -o json"), json: true, out: []string{`"sha256"`}},
		{name: "revoke an unknown one", args: a("serve token revoke abcdef"), code: ExitNotFound},
		{name: "revoke too short", args: a("serve token revoke ab"), code: ExitInvalid},
		{name: "plain HTTP off loopback", args: a("serve --listen 0.0.0.0:8080"), code: ExitInvalid, err: []string{"not a loopback address"}},
		{name: "a bad address", args: a("serve --listen nowhere"), code: ExitInvalid},
		{name: "--as does not apply", args: a("serve --as Org1/Admin"), code: ExitInvalid, err: []string{"bearer token"}},
		{name: "half of TLS", args: a("serve --tls-cert x.pem"), code: ExitInvalid, err: []string{"go together"}},
		{name: "arguments", args: a("serve now"), code: ExitInvalid},
	})

	// Create a token as JSON, serve on a free port, use it, stop.
	r := fedmeter(dir, "", "-o", "json", "serve", "token", "create", "--as", "Org1/Admin")
	var created struct {
		Token string `json:"token"`
		Entry struct {
			ID string `json:"id"`
			As string `json:"as"`
		} `json:"entry"`
	}
	if err := json.Unmarshal([]byte(r.out), &created); err != nil || created.Entry.As != "Org1/Admin" {
		t.Fatalf("token create -o json: %v\n%s", err, r.out)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"fedmeter", "--data", dir, "serve", "--listen", "127.0.0.1:0"}, IO{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut})
	}()
	re := regexp.MustCompile(`http://(127\.0\.0\.1:\d+)`)
	var addr string
	for i := 0; addr == ""; i++ {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			addr = m[1]
			break
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited %d: %s %s", code, out.String(), errOut.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	get := func(path, tok string) (int, string) {
		req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, _ := get("/healthz", ""); code != 200 {
		t.Fatalf("healthz %d", code)
	}
	if code, body := get("/api/v1/members", ""); code != 401 || !strings.Contains(body, "unauthenticated") {
		t.Fatalf("no token: %d %s", code, body)
	}
	if code, body := get("/api/v1/whoami", created.Token); code != 200 || !strings.Contains(body, `"as":"Org1/Admin"`) {
		t.Fatalf("whoami: %d %s", code, body)
	}
	// Revoked by the command while the server runs: refused at once.
	if r := fedmeter(dir, "", "serve", "token", "revoke", created.Entry.ID); r.code != 0 || !strings.Contains(r.out, "revoked token") {
		t.Fatalf("revoke: %d %s %s", r.code, r.out, r.errOut)
	}
	if code, _ := get("/api/v1/whoami", created.Token); code != 401 {
		t.Fatalf("revoked token: %d", code)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exited %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "stopped") {
		t.Fatalf("serve output: %s", out.String())
	}
}
