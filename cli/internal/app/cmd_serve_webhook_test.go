package app

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fedmeter/fedmeter/cli/internal/serve"
)

// TestServeWebhookCommand: add, list, remove webhooks; a running server
// delivers an event committed by another command, signed, and the
// deliveries command shows it.
func TestServeWebhookCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ledger")
	if r := fedmeter(dir, "", "init"); r.code != 0 {
		t.Fatalf("init: %d %s", r.code, r.errOut)
	}
	secret := "a secret of at least sixteen bytes"
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	short := filepath.Join(t.TempDir(), "short")
	os.WriteFile(short, []byte("short"), 0o600)

	got := make(chan error, 10)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var ev serve.APIEvent
		err := serve.VerifySignature([]byte(secret), r.Header.Get(serve.SignatureHeader), b, time.Now(), 5*time.Minute)
		if err == nil && json.Unmarshal(b, &ev) == nil && ev.Type != "consortium.proposed" {
			err = io.ErrUnexpectedEOF
		}
		got <- err
	}))
	defer rcv.Close()

	play(t, dir, map[string]string{}, []step{
		{name: "none yet", args: a("serve webhook list"), out: []string{"no webhooks"}},
		{name: "needs a URL", args: a("serve webhook add --as Org1/Admin --secret-file " + secretFile), code: ExitInvalid},
		{name: "needs a secret", args: a("serve webhook add https://example.com/h --as Org1/Admin"), code: ExitInvalid, err: []string{"--secret-file"}},
		{name: "needs --as", args: a("serve webhook add https://example.com/h --secret-file " + secretFile), code: ExitInvalid, err: []string{"--as ORG/USER"}},
		{name: "short secret", args: a("serve webhook add https://example.com/h --as Org1/Admin --secret-file " + short), code: ExitInvalid, err: []string{"at least 16"}},
		{name: "plain http elsewhere", args: a("serve webhook add http://example.com/h --as Org1/Admin --secret-file " + secretFile), code: ExitInvalid, err: []string{"https"}},
		{name: "unknown event", args: a("serve webhook add https://example.com/h --as Org1/Admin --events bill.paid --secret-file " + secretFile), code: ExitInvalid, err: []string{"bill.paid"}},
		{name: "add", args: a("serve webhook add " + rcv.URL + "/hook --as org1/admin --events consortium.* --note finance --secret-file " + secretFile),
			out: []string{"as Org1/Admin", "consortium.initialized,consortium.proposed"}},
		{name: "add another", args: a("serve webhook add https://example.com/other --as Org2/Admin --secret-file " + secretFile), out: []string{"events all"}},
		{name: "list", args: a("serve webhook list"), out: []string{"/hook", "Org1/Admin", "finance", "example.com/other"}},
		{name: "list json", args: a("serve webhook list -o json"), json: true, out: []string{`"msp_id": "Org2MSP"`}},
		{name: "no deliveries", args: a("serve webhook deliveries"), out: []string{"no deliveries"}},
		{name: "bad status", args: a("serve webhook deliveries --status lost"), code: ExitInvalid},
	})
	raw, _ := os.ReadFile(serve.WebhookFile(dir))
	if r := fedmeter(dir, "", "serve", "webhook", "list", "-o", "json"); strings.Contains(r.out, secret) || !strings.Contains(string(raw), secret) {
		t.Fatal("list shows the secret, or the file lacks it")
	}
	other := regexp.MustCompile(`"id": "([0-9a-f]{12})",\s*"url": "https://example.com/other"`).FindStringSubmatch(fedmeter(dir, "", "serve", "webhook", "list", "-o", "json").out)
	if other == nil {
		t.Fatal("no ID of the second webhook")
	}
	if r := fedmeter(dir, "", "serve", "webhook", "remove", other[1]); r.code != 0 || !strings.Contains(r.out, "removed webhook") {
		t.Fatalf("remove: %d %s %s", r.code, r.out, r.errOut)
	}

	// Serve; a command through the server opens a proposal; the server
	// delivers it.
	tok := strings.TrimSpace(fedmeter(dir, "", "serve", "token", "create", "--as", "Org1/Admin").out)
	t.Setenv("FEDMETER_TOKEN", tok)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"fedmeter", "--data", dir, "serve", "--listen", "127.0.0.1:0"}, IO{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut})
	}()
	re := regexp.MustCompile(`http://127\.0\.0\.1:\d+`)
	for re.FindString(out.String()) == "" {
		select {
		case code := <-done:
			t.Fatalf("serve exited %d: %s", code, errOut.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if r := fedmeter(dir, "", "--server", re.FindString(out.String()), "member", "propose", "policy", "all"); r.code != 0 {
		t.Fatalf("propose: %d %s", r.code, r.errOut)
	}
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("the delivery: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("no delivery within a minute")
	}
	var r result
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		r = fedmeter(dir, "", "serve", "webhook", "deliveries", "--status", "delivered")
		if strings.Contains(r.out, "consortium.proposed") || time.Now().After(deadline) {
			break
		}
	}
	if !strings.Contains(r.out, "consortium.proposed") || !strings.Contains(r.out, "200") {
		t.Fatalf("deliveries: %s %s", r.out, r.errOut)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exited %d: %s", code, errOut.String())
	}
}
