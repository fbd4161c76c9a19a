package serve

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

// slowServer serves e's server with short timeouts.
func slowServer(t *testing.T, e *env) *httptest.Server {
	ts := httptest.NewUnstartedServer(e.srv)
	ts.Config = e.srv.HTTPServer(Timeouts{ReadHeader: 200 * time.Millisecond, Read: 300 * time.Millisecond, Write: 5 * time.Second, Idle: 300 * time.Millisecond})
	ts.Start()
	t.Cleanup(ts.Close)
	return ts
}

// dripper writes to a connection a few bytes at a time until the server
// closes it.
func drip(conn net.Conn, chunk string) {
	for {
		if _, err := conn.Write([]byte(chunk)); err != nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// readUntilClosed reads what the server sends until it closes the
// connection; the hang guard's timeout fails the test.
func readUntilClosed(t *testing.T, conn net.Conn) string {
	t.Helper()
	b, err := io.ReadAll(conn)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the server did not cut off the slow client within %v", hang)
	}
	return string(b)
}

// TestSlowHeaders: a client that sends its headers a line at a time,
// never ending them (slowloris), is cut off by the header timeout, and
// the server still serves others.
func TestSlowHeaders(t *testing.T) {
	e := newEnv(t)
	ts := slowServer(t, e)
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(hang))
	fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n")
	go drip(conn, "X-Slow: a\r\n")
	if got := readUntilClosed(t, conn); strings.Contains(got, " 200 ") {
		t.Fatalf("a request whose headers never ended was served:\n%s", got)
	}
	res, err := http.Get(ts.URL + "/healthz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("after the slow client: %v %v", res, err)
	}
	res.Body.Close()
}

// TestSlowBody: a body sent a byte at a time past the read timeout is a
// 408 problem, not a 500.
func TestSlowBody(t *testing.T) {
	e := newEnv(t)
	ts := slowServer(t, e)
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(hang))
	fmt.Fprintf(conn, "POST /api/v1/usage HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: text/csv\r\nContent-Length: 100000\r\n\r\n", e.tokens["Org1/Agent1"])
	go drip(conn, "r")
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no response: %v", err)
	}
	b, _ := io.ReadAll(res.Body)
	r := resp{res.StatusCode, res.Header, b}
	want(t, r, http.StatusRequestTimeout)
	if p := r.problem(t); p.Kind != "timeout" {
		t.Fatalf("problem %+v", p)
	}
}
