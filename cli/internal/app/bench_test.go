package app

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// benchJSON runs fedmeter bench with -o json and decodes its report.
func benchJSON(t *testing.T, dir string, args ...string) *benchReport {
	t.Helper()
	r := fedmeter(dir, "", append([]string{"-o", "json", "bench"}, args...)...)
	if r.code != 0 {
		t.Fatalf("fedmeter bench %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.out, r.errOut)
	}
	var rep benchReport
	if err := json.Unmarshal([]byte(r.out), &rep); err != nil {
		t.Fatalf("fedmeter bench %s: stdout is not the JSON report (%v):\n%s", strings.Join(args, " "), err, r.out)
	}
	return &rep
}

// listJSON runs a list command with -o json and returns the items.
func listJSON(t *testing.T, dir string, args ...string) []map[string]any {
	t.Helper()
	r := fedmeter(dir, "", append([]string{"-o", "json"}, args...)...)
	if r.code != 0 {
		t.Fatalf("fedmeter %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.out, r.errOut)
	}
	var items []map[string]any
	if err := json.Unmarshal([]byte(r.out), &items); err != nil {
		t.Fatalf("fedmeter %s: %v\n%s", strings.Join(args, " "), err, r.out)
	}
	return items
}

// checkStep holds a step to what it says about itself: no errors, and the
// window's counts within what the step put on the ledger.
func checkStep(t *testing.T, s *benchStep, workload string, batch int) {
	t.Helper()
	if s.Workload != workload {
		t.Fatalf("step is %s, want %s", s.Workload, workload)
	}
	if s.ErrorCount != 0 || len(s.Errors) != 0 || s.Mismatches != 0 {
		t.Fatalf("%s: errors %v (%d), mismatches %d, first: %s", workload, s.Errors, s.ErrorCount, s.Mismatches, s.FirstError)
	}
	if s.Tx <= 0 || s.Tx > s.AllTx {
		t.Fatalf("%s: tx %d in the window, %d in all", workload, s.Tx, s.AllTx)
	}
	if batch > 0 && (s.Records != s.Tx*batch || s.AllRecords != s.AllTx*batch || s.Batch != batch) {
		t.Fatalf("%s: %d records in %d tx (all: %d in %d), batch %d", workload, s.Records, s.Tx, s.AllRecords, s.AllTx, batch)
	}
	if s.Seconds <= 0 || s.TxPerSec <= 0 || s.P50Ms > s.P99Ms || s.P99Ms > s.MaxMs {
		t.Fatalf("%s: %.3f s, %.1f tx/s, p50 %.2f p99 %.2f max %.2f", workload, s.Seconds, s.TxPerSec, s.P50Ms, s.P99Ms, s.MaxMs)
	}
}

// TestBench runs every workload of fedmeter bench on the embedded ledger,
// briefly, and checks its counts against the ledger: the usage records and
// the bills it reports are the ones the ledger holds.
func TestBench(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "ledger")
	if r := fedmeter(dir, "", "init"); r.code != 0 {
		t.Fatalf("init: %s%s", r.out, r.errOut)
	}
	short := []string{"--warmup", "0s", "--duration", "300ms"}

	// Refusals, before anything is set up.
	play(t, dir, map[string]string{}, []step{
		{name: "no workload", args: a("bench"), code: 1, err: []string{"needs a workload", "fedmeter bench --help"}},
		{name: "unknown workload", args: a("bench usage nope"), code: 1, err: []string{`"nope" is not a workload`}},
		{name: "bad batch", args: a("bench usage --batch 1001"), code: 1, err: []string{"--batch 1001 is not valid"}},
		{name: "bad inflight", args: a("bench put --inflight 0"), code: 1, err: []string{"--inflight \"0\" is not valid"}},
		{name: "rate with two inflight", args: a("bench put --rate 10 --inflight 1,2"), code: 1, err: []string{"with --rate, --inflight is one number"}},
		{name: "at", args: a("bench put --at 2026-01-01T00:00:00Z"), code: 1, err: []string{"--at cannot be used with bench"}},
		{name: "bad rounds", args: a("bench put --rounds 0"), code: 1, err: []string{"--rounds 0 is not valid"}},
		{name: "bad settle", args: a("bench put --settle -1s"), code: 1, err: []string{"--settle must not be negative"}},
		{name: "no rule", args: append(a("bench release --resources 2"), short...), code: 1, err: []string{"no rule is active for type ecs", "--rule MODULE.wasm"}},
		{name: "json error", args: a("-o json bench"), code: 1, err: []string{`"kind":"invalid"`}},
	})

	// usage: batches of 10 records (5 resources x 2 metrics a period).
	rep := benchJSON(t, dir, append(a("usage --inflight 2 --batch 10 --usage-resources 5 --usage-head-start 2s"), short...)...)
	if len(rep.Steps) != 1 || rep.Identity != "Org1MSP" || rep.Chaincode != "fedmeter" {
		t.Fatalf("report: %+v", rep)
	}
	us := rep.Steps[0]
	checkStep(t, us, "usage", 10)
	var usageRes []string
	for _, r := range listJSON(t, dir, "resource", "list", "--role", "provider") {
		if attrs, _ := r["attributes"].(map[string]any); attrs["bench"] == rep.Run {
			usageRes = append(usageRes, r["id"].(string))
		}
	}
	if len(usageRes) != 5 {
		t.Fatalf("the bench's usage resources on the ledger: %v, want 5", usageRes)
	}
	held := 0
	for _, id := range usageRes {
		recs := listJSON(t, dir, "usage", "list", id)
		for _, u := range recs {
			if !strings.HasPrefix(u["id"].(string), "u-") {
				t.Fatalf("usage record %v: the bench's IDs are derived", u)
			}
		}
		held += len(recs)
	}
	if held != us.AllRecords {
		t.Fatalf("the ledger holds %d usage records of %v; the bench reported %d", held, usageRes, us.AllRecords)
	}

	// release: a pool of 25 resources, released by 4 clients until the
	// pool is empty; every release is a bill on the ledger.
	rep = benchJSON(t, dir, append(a("release --inflight 4 --resources 25 --duration 20s --rule"), wasm("ecs_hourly.wasm"), "--warmup", "0s")...)
	rel := rep.Steps[0]
	checkStep(t, rel, "release", 0)
	if !rel.PoolExhausted || rel.AllTx != 25 || rel.Seconds >= 20 {
		t.Fatalf("release: pool exhausted %v, %d released, %.1f s", rel.PoolExhausted, rel.AllTx, rel.Seconds)
	}
	if n := len(listJSON(t, dir, "bill", "list", "--role", "provider")); n != 25 {
		t.Fatalf("the provider has %d bills, want the 25 the bench released", n)
	}

	// The baseline at a fixed rate: no more operations than were due.
	rep = benchJSON(t, dir, append(a("put get --rate 40"), short...)...)
	for i, w := range []string{"put", "get"} {
		s := rep.Steps[i]
		checkStep(t, s, w, 0)
		if s.Rate != 40 || s.Load != "rate=40/s" || s.Tx > 13 || s.AllTx > 13 {
			t.Fatalf("%s at 40/s for 0.3 s: %d in the window, %d in all (%s)", w, s.Tx, s.AllTx, s.Load)
		}
	}
	if rep.Baseline != "putget" {
		t.Fatalf("baseline %q", rep.Baseline)
	}

	// --compare: every workload at two loads, each right after its
	// baseline at the same load (usage last), ratios of that baseline step.
	rep = benchJSON(t, dir, append(a("--compare --inflight 1,2 --batch 5 --resources 40 --usage-resources 10 --usage-head-start 2s"), short...)...)
	order := []string{"put", "release", "put", "release", "get", "quote", "bills", "get", "quote", "bills", "put", "usage", "put", "usage"}
	loads := []int{1, 1, 2, 2, 1, 1, 1, 2, 2, 2, 1, 1, 2, 2}
	if len(rep.Steps) != len(order) {
		t.Fatalf("%d steps, want %d", len(rep.Steps), len(order))
	}
	for i, s := range rep.Steps {
		w := order[i]
		if load := fmt.Sprintf("inflight=%d", loads[i]); s.Workload != w || s.Load != load {
			t.Fatalf("step %d: %s at %s, want %s at %s", i, s.Workload, s.Load, w, load)
		}
		if w == "release" {
			if s.Workload != w || s.ErrorCount != 0 || s.AllTx == 0 {
				t.Fatalf("release step: %+v", s)
			}
			continue
		}
		batch := 0
		if w == "usage" {
			batch = 5
		}
		checkStep(t, s, w, batch)
	}
	if len(rep.Ratios) != 10 || len(rep.Goals) != 3 {
		t.Fatalf("%d ratios, %d goals", len(rep.Ratios), len(rep.Goals))
	}
	// Each ratio is to the baseline step right before it.
	bases := map[string]int{"release tx/s": 0, "quote/s": 4, "bill list/s": 4, "usage records/s": 10, "usage tx/s": 10}
	seen := map[string]int{}
	for _, r := range rep.Ratios {
		base := rep.Steps[bases[r.Name]+3*seen[r.Name]]
		if r.Name == "release tx/s" || strings.HasPrefix(r.Name, "usage") {
			base = rep.Steps[bases[r.Name]+2*seen[r.Name]]
		}
		seen[r.Name]++
		if r.Ratio <= 0 || r.Baseline != math.Round(base.TxPerSec*1000)/1000 {
			t.Fatalf("ratio %+v: its baseline is step %s at %s, %.3f/s", r, base.Workload, base.Load, base.TxPerSec)
		}
	}
	if g := rep.Goals[2]; g.Goal != "0 endorsement mismatches" || !g.Met {
		t.Fatalf("goal %+v", g)
	}

	// --rounds: the steps again, round after round; each goal on the
	// median round.
	rep = benchJSON(t, dir, append(a("put release --compare --rounds 3 --inflight 1,2 --resources 30"), short...)...)
	if len(rep.Steps) != 12 {
		t.Fatalf("%d steps, want 3 rounds x 2 workloads x 2 loads", len(rep.Steps))
	}
	for i, s := range rep.Steps {
		if want, w := i/4+1, []string{"put", "release"}[i%2]; s.Round != want || s.Workload != w {
			t.Fatalf("step %d: %s in round %d, want %s in round %d", i, s.Workload, s.Round, w, want)
		}
		if s.Settle != nil {
			t.Fatalf("step %d waited to settle on the embedded ledger: %+v", i, s.Settle)
		}
	}
	if len(rep.Ratios) != 6 || rep.Ratios[5].Round != 3 {
		t.Fatalf("ratios %+v", rep.Ratios)
	}
	g := rep.Goals[0]
	if len(g.Rounds) != 3 || !strings.Contains(g.Capacity, "median of 3 rounds") {
		t.Fatalf("goal %+v", g)
	}
	// (Rounds are rounded to 0.001: a median that close to the goal could go either way.)
	if med := median(g.Rounds); math.Abs(med-0.7) > 0.001 && g.Met != (med >= 0.7) {
		t.Fatalf("goal %+v: met %v with a median of %.3f", g, g.Met, med)
	}

	// The table: a line per step, the ratios and the goals.
	r := fedmeter(dir, "", a("bench --compare --inflight 1 --batch 5 --resources 20 --usage-resources 10 --usage-head-start 2s --warmup 0s --duration 150ms")...)
	if r.code != 0 {
		t.Fatalf("bench --compare: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	for _, w := range []string{"WORKLOAD", "usage x5", "release", "bills", "Ratios to the baseline", "release tx/s", "usage records/s", ">= 50x", "Goals", "AT CAPACITY", "0 endorsement mismatches"} {
		if !strings.Contains(r.out, w) {
			t.Fatalf("bench --compare lacks %q:\n%s", w, r.out)
		}
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{0.6}, 0.6},
		{[]float64{0.9, 0.5, 0.6}, 0.6},
		{[]float64{0.8, 0.5, 0.6, 0.7}, 0.65},
	} {
		if got := median(c.in); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestGoalDigits(t *testing.T) {
	for _, c := range []struct {
		v, want float64
		digits  int
		shown   string
	}{
		{0.6, 0.7, 2, "0.60"},    // far from the goal
		{0.717, 0.7, 2, "0.72"},  // met, and reads met
		{0.697, 0.7, 2, "0.697"}, // not met: 0.70 would read as met
		{0.6999, 0.7, 2, "0.6999"},
		{49.96, 50, 1, "49.96"},
		{50.04, 50, 1, "50.0"},
	} {
		d := goalDigits(c.v, c.want, c.digits)
		if got := strconv.FormatFloat(c.v, 'f', d, 64); got != c.shown {
			t.Errorf("goalDigits(%v, %v, %d) shows %s, want %s", c.v, c.want, c.digits, got, c.shown)
		}
	}
}

func TestErrorKind(t *testing.T) {
	for _, c := range []struct {
		msg, kind string
		mismatch  bool
	}{
		{"UsageSubmit failed at the gateway 127.0.0.1:7051: failed to collect enough transaction endorsements: ProposalResponsePayloads do not match", "endorsement_mismatch", true},
		{"ResourceRelease was endorsed but not committed: the peers marked it MVCC_READ_CONFLICT", "mvcc_conflict", false},
		{"Put failed at the gateway: exceeding concurrency limit (500)", "gateway_busy", false},
		{"Put timed out at the gateway 127.0.0.1:7051", "timeout", false},
	} {
		kind, mm := errorKind(errString(c.msg))
		if kind != c.kind || mm != c.mismatch {
			t.Errorf("%q: %s %v, want %s %v", c.msg, kind, mm, c.kind, c.mismatch)
		}
	}
}

type errString string

func (e errString) Error() string { return string(e) }

// TestPeriodPair: the synthetic usage periods are every (start, end) with
// base <= start < end, each once, ordered by end.
func TestPeriodPair(t *testing.T) {
	const base = 1000
	seen := map[[2]int64]bool{}
	prevEnd := int64(base)
	for k := uint64(0); k < 5050; k++ { // every pair with end <= base+100
		s, e := periodPair(base, k)
		if s < base || e <= s || e < prevEnd || e > base+100 {
			t.Fatalf("pair %d = (%d, %d) after end %d", k, s, e, prevEnd)
		}
		if seen[[2]int64{s, e}] {
			t.Fatalf("pair %d = (%d, %d) repeats", k, s, e)
		}
		seen[[2]int64{s, e}] = true
		prevEnd = e
	}
	for _, c := range []struct {
		k    uint64
		s, e int64
	}{{0, 0, 1}, {1, 0, 2}, {2, 1, 2}, {3, 0, 3}, {5, 2, 3}, {6, 0, 4}, {1 << 40, 1335181, 1482910}} {
		if s, e := periodPair(0, c.k); s != c.s || e != c.e {
			t.Errorf("periodPair(0, %d) = (%d, %d), want (%d, %d)", c.k, s, e, c.s, c.e)
		}
	}
}

// TestSlotOf: the usage workload's slots cover each (resource, period) of
// the pool once, p periods of a resource in a row.
func TestSlotOf(t *testing.T) {
	for _, c := range []struct{ pool, p uint64 }{{5, 1}, {5, 3}, {1, 4}, {7, 24}} {
		seen := map[[2]uint64]bool{}
		n := c.pool * c.p * 3
		for k := uint64(0); k < n; k++ {
			res, period := slotOf(k, c.pool, c.p)
			if res >= c.pool || period >= 3*c.p {
				t.Fatalf("pool %d, p %d: slot %d = (%d, %d) out of range", c.pool, c.p, k, res, period)
			}
			if seen[[2]uint64{res, period}] {
				t.Fatalf("pool %d, p %d: slot %d = (%d, %d) repeats", c.pool, c.p, k, res, period)
			}
			seen[[2]uint64{res, period}] = true
			if k%c.p != 0 { // within a run: the same resource, the next period
				pr, pp := slotOf(k-1, c.pool, c.p)
				if pr != res || pp+1 != period {
					t.Fatalf("pool %d, p %d: slot %d = (%d, %d) does not follow (%d, %d)", c.pool, c.p, k, res, period, pr, pp)
				}
			}
		}
	}
}

// TestWaitQuiet: --settle's wait ends at once on processes at rest, and
// runs to its limit on a busy one (a shell loop standing in for a peer
// compacting its LevelDB).
func TestWaitQuiet(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs Linux /proc")
	}
	start := func(t *testing.T, name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		dir := t.TempDir()
		if err := os.MkdirAll(filepath.Join(dir, "run"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "run", "peer0.org1.pid"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	ctx := context.Background()

	idle := 0.0
	st := waitQuiet(ctx, start(t, "sleep", "60"), time.Minute, &idle)
	if st == nil || !st.Quiet || st.Seconds > 3 || st.CPUMsPerSec > quietSlack {
		t.Fatalf("a sleeping process: %+v", st)
	}

	idle = 10 // ms a second: the network at rest, seen earlier in the run
	st = waitQuiet(ctx, start(t, "sh", "-c", "while :; do :; done"), 3*time.Second, &idle)
	if st == nil || st.Quiet || st.Seconds < 3 || st.CPUMsPerSec < 200 || st.IdleMsPerSec != 10 {
		t.Fatalf("a busy process: %+v", st)
	}

	if st := waitQuiet(ctx, t.TempDir(), time.Minute, &idle); st != nil {
		t.Fatalf("no processes to read: %+v", st)
	}
}
