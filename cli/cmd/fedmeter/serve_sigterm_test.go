package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fedmeter/fedmeter/rules/build"
)

// TestServeSIGTERMFinishesInFlight: SIGTERM while a request is in flight
// (its body half sent) stops the server only after that request is
// answered, and what it wrote is on the ledger; the process then exits 0.
// Issue 20: "SIGTERM finishes in-flight requests".
func TestServeSIGTERMFinishesInFlight(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	tmp := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin := filepath.Join(tmp, "fedmeter")
	if out, err := exec.CommandContext(ctx, build.GoCommand(), "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	data := filepath.Join(tmp, "ledger")
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.CommandContext(ctx, bin, append([]string{"--data", data}, args...)...).Output()
		if err != nil {
			t.Fatalf("fedmeter %s: %v", strings.Join(args, " "), err)
		}
		return strings.TrimSpace(string(out))
	}
	run("init")
	token := run("serve", "token", "create", "--as", "Org1/Admin")

	srv := exec.CommandContext(ctx, bin, "--data", data, "serve", "--listen", "127.0.0.1:0")
	stdout, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Process.Kill()
	lines := bufio.NewScanner(stdout)
	var addr string
	for lines.Scan() {
		// fedmeter serve: http://127.0.0.1:PORT over the embedded ledger in ...
		if _, rest, ok := strings.Cut(lines.Text(), "http://"); ok {
			addr, _, _ = strings.Cut(rest, " ")
			break
		}
	}
	if addr == "" {
		t.Fatal("serve printed no address")
	}

	body := `{"kind":"member.add","value":"Org4MSP","reason":"in flight at SIGTERM"}`
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// One request answered first on the same connection: the server has
	// accepted it and is reading from it, not still in its accept queue.
	r := bufio.NewReader(conn)
	fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	if resp, err := http.ReadResponse(r, nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	} else {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	fmt.Fprintf(conn, "POST /api/v1/proposals HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		addr, token, len(body), body[:10])
	// The server has the request (its handler is reading the body) when
	// SIGTERM comes.
	time.Sleep(300 * time.Millisecond)
	if err := srv.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if _, err := io.WriteString(conn, body[10:]); err != nil {
		t.Fatalf("the rest of the body: %v", err)
	}
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("no answer to the request in flight: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("the request in flight got %s, want 201 Created", resp.Status)
	}
	rest := make(chan string, 1)
	go func() {
		var b strings.Builder
		for lines.Scan() {
			b.WriteString(lines.Text() + "\n")
		}
		rest <- b.String()
	}()
	if err := srv.Wait(); err != nil {
		t.Fatalf("serve after SIGTERM: %v", err)
	}
	if out := <-rest; !strings.Contains(out, "fedmeter serve: stopped") {
		t.Fatalf("serve did not say it stopped: %q", out)
	}
	if got := run("member", "proposals"); !strings.Contains(got, "Org4MSP") {
		t.Fatalf("the proposal made in flight is not on the ledger:\n%s", got)
	}
}
