package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestProfileTargets(t *testing.T) {
	netdir := t.TempDir()
	env := filepath.Join(netdir, "env")
	if err := os.MkdirAll(env, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		// Profiling on: the address counts.
		"peer0.org1": "CORE_PEER_ID=peer0.org1.example.com\nCORE_PEER_PROFILE_ENABLED=true\nCORE_PEER_PROFILE_LISTENADDRESS=127.0.0.1:7060\n",
		"orderer1":   "ORDERER_GENERAL_PROFILE_ENABLED=true\nORDERER_GENERAL_PROFILE_ADDRESS=127.0.0.1:7058\n",
		// The service needs only its address.
		"cc-fedmeter-org1": "CHAINCODE_ID=x\nFEDMETER_PPROF_ADDRESS=127.0.0.1:7075\n",
		// An address with profiling off, and no address: left out.
		"peer1.org1":     "CORE_PEER_PROFILE_ENABLED=false\nCORE_PEER_PROFILE_LISTENADDRESS=127.0.0.1:7160\n",
		"cc-putget-org1": "CHAINCODE_ID=y\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(env, name+".env"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := profileTargets(netdir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"peer0.org1": "127.0.0.1:7060", "orderer1": "127.0.0.1:7058", "cc-fedmeter-org1": "127.0.0.1:7075"}
	if len(got) != len(want) {
		t.Fatalf("targets = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("targets[%s] = %q, want %q", k, got[k], v)
		}
	}
}

func TestNodeProfilerStart(t *testing.T) {
	var (
		mu    sync.Mutex
		asked []string
	)
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked = append(asked, r.URL.Path+"?"+r.URL.RawQuery)
		mu.Unlock()
		w.Write([]byte("profile bytes"))
	}))
	defer ok.Close()
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "profiling is off", http.StatusNotFound)
	}))
	defer broken.Close()

	dir := t.TempDir()
	p := &nodeProfiler{dir: dir, client: ok.Client(), targets: map[string]string{
		"peer0.org1": strings.TrimPrefix(ok.URL, "http://"),
		"orderer1":   strings.TrimPrefix(broken.URL, "http://"),
	}}
	err := p.start(context.Background(), "01-put-inflight=128", 1500*time.Millisecond)()
	if err == nil || !strings.Contains(err.Error(), "orderer1") || !strings.Contains(err.Error(), "404") {
		t.Fatalf("err = %v, want orderer1's 404 named", err)
	}
	if strings.Contains(err.Error(), "peer0.org1") {
		t.Errorf("err = %v names the node that worked", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(asked) != 1 || asked[0] != "/debug/pprof/profile?seconds=1" {
		t.Errorf("asked %v, want one profile of 1 s (whole seconds of the window)", asked)
	}
	b, err := os.ReadFile(filepath.Join(dir, "01-put-inflight=128", "peer0.org1.pprof"))
	if err != nil || string(b) != "profile bytes" {
		t.Errorf("peer0.org1.pprof = %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "01-put-inflight=128", "orderer1.pprof")); !os.IsNotExist(err) {
		t.Errorf("a failed profile left a file: %v", err)
	}
}

// TestRunLoadWindow: runLoad opens the profiles' window with the measured
// duration after the warm-up, waits for them after it, and records what
// failed there in the step.
func TestRunLoadWindow(t *testing.T) {
	ls := loadSpec{InFlight: 2, Warmup: 50 * time.Millisecond, Duration: 200 * time.Millisecond}
	var ops atomic.Int64
	op := func(ctx context.Context) (int, error) {
		time.Sleep(time.Millisecond)
		ops.Add(1)
		return 1, nil
	}
	var (
		opened  time.Duration
		atOpen  int64
		waited  bool
		started = time.Now()
		openAt  time.Duration
	)
	window := func(d time.Duration) func() error {
		opened, atOpen, openAt = d, ops.Load(), time.Since(started)
		return func() error {
			waited = true
			return errors.New("node profiles of 01-put: orderer1 (127.0.0.1:7058): 404 Not Found")
		}
	}
	st := runLoad(context.Background(), ls, op, "", func() map[string]int { return nil }, window)
	if opened != ls.Duration {
		t.Errorf("window opened for %v, want the measured %v", opened, ls.Duration)
	}
	if atOpen == 0 || openAt < ls.Warmup {
		t.Errorf("window opened at %v after %d operations; want after the %v warm-up", openAt, atOpen, ls.Warmup)
	}
	if !waited {
		t.Error("runLoad did not wait for the window's work")
	}
	if !strings.Contains(st.ProfileError, "orderer1") {
		t.Errorf("ProfileError = %q, want the window's error", st.ProfileError)
	}
}

// TestRunLoadWindowWaitsForAnOperation: a window in which no operation
// finished would have no rate; it stays open until one does, however slow
// the machine (the operation here takes longer than the whole window).
func TestRunLoadWindowWaitsForAnOperation(t *testing.T) {
	ls := loadSpec{InFlight: 1, Duration: 5 * time.Millisecond}
	op := func(ctx context.Context) (int, error) {
		time.Sleep(50 * time.Millisecond)
		return 1, nil
	}
	st := runLoad(context.Background(), ls, op, "", func() map[string]int { return nil }, nil)
	if st.Tx < 1 || st.TxPerSec <= 0 || st.Seconds <= 0 {
		t.Fatalf("a window shorter than one operation: %d tx, %.1f tx/s over %.3f s", st.Tx, st.TxPerSec, st.Seconds)
	}
}
