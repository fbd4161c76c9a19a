package main

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

	"github.com/fedmeter/fedmeter/cli/client"
)

// benchJSON runs fmbench with -o json and decodes its report.
func benchJSON(t *testing.T, dir string, args ...string) *benchReport {
	t.Helper()
	r := fmbench(dir, append([]string{"-o", "json"}, args...)...)
	if r.code != 0 {
		t.Fatalf("fmbench %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.out, r.errOut)
	}
	var rep benchReport
	if err := json.Unmarshal([]byte(r.out), &rep); err != nil {
		t.Fatalf("fmbench %s: stdout is not the JSON report (%v):\n%s", strings.Join(args, " "), err, r.out)
	}
	return &rep
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

// TestBench runs every workload of fmbench on the embedded ledger,
// briefly, and checks its counts against the ledger: the usage records and
// the bills it reports are the ones the ledger holds.
func TestBench(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "ledger")
	initLedger(t, dir)
	ctx := context.Background()
	short := []string{"--warmup", "0s", "--duration", "300ms"}

	// Refusals, before anything is set up.
	refuse(t, dir, []refusal{
		{name: "no workload", args: nil, code: 1, err: []string{"needs a workload", "fmbench --help"}},
		{name: "unknown workload", args: a("usage nope"), code: 1, err: []string{`"nope" is not a workload`}},
		{name: "bad batch", args: a("usage --batch 1001"), code: 1, err: []string{"--batch 1001 is not valid"}},
		{name: "bad inflight", args: a("put --inflight 0"), code: 1, err: []string{"--inflight \"0\" is not valid"}},
		{name: "rate with two inflight", args: a("put --rate 10 --inflight 1,2"), code: 1, err: []string{"with --rate, --inflight is one number"}},
		{name: "bad rounds", args: a("put --rounds 0"), code: 1, err: []string{"--rounds 0 is not valid"}},
		{name: "bad settle", args: a("put --settle -1s"), code: 1, err: []string{"--settle must not be negative"}},
		{name: "bad goal", args: a("--compare --goal release=x"), code: 1, err: []string{`--goal "release=x" is not valid`}},
		{name: "unknown goal", args: a("--compare --goal quote=1"), code: 1, err: []string{`--goal "quote=1" is not valid`}},
		{name: "goal twice", args: a("--compare --goal usage=50 --goal usage=40"), code: 1, err: []string{"--goal names usage twice"}},
		{name: "goal without compare", args: a("put --goal release=0.7"), code: 1, err: []string{"--goal needs --compare"}},
		{name: "unknown flag", args: a("put --nope"), code: 1, err: []string{"nope"}},
		{name: "no rule", args: append(a("release --resources 2"), short...), code: 1, err: []string{"no rule is active for type ecs", "--rule MODULE.wasm"}},
		{name: "json error", args: a("-o json"), code: 1, err: []string{`"kind":"invalid"`}},
	})

	// usage: batches of 10 records (5 resources x 2 metrics a period).
	rep := benchJSON(t, dir, append(a("usage --inflight 2 --batch 10 --usage-resources 5 --usage-head-start 2s"), short...)...)
	if len(rep.Steps) != 1 || rep.Identity != "Org1MSP" || rep.Chaincode != "fedmeter" {
		t.Fatalf("report: %+v", rep)
	}
	us := rep.Steps[0]
	checkStep(t, us, "usage", 10)
	var usageRes []string
	held := 0
	withLedger(t, dir, func(cl *client.Client) {
		rs, err := cl.Resources(ctx, "provider", "")
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if r.Attributes["bench"] == rep.Run {
				usageRes = append(usageRes, r.ID)
			}
		}
		for _, id := range usageRes {
			recs, err := cl.Usage(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range recs {
				if !strings.HasPrefix(u.ID, "u-") {
					t.Fatalf("usage record %+v: the bench's IDs are derived", u)
				}
			}
			held += len(recs)
		}
	})
	if len(usageRes) != 5 {
		t.Fatalf("the bench's usage resources on the ledger: %v, want 5", usageRes)
	}
	// One group of 5 resources: one batch of 10 sent before the step.
	if rep.UsagePrimed != 10 {
		t.Fatalf("usage primed with %d records, want one batch of 10", rep.UsagePrimed)
	}
	if int64(held) != int64(us.AllRecords)+rep.UsagePrimed {
		t.Fatalf("the ledger holds %d usage records of %v; the bench reported %d and %d primed", held, usageRes, us.AllRecords, rep.UsagePrimed)
	}

	// release: a pool of 25 resources, released by 4 clients until the
	// pool is empty; every release is a bill on the ledger.
	rep = benchJSON(t, dir, append(a("release --inflight 4 --resources 25 --duration 20s --rule"), wasm("ecs_hourly.wasm"), "--warmup", "0s")...)
	rel := rep.Steps[0]
	checkStep(t, rel, "release", 0)
	if !rel.PoolExhausted || rel.AllTx != 25 || rel.Seconds >= 20 {
		t.Fatalf("release: pool exhausted %v, %d released, %.1f s", rel.PoolExhausted, rel.AllTx, rel.Seconds)
	}
	withLedger(t, dir, func(cl *client.Client) {
		if bills, err := cl.Bills(ctx, client.BillFilter{Role: "provider"}); err != nil || len(bills) != 25 {
			t.Fatalf("the provider has %d bills (%v), want the 25 the bench released", len(bills), err)
		}
	})

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
	rep = benchJSON(t, dir, append(a("--compare --goal release=0.7 --goal usage=50 --inflight 1,2 --batch 5 --resources 40 --usage-resources 10 --usage-head-start 2s"), short...)...)
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
	if g := rep.Goals[2]; g.Goal != "0 endorsement mismatches" || g.Met == nil || !*g.Met {
		t.Fatalf("goal %+v", g)
	}
	if g := rep.Goals[0]; g.Goal != "release-and-bill >= 0.7x Put tx/s" || g.Met == nil {
		t.Fatalf("goal %+v: --goal release=0.7 judges it", g)
	}
	for _, r := range rep.Ratios {
		if want := map[string]float64{"release tx/s": 0.7, "usage records/s": 50}[r.Name]; r.Goal != want {
			t.Fatalf("ratio %+v: goal %v, want %v", r, r.Goal, want)
		}
	}

	// --rounds: the steps again, round after round; each goal on the
	// median round.
	rep = benchJSON(t, dir, append(a("put release --compare --goal release=0.7 --rounds 3 --inflight 1,2 --resources 30"), short...)...)
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
	if med := median(g.Rounds); g.Met == nil || math.Abs(med-0.7) > 0.001 && *g.Met != (med >= 0.7) {
		t.Fatalf("goal %+v: met %v with a median of %.3f", g, g.Met, med)
	}

	// The table: a line per step, the ratios and the figures at capacity,
	// judged where --goal gives a goal (usage) and only reported where it
	// does not (release).
	r := fmbench(dir, a("--compare --goal usage=50 --inflight 1 --batch 5 --resources 20 --usage-resources 10 --usage-head-start 2s --warmup 0s --duration 150ms")...)
	if r.code != 0 {
		t.Fatalf("fmbench --compare: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	for _, w := range []string{"WORKLOAD", "usage x5", "release", "bills", "Ratios to the baseline", "release tx/s", "usage records/s", ">= 50x", "Capacity and goals", "AT CAPACITY", "release-and-bill / Put tx/s", "0 endorsement mismatches"} {
		if !strings.Contains(r.out, w) {
			t.Fatalf("fmbench --compare lacks %q:\n%s", w, r.out)
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
	// A fake clock that moves only when settle waits, and a fake reader
	// that reports the CPU a script says: nothing depends on the speed of
	// the machine running the test (issue 19, item 10).
	type clock struct{ t time.Time }
	newClock := func() (*clock, func(time.Duration) <-chan time.Time, func() time.Time) {
		c := &clock{t: time.Unix(0, 0)}
		after := func(d time.Duration) <-chan time.Time {
			c.t = c.t.Add(d)
			ch := make(chan time.Time, 1)
			ch <- c.t
			return ch
		}
		return c, after, func() time.Time { return c.t }
	}
	// reader reports the peers' total CPU growing by ratePerSec ms per
	// second of fake time.
	reader := func(c *clock, ratePerSec func(sample int) int64) func() cpuSample {
		var total int64
		n := 0
		last := c.t
		return func() cpuSample {
			total += ratePerSec(n) * int64(c.t.Sub(last)/time.Second)
			last = c.t
			n++
			return cpuSample{ok: true, groups: map[string]int64{"peers": total}}
		}
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name       string
		rate       func(sample int) int64 // ms of CPU per second
		idle       float64
		limit      time.Duration
		quiet      bool
		seconds    float64
		cpu, idle2 float64
	}{
		{"asleep", func(int) int64 { return 0 }, 0, time.Minute, true, 2, 0, 0},
		{"busy until the limit", func(int) int64 { return 1000 }, 10, 6 * time.Second, false, 6, 1000, 10},
		{"busy, then at rest", func(n int) int64 {
			if n < 4 {
				return 800
			}
			return 12
		}, 10, time.Minute, true, 6, 12, 10},
		{"first window sets the idle rate", func(int) int64 { return 5 }, 0, time.Minute, true, 2, 5, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, after, now := newClock()
			idle := tc.idle
			st := settle(ctx, reader(c, tc.rate), after, now, tc.limit, &idle)
			if st == nil || st.Quiet != tc.quiet || st.Seconds != tc.seconds || st.CPUMsPerSec != tc.cpu || st.IdleMsPerSec != tc.idle2 {
				t.Fatalf("settle = %+v, want quiet %v after %vs at %v ms/s (idle %v)", st, tc.quiet, tc.seconds, tc.cpu, tc.idle2)
			}
		})
	}
	t.Run("nothing to read", func(t *testing.T) {
		_, after, now := newClock()
		idle := 0.0
		if st := settle(ctx, func() cpuSample { return cpuSample{} }, after, now, time.Minute, &idle); st != nil {
			t.Fatalf("no processes to read: %+v", st)
		}
	})
	// The real reader, on a real sleeping process: it finds the pid file
	// and reads /proc (no assertion on how much CPU anything got).
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs Linux /proc")
	}
	cmd := exec.Command("sleep", "60")
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
	if s := sampleCPU(dir); !s.ok || len(s.groups) != 1 || s.nodes["peer0.org1"] < 0 {
		t.Fatalf("sampleCPU of a sleeping peer: %+v", s)
	}
	if s := sampleCPU(t.TempDir()); s.ok {
		t.Fatalf("sampleCPU with no pid files: %+v", s)
	}
}

// TestUsageGroups: the usage pool splits into groups of at least one
// batch's resources that cover it exactly, and batches in flight together
// hold disjoint groups, each (resource, metric, period) sent once.
func TestUsageGroups(t *testing.T) {
	if got := usageGroupSize(500, 1); got != 250 {
		t.Errorf("usageGroupSize(500, 1) = %d, want 250", got)
	}
	if got := usageGroupSize(501, 24); got != 11 {
		t.Errorf("usageGroupSize(501, 24) = %d, want 11", got)
	}
	for _, c := range []struct{ n, per, groups int }{{500, 250, 2}, {8000, 250, 32}, {8100, 250, 32}, {5, 250, 1}, {7, 2, 3}} {
		gs := usageGroups(c.n, c.per)
		if len(gs) != c.groups {
			t.Fatalf("usageGroups(%d, %d): %d groups, want %d", c.n, c.per, len(gs), c.groups)
		}
		next := 0
		for _, g := range gs {
			if g.lo != next || g.hi <= g.lo || (c.n >= c.per && g.hi-g.lo < c.per) {
				t.Fatalf("usageGroups(%d, %d): group [%d, %d) after %d", c.n, c.per, g.lo, g.hi, next)
			}
			next = g.hi
		}
		if next != c.n {
			t.Fatalf("usageGroups(%d, %d) ends at %d", c.n, c.per, next)
		}
	}

	env := &benchEnv{usageBase: time.Now().Unix() - 1_000_000, usagePeriods: 1}
	for i := range 12 {
		env.usagePool = append(env.usagePool, fmt.Sprintf("r%d", i))
	}
	env.usageGroups = usageGroups(len(env.usagePool), usageGroupSize(6, 1)) // 3 resources a batch: 4 groups
	env.usageFree = make(chan *usageGroup, len(env.usageGroups))
	for _, g := range env.usageGroups {
		env.usageFree <- g
	}
	ctx := context.Background()
	sent := map[string]bool{}
	var releases []func()
	held := map[string]int{}
	for b := range 4 {
		recs, release, err := env.usageBatch(ctx, 6)
		if err != nil {
			t.Fatal(err)
		}
		releases = append(releases, release)
		for _, r := range recs {
			if o, ok := held[r.Resource]; ok && o != b {
				t.Fatalf("batches %d and %d in flight together both report %s", o, b, r.Resource)
			}
			held[r.Resource] = b
			k := fmt.Sprintf("%s/%s/%d/%d", r.Resource, r.Metric, r.Start, r.End)
			if sent[k] {
				t.Fatalf("record %s sent twice", k)
			}
			sent[k] = true
		}
	}
	// Every group is held: a fifth batch waits for one.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, _, err := env.usageBatch(short, 6); err == nil {
		t.Fatal("a fifth batch got resources while four groups were held")
	}
	releases[2]()
	for range 3 { // the same group again: its next periods
		recs, release, err := env.usageBatch(ctx, 6)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if held[r.Resource] != 2 {
				t.Fatalf("after batch 2's release a batch reports %s of batch %d", r.Resource, held[r.Resource])
			}
			k := fmt.Sprintf("%s/%s/%d/%d", r.Resource, r.Metric, r.Start, r.End)
			if sent[k] {
				t.Fatalf("record %s sent twice", k)
			}
			sent[k] = true
		}
		release()
	}
}
