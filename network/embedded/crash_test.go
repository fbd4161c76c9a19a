package embedded

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The crash test re-executes the test binary as a writer process
// (TestCrashHelper with crashHelperEnv set), which submits transactions from
// several goroutines and prints "ACK <txid> <keyA> <keyB> <worker> <i>" after
// each Submit returns. The parent SIGKILLs it at a random point, then checks
// the store: it opens, Verify passes, every acknowledged transaction is
// present, and every transaction's two keys are both present or both absent.
const (
	crashHelperEnv = "FEDMETER_EMBEDDED_CRASH_HELPER" // ledger dir for the helper
	crashRoundEnv  = "FEDMETER_EMBEDDED_CRASH_ROUND"
	crashSeedEnv   = "FEDMETER_EMBEDDED_CRASH_SEED" // set to replay a run
	crashWorkers   = 4
)

func TestCrashHelper(t *testing.T) {
	dir := os.Getenv(crashHelperEnv)
	if dir == "" {
		t.Skip("helper process for TestCrashSafety")
	}
	round := os.Getenv(crashRoundEnv)
	// fsync on: the configuration users run. (SIGKILL does not lose the page
	// cache, so this test checks process-crash atomicity, not power loss.)
	l, err := Open(dir, kvChaincode{}, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper open:", err)
		os.Exit(3)
	}
	id := testIdentity(t)
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	for w := 0; w < crashWorkers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1_000_000; i++ {
				a := fmt.Sprintf("r%s-w%d-%07d-a", round, w, i)
				b := fmt.Sprintf("r%s-w%d-%07d-b", round, w, i)
				v := strconv.Itoa(i)
				// Two fresh keys plus one shared per-worker key, so a torn
				// commit would show as a lone key or a stale "last".
				res, err := l.Submit(context.Background(), id, "put", a, v, b, v, fmt.Sprintf("last-w%d", w), round+":"+v)
				if err != nil {
					fmt.Fprintln(os.Stderr, "helper submit:", err)
					os.Exit(4)
				}
				mu.Lock()
				fmt.Fprintf(out, "ACK %s %s %s %d %d\n", res.TxID, a, b, w, i)
				out.Flush() // one write(2) per line, so a kill never tears a line
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	os.Exit(0)
}

type ack struct {
	txID, a, b string
}

func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test spawns processes")
	}
	seed := time.Now().UnixNano()
	if s := os.Getenv(crashSeedEnv); s != "" {
		var err error
		if seed, err = strconv.ParseInt(s, 10, 64); err != nil {
			t.Fatalf("bad %s: %v", crashSeedEnv, err)
		}
	}
	t.Logf("seed %d (replay with %s=%d)", seed, crashSeedEnv, seed)
	rng := rand.New(rand.NewSource(seed))
	dir := t.TempDir()
	const rounds = 40
	var acked []ack
	deadline := time.Now().Add(30 * time.Second)
	for round := 0; round < rounds && time.Now().Before(deadline); round++ {
		// Kill after a random number of acks (0 = possibly before the first
		// commit completes), plus a random extra delay of up to 3 ms so the
		// kill lands anywhere inside execution, bbolt commit or fsync.
		killAfter := rng.Intn(300)
		if rng.Intn(5) == 0 {
			killAfter = 0
		}
		extra := time.Duration(rng.Intn(3000)) * time.Microsecond
		got, err := crashRound(t, dir, round, killAfter, extra)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		acked = append(acked, got...)
		height := checkAfterCrash(t, dir, acked)
		t.Logf("round %d: kill after %d acks (+%v): %d acks observed; %d blocks committed, %d acked in total",
			round, killAfter, extra, len(got), height, len(acked))
	}
}

// crashRound runs one helper process and kills it; it returns the acks read.
func crashRound(t *testing.T, dir string, round, killAfter int, extra time.Duration) ([]ack, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashHelperEnv+"="+dir, crashRoundEnv+"="+strconv.Itoa(round))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	r := bufio.NewReader(stdout)
	var acks []ack
	killed := false
	kill := func() {
		if !killed {
			killed = true
			cmd.Process.Signal(syscall.SIGKILL)
		}
	}
	if killAfter == 0 {
		time.AfterFunc(extra+20*time.Millisecond, kill) // around open / first commit
	}
	timeout := time.AfterFunc(10*time.Second, kill)
	defer timeout.Stop()
	for {
		line, err := r.ReadString('\n')
		if err == io.EOF {
			break // a partial last line (no newline) is not an ack
		}
		if err != nil {
			return nil, err
		}
		f := strings.Fields(line)
		if len(f) != 6 || f[0] != "ACK" {
			continue // test framework chatter
		}
		acks = append(acks, ack{txID: f[1], a: f[2], b: f[3]})
		if len(acks) == killAfter {
			if extra > 0 {
				time.AfterFunc(extra, kill)
			} else {
				kill()
			}
		}
	}
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		return nil, fmt.Errorf("helper did not die by SIGKILL: %v\nstderr: %s", err, stderr.String())
	}
	return acks, nil
}

func checkAfterCrash(t *testing.T, dir string, acked []ack) uint64 {
	t.Helper()
	l, err := Open(dir, kvChaincode{}, Options{})
	if err != nil {
		t.Fatalf("reopen after crash: %v", err)
	}
	defer l.Close()
	if err := l.Verify(); err != nil {
		t.Fatalf("Verify after crash: %v", err)
	}
	for _, a := range acked {
		if _, err := l.FindTx(a.txID); err != nil {
			t.Fatalf("acknowledged tx %s lost: %v", a.txID, err)
		}
		va, _ := l.GetState(a.a)
		vb, _ := l.GetState(a.b)
		if va == nil || string(va) != string(vb) {
			t.Fatalf("acknowledged tx %s: %s=%q %s=%q", a.txID, a.a, va, a.b, vb)
		}
	}
	// No partial transaction: every "-a" key has its "-b" twin and back,
	// and each worker's shared "last" key names its newest pair.
	err = l.view(func(tx *bolt.Tx) error {
		st := tx.Bucket(bktState)
		type pos struct{ round, idx int }
		newest := map[string]pos{} // worker -> newest pair present
		c := st.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			key := string(k)
			if strings.HasPrefix(key, "last-") {
				continue
			}
			parts := strings.Split(key, "-") // r<round> w<worker> <index> a|b
			if len(parts) != 4 || (parts[3] != "a" && parts[3] != "b") {
				return fmt.Errorf("unexpected key %q", key)
			}
			twin := strings.Join(parts[:3], "-") + map[string]string{"a": "-b", "b": "-a"}[parts[3]]
			if tv := st.Get([]byte(twin)); string(tv) != string(v) {
				return fmt.Errorf("partial transaction: %q=%q but %q=%q", key, v, twin, tv)
			}
			round, _ := strconv.Atoi(strings.TrimPrefix(parts[0], "r"))
			idx, _ := strconv.Atoi(parts[2])
			if p, ok := newest[parts[1]]; !ok || round > p.round || (round == p.round && idx > p.idx) {
				newest[parts[1]] = pos{round, idx}
			}
		}
		for worker, p := range newest {
			want := fmt.Sprintf("%d:%d", p.round, p.idx)
			if last := string(st.Get([]byte("last-" + worker))); last != want {
				return fmt.Errorf("worker %s: newest pair is %s but last-%s = %q", worker, want, worker, last)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	height, _, err := l.Height()
	if err != nil {
		t.Fatal(err)
	}
	return height
}
