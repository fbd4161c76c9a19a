package app

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fedmeter/fedmeter/chaincode"
	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/urfave/cli/v2"
)

const benchHelp = `Measures the ledger under load: fedmeter's own transactions, and the same
network running a trivial Put/Get contract as the baseline they are compared
with. Works on the embedded ledger (--data) and on Fabric (--profile).

WORKLOADS (one or more; each runs at every load given):
   usage     UsageSubmit of --batch records per transaction (writes; records/s):
             cpu_seconds and egress_gib of --usage-resources resources over
             periods, IDs derived by the contract, as a metering agent sends
             them (one period of every resource in turn); --usage-periods N
             sends N periods of each resource in a row instead, as a bulk
             import of past usage does. Setup, not timed: request and
             activate those resources
   release   ResourceRelease of an active resource: the rule bills it (writes).
             Setup, not timed: request and activate a pool of resources
   quote     BillQuote: the active rule prices a server for a day (reads)
   bills     BillListByProvider: one page of 50 of the provider's bills (reads)
   put       the baseline: Put(key, value) of a fresh key on --baseline-chaincode
   get       the baseline: Get(key) on --baseline-chaincode

LOAD: --inflight N keeps N operations in flight (closed loop: the maximum
the ledger sustains with N clients); --rate R starts R operations a second
whatever happens (open loop; latency counts from when each was due, and
--inflight caps how many wait). Both take a comma list, one step each:
--inflight 1,32,128. Each step warms up for --warmup, then measures
--duration: tx/s (records/s for usage), p50/p99/max latency, errors by kind
and endorsement mismatches (endorsers that computed different results).

--compare runs each of fedmeter's workloads right after its baseline at
the same load, so that the two steps of a ratio run seconds apart: put then
release at each load, get then quote and bills at each load, then put
again and usage at each load (usage last: the compaction a heavy writer
leaves behind slows the next steps for a minute and more). The release
pool is set up before its Put. It prints fedmeter's figures as ratios of
the baseline step before them, and the goals: release >= 0.7x Put tx/s,
usage records/s >= 50x Put tx/s (each judged at capacity: the best figure
of any load over the best of the Put steps it was paired with), no
endorsement mismatches.

--rounds N runs all the steps N times, round after round, and judges each
goal on the median of the rounds' ratios: on a shared machine the same
transaction's CPU cost drifts by a third within minutes, and a single Put
step and release step a minute apart can read 0.5x or 0.8x. On Fabric with
--netdir, each step first waits (up to --settle, default 1m) for the
network's CPU to fall back to its rate at rest (the lowest the run has
seen, x1.5): the compaction a heavy step leaves behind would slow the next.

SETUP (done by the bench, not timed): the caller's org is the provider. It
needs a consortium with the type ecs (fedmeter init makes one). The bench
publishes ecs prices and grants the consumer a quota for the pool if there
are none, and the workloads that bill (release, quote, bills) need a rule
active for ecs: if none is, --rule MODULE.wasm is uploaded, approved and
activated (by the provider, the consumers and the --voter identities, who
must be admins). Resources are named bench-<run>-<n>. Usage periods are
synthetic: every (start, end) pair after the resources' activation, one
record per metric, each resource and period once. A consumer is --consumer: ORG/USER on the embedded ledger
(default: User1 of another local org), a connection profile on Fabric
(repeat it to spread the pool over several consumers). The setup leaves
its prices, quota, rule, resources, usage and bills on the ledger: run the
bench on a ledger made for it.

FABRIC: with --netdir (the network's state folder, ~/.fedmeter/fabric) it
also reports the CPU the network's processes spent per transaction (peers,
orderers, chaincode services; Linux) and counts mismatches the peers logged.
With --node-profiles DIR, on a network started with FEDMETER_PPROF=1, it
also saves a CPU profile of every node over each step's measured window
(DIR/<nn>-<workload>-<load>/<node>.pprof; go tool pprof reads them).

Examples:
   fedmeter init --data /tmp/b && fedmeter --data /tmp/b bench usage release --rule build/rules/ecs.wasm
   fedmeter --profile ~/.fedmeter/fabric/profiles/org1-admin.yaml bench --compare \
       --consumer ~/.fedmeter/fabric/profiles/org2-admin.yaml --rule build/rules/ecs.wasm \
       --inflight 1,32,128 --netdir ~/.fedmeter/fabric
   network/fabric/bench.sh runs that comparison on the seed network (network/fabric/README.md).`

var benchWorkloads = []string{"put", "usage", "release", "get", "quote", "bills"}

// stepAt is one step of a run: a workload at a load, in a round (0
// without --rounds).
type stepAt struct {
	w     string
	ls    loadSpec
	round int
}

// compareGroups are --compare's pairings: each baseline, then the
// fedmeter workloads compared with it. Usage comes last: a step that
// writes a lot leaves the peers' LevelDB compacting for a minute and more,
// and whatever runs next pays for it (Put on a ledger left quiet: 226/s at
// 8.4 ms of CPU each; on the same ledger right after a usage step: 161/s
// at 12 ms). --settle waits that out too.
var compareGroups = [][]string{{"put", "release"}, {"get", "quote", "bills"}, {"put", "usage"}}

// compareSteps is the order --compare runs its steps in: group by group,
// load by load, each baseline right before the workloads compared with it
// (put, release at 1; put, release at 32; ...; get, quote, bills at 1;
// ...; put, usage at 1; ...). A ratio then compares steps seconds apart:
// on a shared machine a transaction's CPU cost drifts by a third within
// minutes (the same Put ran at 7.7 and at 13.2 ms of network CPU the same
// day), and steps minutes apart compare the machine's moods as much as the
// transactions. A baseline named without any of its workloads runs alone.
func compareSteps(work []string, loads []loadSpec, round int) []stepAt {
	var out []stepAt
	ran := map[string]bool{}
	for _, g := range compareGroups {
		var ws []string
		for _, w := range g[1:] {
			if slices.Contains(work, w) {
				ws = append(ws, w)
			}
		}
		if len(ws) == 0 {
			continue
		}
		ran[g[0]] = true
		for _, ls := range loads {
			out = append(out, stepAt{g[0], ls, round})
			for _, w := range ws {
				out = append(out, stepAt{w, ls, round})
			}
		}
	}
	for _, b := range []string{"put", "get"} {
		if slices.Contains(work, b) && !ran[b] {
			for _, ls := range loads {
				out = append(out, stepAt{b, ls, round})
			}
		}
	}
	return out
}

func benchCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:        "bench",
		Category:    "Ledger",
		Usage:       "load-test the ledger: usage, release-and-bill, quotes and bill lists against a trivial Put/Get baseline",
		UsageText:   "fedmeter bench WORKLOAD... [--inflight N,...|--rate R,...] [--duration D] [--batch N] [--compare] [--rule MODULE.wasm] [--consumer WHO]...",
		Description: benchHelp,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "inflight", Usage: "operations in flight, `N` or a comma list (one step each); with --rate, the most that may wait (default 32, with --rate 1000)"},
			&cli.StringFlag{Name: "rate", Usage: "open loop: start `R` operations a second (a comma list: one step each) instead of keeping --inflight busy"},
			&cli.DurationFlag{Name: "duration", Value: 10 * time.Second, Usage: "measured time per step, `D`"},
			&cli.DurationFlag{Name: "warmup", Value: 3 * time.Second, Usage: "unmeasured time before each step, `D`"},
			&cli.IntFlag{Name: "batch", Value: 500, Usage: "usage: records per transaction, `N` (1 to 1000)"},
			&cli.DurationFlag{Name: "usage-head-start", Value: 10 * time.Second, Usage: "usage: time from the resources' activation to the first batch, `D`, for the synthetic periods to accumulate (not timed)"},
			&cli.IntFlag{Name: "usage-periods", Value: 1, Usage: "usage: consecutive periods of each resource in a batch, `N`: 1 is a metering agent sending every resource's last period, more a bulk import (24: a day of hourly records per resource)"},
			&cli.IntFlag{Name: "usage-resources", DefaultText: "500 on Fabric, 4000 embedded", Usage: "usage: resources the records are spread over, `N` (set up once per run, not timed)"},
			&cli.IntFlag{Name: "resources", DefaultText: "auto", Usage: "release: resources to prepare per step, `N` (default: enough for the baseline's rate, or 200/s on Fabric, 2000/s embedded, over warm-up and duration)"},
			&cli.StringSliceFlag{Name: "consumer", Usage: "the consumer that requests the resources, `WHO`: ORG/USER (embedded) or a profile FILE (Fabric); repeat to spread them"},
			&cli.StringSliceFlag{Name: "voter", Usage: "another org admin to approve --rule, `WHO`: ORG/USER (embedded) or a profile FILE (Fabric)"},
			&cli.StringFlag{Name: "rule", Usage: "Wasm `MODULE` to upload, approve and activate for ecs if no rule is active (e.g. build/rules/ecs.wasm from make rules)"},
			&cli.StringFlag{Name: "baseline-chaincode", Value: "putget", Usage: "the trivial Put/Get contract's chaincode `NAME` on the same network (Fabric)"},
			&cli.BoolFlag{Name: "compare", Usage: "run the baseline (put, get) and fedmeter's workloads at each load and print ratios and goals"},
			&cli.IntFlag{Name: "rounds", Value: 1, Usage: "run every step `N` times, round after round; --compare judges the goals on the median round"},
			&cli.DurationFlag{Name: "settle", Value: time.Minute, Usage: "Fabric with --netdir: before each step, wait up to `D` for the network's CPU to fall back to its idle level (0: do not wait)"},
			&cli.StringFlag{Name: "netdir", Usage: "Fabric network state `DIR` (network.sh's, e.g. ~/.fedmeter/fabric): CPU per transaction and the peers' mismatch logs"},
			&cli.StringFlag{Name: "node-profiles", Usage: "with --netdir, on a network started with FEDMETER_PPROF=1: a CPU profile of every node over each step's measured window, in `DIR`/<nn>-<workload>-<load>/<node>.pprof (go tool pprof)"},
		},
		Action: func(c *cli.Context) error { return st.bench(c) },
	}
}

// benchReport is the JSON document of a run.
type benchReport struct {
	Backend   string        `json:"backend"`
	Identity  string        `json:"identity"`
	Chaincode string        `json:"chaincode"`
	Baseline  string        `json:"baseline_chaincode,omitempty"`
	Run       string        `json:"run"`
	Steps     []*benchStep  `json:"steps"`
	Ratios    []*benchRatio `json:"ratios,omitempty"`
	Goals     []*benchGoal  `json:"goals,omitempty"`
}

// benchRatio is a fedmeter workload's figure over the baseline's at one load.
type benchRatio struct {
	Round    int     `json:"round,omitempty"` // with --rounds
	Load     string  `json:"load"`
	Name     string  `json:"name"`
	Value    float64 `json:"value"`
	Of       string  `json:"of"`
	Baseline float64 `json:"baseline"`
	Ratio    float64 `json:"ratio"`
	Goal     float64 `json:"goal,omitempty"`
}

// benchGoal is one of issue 7's goals over the whole run.
type benchGoal struct {
	Goal string `json:"goal"`
	// Capacity compares the best figure of any load with the best of the
	// baseline steps it was paired with (the goal's measure: the Put TPS the
	// network can do); SameLoad is the range of the ratios at equal loads.
	Capacity string `json:"capacity"`
	SameLoad string `json:"same_load,omitempty"`
	// Rounds is each round's ratio at capacity (with --rounds); the goal
	// is judged on their median.
	Rounds []float64 `json:"rounds,omitempty"`
	Met    bool      `json:"met"`
}

func (st *state) bench(c *cli.Context) error {
	work, err := args(c, 0, -1, "WORKLOAD...")
	if err != nil {
		return err
	}
	known := map[string]bool{}
	for _, w := range benchWorkloads {
		known[w] = true
	}
	for _, w := range work {
		if !known[w] {
			return usageErr(c, "%q is not a workload: they are usage, release, quote, bills, put and get", w)
		}
	}
	compare := c.Bool("compare")
	if len(work) == 0 && !compare {
		return usageErr(c, "fedmeter bench needs a workload (usage, release, quote, bills, put, get) or --compare")
	}
	if compare {
		want := map[string]bool{}
		for _, w := range work {
			want[w] = true
		}
		if len(work) == 0 {
			for _, w := range benchWorkloads {
				want[w] = true
			}
		}
		if want["usage"] || want["release"] {
			want["put"] = true
		}
		if want["quote"] || want["bills"] {
			want["get"] = true
		}
		work = work[:0]
		for _, w := range benchWorkloads {
			if want[w] {
				work = append(work, w)
			}
		}
	} else {
		// Story order, each once.
		seen := map[string]bool{}
		var ordered []string
		for _, w := range benchWorkloads {
			for _, x := range work {
				if x == w && !seen[w] {
					seen[w] = true
					ordered = append(ordered, w)
				}
			}
		}
		work = ordered
	}
	loads, err := benchLoads(c)
	if err != nil {
		return err
	}
	if b := c.Int("batch"); b < 1 || b > client.MaxUsageBatch {
		return usageErr(c, "--batch %d is not valid: it must be between 1 and %d", b, client.MaxUsageBatch)
	}
	if c.Duration("usage-head-start") < 0 {
		return usageErr(c, "--usage-head-start must not be negative")
	}
	if n := c.Int("usage-periods"); n < 1 || n > 1000 {
		return usageErr(c, "--usage-periods %d is not valid: it must be 1 to 1000", n)
	}
	if c.Int("usage-resources") < 0 {
		return usageErr(c, "--usage-resources %d is not valid: it must be positive", c.Int("usage-resources"))
	}
	if c.Int("resources") < 0 {
		return usageErr(c, "--resources %d is not valid: it must be positive", c.Int("resources"))
	}
	if n := c.Int("rounds"); n < 1 || n > 100 {
		return usageErr(c, "--rounds %d is not valid: it must be 1 to 100", n)
	}
	if c.Duration("settle") < 0 {
		return usageErr(c, "--settle must not be negative")
	}
	if c.String("at") != "" {
		return usageErr(c, "--at cannot be used with bench: the bench measures with the clock")
	}
	if f := c.String("rule"); f != "" {
		if _, err := os.Stat(f); err != nil {
			return client.Errorf(client.KindInvalid, "--rule %s cannot be read: %v", f, errUnwrap(err)).
				WithHint("build the standard rule with `make rules` (build/rules/ecs.wasm)")
		}
	}
	if d := c.String("netdir"); d != "" {
		if _, err := os.Stat(d); err != nil {
			return client.Errorf(client.KindNotFound, "--netdir %s cannot be read: %v", d, errUnwrap(err)).
				WithHint("give the Fabric network's state folder (FEDMETER_NET_DIR of network.sh, default ~/.fedmeter/fabric)")
		}
	}
	profiler, err := benchProfiler(c)
	if err != nil {
		return err
	}

	env, err := st.openBench(c)
	if err != nil {
		return err
	}
	defer env.close()
	env.profiler = profiler
	p := st.printer(c)
	rep := &benchReport{Backend: env.backendName(), Identity: env.provider, Chaincode: env.chaincode(), Run: env.run, Steps: []*benchStep{}}
	for _, w := range work {
		if w == "put" || w == "get" {
			rep.Baseline = c.String("baseline-chaincode")
		}
	}
	p.Printf("fedmeter bench on %s as %s (run %s): %s of warm-up, then %s measured per step\n",
		rep.Backend, env.provider, env.run, c.Duration("warmup"), c.Duration("duration"))
	if st := env.settle(c.Context); st != nil {
		p.Printf("The network at rest: %.0f ms of CPU a second (--settle waits for that level before each step)\n", st.IdleMsPerSec)
	}
	head := []string{"WORKLOAD", "LOAD", "TX", "TX/S", "RECORDS/S", "P50 MS", "P99 MS", "MAX MS", "CPU MS/TX", "MISMATCHES", "ERRORS"}
	var rows [][]string
	p.Printf("%s\n", streamRow(head))
	if slices.Contains(work, "usage") {
		// Early, so that the synthetic periods (usageBatch) have time to
		// accumulate while the steps before usage run.
		if err := env.prepareUsage(c.Context); err != nil {
			return err
		}
	}
	var order []stepAt
	rounds := c.Int("rounds")
	for r := 1; r <= rounds; r++ {
		round := r
		if rounds == 1 {
			round = 0
		}
		if compare {
			order = append(order, compareSteps(work, loads, round)...)
		} else {
			for _, ls := range loads {
				for _, w := range work {
					order = append(order, stepAt{w, ls, round})
				}
			}
		}
	}
	putTPS := map[string]float64{} // by load: sizes the release step's pool
	var ahead *preparedOp          // the next step's setup, done before the step ahead of it
	for i, at := range order {
		w, ls := at.w, at.ls
		if next := i + 1; w == "put" && next < len(order) && order[next].w == "release" {
			// The release pool's setup (~30 s on Fabric) goes before the Put
			// it is compared with, so that the two steps run seconds apart.
			// It is sized by the last Put at that load, if any.
			nl := order[next].ls
			if ahead, err = env.prepareStep(c.Context, "release", nl, putTPS[nl.String()]); err != nil {
				return err
			}
		}
		var pre *preparedOp
		if w == "release" {
			pre, ahead = ahead, nil
		}
		step, err := env.step(c.Context, w, ls, putTPS[ls.String()], pre)
		if err != nil {
			return err
		}
		step.Round = at.round
		if w == "put" {
			putTPS[ls.String()] = step.TxPerSec
		}
		rep.Steps = append(rep.Steps, step)
		row := benchRow(step, env.fabric())
		rows = append(rows, row)
		// One line per step as it finishes: a run can be long.
		p.Printf("%s\n", streamRow(row))
		if step.FirstError != "" {
			p.Printf("  first error: %s\n", step.FirstError)
		}
		if step.NodeProfiles != "" {
			p.Printf("  node profiles: %s\n", step.NodeProfiles)
		}
		if step.ProfileError != "" {
			p.Printf("  %s\n", step.ProfileError)
		}
		if step.UsageWaits > 0 {
			p.Printf("  %d batches waited for their synthetic periods to end; raise --usage-resources to spread the records wider\n", step.UsageWaits)
		}
		if st := step.Settle; st != nil && (!st.Quiet || st.Seconds > settleWindow.Seconds()) {
			how := "settled"
			if !st.Quiet {
				how = "had not settled"
			}
			p.Printf("  before it, the network %s in %.0f s (CPU %.0f ms a second; at rest %.0f)\n", how, st.Seconds, st.CPUMsPerSec, st.IdleMsPerSec)
		}
		if step.PoolExhausted {
			p.Printf("  the prepared resources ran out after %.1f s of measurement (the figures cover that); raise --resources for a longer window\n", step.Seconds)
		}
	}
	if compare {
		rep.Ratios, rep.Goals = benchRatios(rep.Steps)
	}
	if p.json {
		return p.JSON(rep)
	}
	if len(rows) > 1 {
		p.Printf("\nAll steps:\n")
		p.Table("", head, rows)
	}
	if compare {
		printRatios(p, rep)
	}
	return nil
}

func benchRow(s *benchStep, fabric bool) []string {
	rec := "-"
	if s.Workload == "usage" {
		rec = fmt.Sprintf("%.0f", s.RecordsPerSec)
	}
	errs := "0"
	if s.ErrorCount > 0 {
		keys := make([]string, 0, len(s.Errors))
		for k := range s.Errors {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s=%d", k, s.Errors[k])
		}
		errs = strings.Join(parts, ",")
	}
	mm := strconv.Itoa(s.Mismatches)
	if s.LoggedMismatches != nil {
		mm += fmt.Sprintf(" (logged %d)", *s.LoggedMismatches)
	}
	cpu := "-"
	if s.CPU != nil {
		if s.CPU.Network != nil {
			cpu = fmt.Sprintf("%.2f", *s.CPU.Network)
		} else if !fabric {
			cpu = fmt.Sprintf("%.2f", s.CPU.Client) // the ledger runs in this process
		}
	}
	name := s.Workload
	if s.Workload == "usage" {
		name = fmt.Sprintf("usage x%d", s.Batch)
	}
	load := s.Load
	if s.Round > 0 {
		load += fmt.Sprintf(" #%d", s.Round)
	}
	return []string{name, load, strconv.Itoa(s.Tx), fmt.Sprintf("%.1f", s.TxPerSec), rec,
		fmt.Sprintf("%.1f", s.P50Ms), fmt.Sprintf("%.1f", s.P99Ms), fmt.Sprintf("%.1f", s.MaxMs), cpu, mm, errs}
}

// streamRow lays out a row of the results table in fixed columns, for
// printing each step as it finishes.
func streamRow(r []string) string {
	widths := []int{11, 16, 7, 9, 10, 8, 8, 8, 14, 11}
	var b strings.Builder
	for i, x := range r {
		if i < len(widths) {
			fmt.Fprintf(&b, "%-*s ", widths[i], x)
		} else {
			b.WriteString(x)
		}
	}
	return strings.TrimRight(b.String(), " ")
}

func benchLoads(c *cli.Context) ([]loadSpec, error) {
	list := func(flag string) ([]float64, error) {
		var out []float64
		for _, s := range strings.Split(c.String(flag), ",") {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || v <= 0 || math.IsInf(v, 0) || math.IsNaN(v) {
				return nil, usageErr(c, "--%s %q is not valid: give a positive number or a comma list of them", flag, s)
			}
			out = append(out, v)
		}
		return out, nil
	}
	inflight, err := list("inflight")
	if err != nil {
		return nil, err
	}
	rates, err := list("rate")
	if err != nil {
		return nil, err
	}
	for _, n := range inflight {
		if n != math.Trunc(n) || n > 100000 {
			return nil, usageErr(c, "--inflight %v is not valid: give whole numbers of operations (at most 100000)", n)
		}
	}
	if c.Duration("duration") <= 0 || c.Duration("warmup") < 0 {
		return nil, usageErr(c, "--duration must be positive and --warmup not negative")
	}
	base := loadSpec{Warmup: c.Duration("warmup"), Duration: c.Duration("duration")}
	var loads []loadSpec
	if len(rates) > 0 {
		if len(inflight) > 1 {
			return nil, usageErr(c, "with --rate, --inflight is one number: the most operations that may wait")
		}
		cap := 1000
		if len(inflight) == 1 {
			cap = int(inflight[0])
		}
		for _, r := range rates {
			l := base
			l.Rate, l.InFlight = r, cap
			loads = append(loads, l)
		}
		return loads, nil
	}
	if len(inflight) == 0 {
		inflight = []float64{32}
	}
	for _, n := range inflight {
		l := base
		l.InFlight = int(n)
		loads = append(loads, l)
	}
	return loads, nil
}

// ---- the bench's identities and setup ----

type benchEnv struct {
	st        *state
	c         *cli.Context
	main      client.Backend // the provider: measured
	cl        *client.Client
	provider  string
	admin     client.Backend   // the provider's admin (setup)
	consumers []client.Backend // request resources
	voters    []client.Backend // approve --rule
	closers   []func() error
	baseline  client.Backend
	run       string
	seq       atomic.Uint64
	retryMu   sync.Mutex
	retries   map[string]int // failed attempts the gateway backends retried, by kind

	ruleOK       bool          // a rule is active for ecs
	usagePool    []string      // resources the usage workload reports on
	usageBase    int64         // the latest of their activation times
	usageSlot    atomic.Uint64 // next (resource, period) slot
	usagePeriods uint64        // periods of a resource in a row (--usage-periods)
	usageWaits   atomic.Int64  // batches that waited for their periods to end
	getKey       string
	quoteArgs    []string
	billsOK      bool
	nextCons     atomic.Uint64
	idleCPU      float64       // the network's lowest CPU rate seen, ms a second (settle)
	profiler     *nodeProfiler // --node-profiles, or nil
	steps        int           // steps run so far (names the profiles' folders)
}

const (
	benchType = "ecs"
	benchDays = 30
)

var benchSpec = map[string]int64{"vcpu": 1, "memory_gib": 1, "system_disk_gib": 1}

func (st *state) openBench(c *cli.Context) (*benchEnv, error) {
	main, err := st.open(c)
	if err != nil {
		return nil, err
	}
	var rb [4]byte
	rand.Read(rb[:])
	env := &benchEnv{st: st, c: c, main: main, cl: client.New(main), provider: main.MSPID(), run: hex.EncodeToString(rb[:]),
		closers: []func() error{main.Close}, usagePeriods: uint64(c.Int("usage-periods"))}
	env.observe(main)
	ok := false
	defer func() {
		if !ok {
			env.close()
		}
	}()
	if e, isEmb := main.(*client.Embedded); isEmb {
		org, _, _ := strings.Cut(e.Who(), "/")
		if env.admin, err = e.As(org + "/Admin"); err != nil {
			return nil, err
		}
		cons := c.StringSlice("consumer")
		if len(cons) == 0 {
			for _, o := range e.Config().Orgs {
				if o.MSPID != env.provider {
					cons = append(cons, o.Name+"/User1")
					break
				}
			}
		}
		for _, who := range cons {
			b, err := e.As(who)
			if err != nil {
				return nil, err
			}
			env.consumers = append(env.consumers, b)
		}
		voters := c.StringSlice("voter")
		if len(voters) == 0 {
			for _, o := range e.Config().Orgs {
				voters = append(voters, o.Name+"/Admin")
			}
		}
		for _, who := range voters {
			b, err := e.As(who)
			if err != nil {
				return nil, err
			}
			env.voters = append(env.voters, b)
		}
	} else {
		env.admin = main
		open := func(flag, f string) (client.Backend, error) {
			if strings.Contains(f, "/") && !strings.HasSuffix(f, ".yaml") && !strings.HasSuffix(f, ".yml") {
				if _, err := os.Stat(f); err != nil {
					return nil, client.Errorf(client.KindInvalid, "--%s %s is not a connection profile; with --profile, --%s names another org's profile FILE", flag, f, flag).
						WithHint("network.sh writes them: e.g. --%s ~/.fedmeter/fabric/profiles/org2-admin.yaml", flag)
				}
			}
			b, err := client.Open(c.Context, client.Options{Profile: f})
			if err != nil {
				return nil, err
			}
			env.closers = append(env.closers, b.Close)
			env.observe(b)
			return b, nil
		}
		for _, f := range c.StringSlice("consumer") {
			b, err := open("consumer", f)
			if err != nil {
				return nil, err
			}
			if b.MSPID() == env.provider {
				return nil, client.Errorf(client.KindInvalid, "--consumer %s is of %s, the provider (the --profile's org); a consumer is another org", f, b.MSPID()).
					WithHint("give another org's profile, e.g. profiles/org2-admin.yaml")
			}
			env.consumers = append(env.consumers, b)
		}
		env.voters = append(env.voters, main)
		env.voters = append(env.voters, env.consumers...)
		for _, f := range c.StringSlice("voter") {
			b, err := open("voter", f)
			if err != nil {
				return nil, err
			}
			env.voters = append(env.voters, b)
		}
	}
	ok = true
	return env, nil
}

// observe counts the failed attempts a gateway backend retries, by kind
// (endorsement mismatches among them).
func (env *benchEnv) observe(b client.Backend) {
	if g, ok := b.(*client.Gateway); ok {
		g.OnRetry = func(_ string, err error) {
			kind, _ := errorKind(err)
			env.retryMu.Lock()
			if env.retries == nil {
				env.retries = map[string]int{}
			}
			env.retries[kind]++
			env.retryMu.Unlock()
		}
	}
}

func (env *benchEnv) retried() map[string]int {
	env.retryMu.Lock()
	defer env.retryMu.Unlock()
	m := make(map[string]int, len(env.retries))
	for k, v := range env.retries {
		m[k] = v
	}
	return m
}

func (env *benchEnv) close() {
	if env.baseline != nil {
		env.baseline.Close()
	}
	for i := len(env.closers) - 1; i >= 0; i-- {
		env.closers[i]()
	}
}

func (env *benchEnv) fabric() bool {
	_, ok := env.main.(*client.Gateway)
	return ok
}

func (env *benchEnv) backendName() string {
	switch b := env.main.(type) {
	case *client.Gateway:
		p := b.Profile()
		return fmt.Sprintf("Fabric (gateway %s, channel %s)", p.Endpoint, p.Channel)
	case *client.Embedded:
		return "the embedded ledger in " + b.Dir()
	}
	return fmt.Sprintf("%T", env.main)
}

func (env *benchEnv) chaincode() string {
	switch b := env.main.(type) {
	case *client.Gateway:
		return b.Profile().Chaincode
	case *client.Embedded:
		return b.Config().Chaincode
	}
	return ""
}

// note prints a setup message among the results (table output only;
// stderr is for the error alone).
func (env *benchEnv) note(format string, args ...any) {
	if env.st.jsonOn {
		return
	}
	fmt.Fprintf(env.st.io.Stdout, "bench: "+format+"\n", args...)
}

// step prepares workload w (untimed) and measures it under ls.
// preparedOp is a step's operation with its setup done.
type preparedOp struct {
	op    opFunc
	meta  opMeta
	setup time.Duration
}

func (env *benchEnv) prepareStep(ctx context.Context, w string, ls loadSpec, putTPS float64) (*preparedOp, error) {
	t0 := time.Now()
	op, meta, err := env.prepare(ctx, w, ls, putTPS)
	if err != nil {
		return nil, err
	}
	return &preparedOp{op, meta, time.Since(t0)}, nil
}

// step measures workload w at load ls, with its setup done now or, if pre
// is not nil, already.
func (env *benchEnv) step(ctx context.Context, w string, ls loadSpec, putTPS float64, pre *preparedOp) (*benchStep, error) {
	if pre == nil {
		var err error
		if pre, err = env.prepareStep(ctx, w, ls, putTPS); err != nil {
			return nil, err
		}
	}
	op, meta, setup := pre.op, pre.meta, pre.setup
	settle := env.settle(ctx)
	waits := env.usageWaits.Load()
	env.steps++
	var window func(time.Duration) func() error
	profDir := fmt.Sprintf("%02d-%s-%s", env.steps, w, ls)
	if env.profiler != nil {
		window = func(d time.Duration) func() error { return env.profiler.start(ctx, profDir, d) }
	}
	st := runLoad(ctx, ls, op, env.c.String("netdir"), env.retried, window)
	if env.profiler != nil {
		st.NodeProfiles = filepath.Join(env.profiler.dir, profDir)
	}
	st.UsageWaits = env.usageWaits.Load() - waits
	st.Workload, st.Chaincode, st.Function, st.Kind, st.Batch = w, meta.chaincode, meta.fn, meta.kind, meta.batch
	st.SetupSeconds = math.Round(setup.Seconds()*100) / 100
	st.Settle = settle
	if ctx.Err() != nil {
		return nil, client.Errorf(client.KindRule, "the bench was interrupted during %s at %s", w, ls)
	}
	return st, nil
}

type opMeta struct {
	chaincode, fn, kind string
	batch               int
}

func (env *benchEnv) prepare(ctx context.Context, w string, ls loadSpec, putTPS float64) (opFunc, opMeta, error) {
	cc := env.chaincode()
	switch w {
	case "put", "get":
		name := env.c.String("baseline-chaincode")
		if env.baseline == nil {
			b, err := client.OpenBaseline(ctx, env.main, name)
			if err != nil {
				return nil, opMeta{}, err
			}
			env.observe(b)
			env.baseline = b
		}
		b := env.baseline
		if env.getKey == "" {
			// The key Get reads, and a check that the baseline is there.
			k := "bench-" + env.run + "-get"
			if _, err := b.Submit(ctx, "Put", k, "value"); err != nil {
				return nil, opMeta{}, baselineErr(err, name)
			}
			env.getKey = k
		}
		if w == "put" {
			return func(ctx context.Context) (int, error) {
				n := strconv.FormatUint(env.seq.Add(1), 10)
				_, err := b.Submit(ctx, "Put", "bench-"+env.run+"-"+n, "value-"+n)
				return 1, err
			}, opMeta{name, "Put", "write", 0}, nil
		}
		return func(ctx context.Context) (int, error) {
			_, err := b.Evaluate(ctx, "Get", env.getKey)
			return 1, err
		}, opMeta{name, "Get", "read", 0}, nil

	case "usage":
		if err := env.prepareUsage(ctx); err != nil {
			return nil, opMeta{}, err
		}
		batch := env.c.Int("batch")
		return func(ctx context.Context) (int, error) {
			recs, err := env.usageBatch(ctx, batch)
			if err != nil {
				return 0, err
			}
			out, err := env.main.Submit(ctx, "UsageSubmit", client.EncodeUsageBatch(recs))
			if err != nil {
				return 0, err
			}
			var res chaincode.UsageResult
			if err := json.Unmarshal(out, &res); err != nil || res.Accepted != batch {
				return 0, client.Errorf(client.KindRule, "UsageSubmit accepted %d of %d records", res.Accepted, batch)
			}
			return batch, nil
		}, opMeta{cc, "UsageSubmit", "write", batch}, nil

	case "release":
		n := env.c.Int("resources")
		if n == 0 {
			rate := ls.Rate
			if rate == 0 {
				rate = putTPS
			}
			if rate == 0 {
				rate = 2000
				if env.fabric() {
					rate = 200
				}
			}
			n = int(math.Ceil(rate*(ls.Warmup+ls.Duration).Seconds()*1.1)) + ls.InFlight
		}
		if err := env.market(ctx, n, true); err != nil {
			return nil, opMeta{}, err
		}
		ids, err := env.resources(ctx, n)
		if err != nil {
			return nil, opMeta{}, err
		}
		pool := &idPool{ids: ids}
		return func(ctx context.Context) (int, error) {
			id, ok := pool.take()
			if !ok {
				return 0, errPoolEmpty
			}
			rel, err := env.cl.ReleaseResource(ctx, id)
			if err != nil {
				if kind, _ := errorKind(err); kind == "mvcc_conflict" {
					pool.give(id) // not committed: still active, release it again
				}
				return 0, err
			}
			if rel.Bill == nil {
				return 0, client.Errorf(client.KindRule, "ResourceRelease of %s issued no bill", id)
			}
			return 1, nil
		}, opMeta{cc, "ResourceRelease", "write", 0}, nil

	case "quote":
		if err := env.market(ctx, 1, true); err != nil {
			return nil, opMeta{}, err
		}
		if env.quoteArgs == nil {
			// A server for a day from now: the prices and the rule are in
			// force then.
			start := time.Now().Unix()
			env.quoteArgs = []string{env.provider, benchType, `{"memory_gib":4,"public_ips":1,"system_disk_gib":40,"vcpu":2}`, `{"egress_gib":3}`,
				strconv.FormatInt(start, 10), strconv.FormatInt(start+86400, 10), ""}
			if _, err := env.main.Evaluate(ctx, "BillQuote", env.quoteArgs...); err != nil {
				return nil, opMeta{}, err
			}
		}
		return func(ctx context.Context) (int, error) {
			_, err := env.main.Evaluate(ctx, "BillQuote", env.quoteArgs...)
			return 1, err
		}, opMeta{cc, "BillQuote", "read", 0}, nil

	case "bills":
		if !env.billsOK {
			const n = 20
			if err := env.market(ctx, n, true); err != nil {
				return nil, opMeta{}, err
			}
			ids, err := env.resources(ctx, n)
			if err != nil {
				return nil, opMeta{}, err
			}
			env.note("releasing %d resources so that there are bills to list", n)
			for _, id := range ids {
				if _, err := env.cl.ReleaseResource(ctx, id); err != nil {
					return nil, opMeta{}, err
				}
			}
			env.billsOK = true
		}
		args := []string{env.provider, "", "", "50", ""}
		return func(ctx context.Context) (int, error) {
			_, err := env.main.Evaluate(ctx, "BillListByProvider", args...)
			return 1, err
		}, opMeta{cc, "BillListByProvider", "read", 0}, nil
	}
	return nil, opMeta{}, client.Errorf(client.KindInvalid, "%q is not a workload", w)
}

// idPool hands out the prepared resources, each once, except those given
// back (a release that did not commit).
type idPool struct {
	mu  sync.Mutex
	ids []string
}

func (p *idPool) take() (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.ids) == 0 {
		return "", false
	}
	id := p.ids[len(p.ids)-1]
	p.ids = p.ids[:len(p.ids)-1]
	return id, true
}

func (p *idPool) give(id string) {
	p.mu.Lock()
	p.ids = append([]string{id}, p.ids...)
	p.mu.Unlock()
}

func baselineErr(err error, name string) error {
	if ce, ok := err.(*client.Error); ok {
		ce.Hint = fmt.Sprintf("the baseline is a Put/Get chaincode named %s on the same channel: deploy it (FEDMETER_CHAINCODES=\"fedmeter putget\" make network-up) or name it with --baseline-chaincode", name)
	}
	return err
}

// usageMetrics are the metrics an ECS agent reports for each resource and
// period: two records that share one key on the ledger.
var usageMetrics = []string{"cpu_seconds", "egress_gib"}

// prepareUsage requests and activates the resources the usage workload
// reports on (--usage-resources), once per run.
func (env *benchEnv) prepareUsage(ctx context.Context) error {
	if env.usagePool != nil {
		return nil
	}
	n := env.c.Int("usage-resources")
	if n == 0 {
		n = 4000
		if env.fabric() {
			n = 500
		}
	}
	if err := env.market(ctx, n, false); err != nil {
		return err
	}
	ids, err := env.resources(ctx, n)
	if err != nil {
		return err
	}
	var base int64
	for _, id := range ids {
		r, err := env.cl.Resource(ctx, id)
		if err != nil {
			return err
		}
		base = max(base, r.Activated.Time)
	}
	env.usagePool, env.usageBase = ids, base
	// The (start, end) pairs after base grow with the square of the time
	// since it: 10 s of head start (the default) keep ~10,000 records/s
	// over 500 resources (or ~50,000 over 4000) from ever waiting for a
	// period.
	head := time.Unix(base, 0).Add(env.c.Duration("usage-head-start"))
	if d := time.Until(head); d > 0 {
		env.note("waiting %.0f s for the usage periods (synthetic: after the resources' activation)", d.Seconds())
		waitUntil(ctx, head)
	}
	return nil
}

// usageBatch is the next n records of the usage workload, as a metering
// agent sends them: every metric of a resource over a period, for the
// resources of the pool in turn, IDs left to the contract to derive. Each
// (resource, period) is used once, so no record is a duplicate. Periods
// must lie between activation and now, so they are synthetic: period k is
// the k-th pair (start, end) with base <= start < end, ordered by end, and
// a batch whose periods have not ended yet waits for them (usageWaits
// counts those waits: raise --usage-resources if it grows).
func (env *benchEnv) usageBatch(ctx context.Context, n int) ([]chaincode.UsageRecord, error) {
	m := uint64(len(usageMetrics))
	slots := (uint64(n) + m - 1) / m
	first := env.usageSlot.Add(slots) - slots
	recs := make([]chaincode.UsageRecord, n)
	pool := uint64(len(env.usagePool))
	var latest int64
	for i := range recs {
		slot := first + uint64(i)/m
		res, period := slotOf(slot, pool, env.usagePeriods)
		start, end := periodPair(env.usageBase, period)
		latest = max(latest, end)
		recs[i] = chaincode.UsageRecord{Resource: env.usagePool[res], Metric: usageMetrics[uint64(i)%m],
			Quantity: int64(1 + slot%97), Start: start, End: end}
	}
	if time.Now().Unix() < latest {
		env.usageWaits.Add(1)
		waitUntil(ctx, time.Unix(latest, 0))
	}
	return recs, ctx.Err()
}

// slotOf maps slot k of the usage workload to a resource of the pool
// and a period number, each pair once: p consecutive periods of a resource
// (--usage-periods), then the same periods of the next resource; after the
// whole pool, the next p periods. p = 1 is the agent's shape (every
// resource over one period), a larger p a bulk import's (a day of hourly
// records for fewer resources per batch).
func slotOf(k, pool, p uint64) (res, period uint64) {
	block := k / (pool * p)
	in := k % (pool * p)
	return in / p, block*p + in%p
}

// periodPair is the k-th (start, end) with base <= start < end, by end then
// start: (b, b+1), (b, b+2), (b+1, b+2), (b, b+3), ...
func periodPair(base int64, k uint64) (start, end int64) {
	d := uint64((1 + math.Sqrt(1+8*float64(k))) / 2) // d(d-1)/2 <= k < d(d+1)/2
	for d*(d-1)/2 > k {
		d--
	}
	for d*(d+1)/2 <= k {
		d++
	}
	return base + int64(k-d*(d-1)/2), base + int64(d)
}

func waitUntil(ctx context.Context, t time.Time) {
	if d := time.Until(t); d > 0 {
		select {
		case <-time.After(d):
		case <-ctx.Done():
		}
	}
}

// market makes sure the provider has ecs prices, each consumer a quota
// for n more bench resources, and (withRule) a rule is active for ecs.
func (env *benchEnv) market(ctx context.Context, n int, withRule bool) error {
	if len(env.consumers) == 0 {
		return client.Errorf(client.KindInvalid, "the bench needs a consumer org to request resources from %s", env.provider).
			WithHint("give --consumer with another org's connection profile, e.g. --consumer ~/.fedmeter/fabric/profiles/org2-admin.yaml")
	}
	cons, err := env.cl.Consortium(ctx)
	if err != nil {
		if client.KindOf(err) == client.KindNotFound {
			err.(*client.Error).Hint = "create the consortium first: fedmeter init (embedded), or fedmeter --profile ORG1-ADMIN.yaml init (Fabric)"
		}
		return err
	}
	var td *chaincode.TypeDef
	for i := range cons.Types {
		if cons.Types[i].Name == benchType {
			td = &cons.Types[i]
		}
	}
	if td == nil || !containsAll(td.Spec, "vcpu", "memory_gib", "system_disk_gib") || !containsAll(td.Metrics, "egress_gib") {
		return client.Errorf(client.KindInvalid, "the consortium has no type ecs with spec vcpu, memory_gib and system_disk_gib and metric egress_gib; the bench uses it").
			WithHint("init's default catalog has it (fedmeter init without --types)")
	}
	if withRule && !env.ruleOK {
		if err := env.rule(ctx); err != nil {
			return err
		}
		env.ruleOK = true
	}
	if _, err := env.cl.Price(ctx, env.provider, benchType, ""); err != nil {
		if client.KindOf(err) != client.KindNotFound {
			return err
		}
		env.note("publishing ecs prices of %s", env.provider)
		if _, err := client.New(env.admin).SetPrice(ctx, benchType, client.Prices{Currency: "CNY", Scale: 2,
			UnitPrices: map[string]int64{"vcpu_hour": 12, "memory_gib_hour": 3, "disk_gib_hour": 1, "public_ip_hour": 5, "egress_gib": 80}}, ""); err != nil {
			return adminErr(err, env)
		}
	}
	for _, cb := range env.consumers {
		if err := env.quota(ctx, cb.MSPID(), n); err != nil {
			return err
		}
	}
	return nil
}

func containsAll(list []string, want ...string) bool {
	for _, w := range want {
		found := false
		for _, x := range list {
			found = found || x == w
		}
		if !found {
			return false
		}
	}
	return true
}

func adminErr(err error, env *benchEnv) error {
	if client.KindOf(err) == client.KindDenied && env.fabric() {
		if ce, ok := err.(*client.Error); ok {
			ce.Hint = "the bench's setup needs the provider's admin: use its admin profile (network.sh writes profiles/orgN-admin.yaml)"
		}
	}
	return err
}

// quota grants consumer room for n more bench resources, keeping larger
// limits as they are.
func (env *benchEnv) quota(ctx context.Context, consumer string, n int) error {
	limits := map[string]int64{}
	used := map[string]int64{}
	q, err := env.cl.Quota(ctx, env.provider, consumer)
	switch {
	case err == nil:
		for k, v := range q.Limits {
			limits[k] = v
		}
		used = q.Used
	case client.KindOf(err) != client.KindNotFound:
		return err
	}
	change := false
	if limits["max_days"] < benchDays {
		limits["max_days"], change = benchDays, true
	}
	for k, v := range benchSpec {
		need := used[k] + int64(n)*v
		if limits[k] < need {
			limits[k], change = max(need*2, 1000), true
		}
	}
	if !change {
		return nil
	}
	env.note("granting %s a quota at %s for %d more resources", consumer, env.provider, n)
	_, err = client.New(env.admin).SetQuota(ctx, consumer, limits)
	return adminErr(err, env)
}

// rule makes sure a rule is active for ecs: --rule uploaded, approved and
// activated if none is.
func (env *benchEnv) rule(ctx context.Context) error {
	acts, err := env.cl.Activations(ctx, benchType)
	if err != nil {
		return err
	}
	now := time.Now().Unix()
	for _, a := range acts.Entries {
		if a.EffectiveFrom <= now {
			return nil
		}
	}
	f := env.c.String("rule")
	if f == "" {
		return client.Errorf(client.KindInvalid, "no rule is active for type ecs, and release, quote and bills need one to bill").
			WithHint("give --rule MODULE.wasm (make rules builds build/rules/ecs.wasm), or activate one: fedmeter rule --help")
	}
	code, err := os.ReadFile(f)
	if err != nil {
		return client.Errorf(client.KindInvalid, "--rule %s cannot be read: %v", f, errUnwrap(err))
	}
	sum := sha256.Sum256(code)
	hash := hex.EncodeToString(sum[:])
	r, err := env.cl.Rule(ctx, hash)
	if client.KindOf(err) == client.KindNotFound {
		env.note("uploading %s as rule bench-ecs for ecs", f)
		r, err = env.cl.UploadRule(ctx, client.RuleMeta{Name: "bench-ecs", Version: "1.0.0-h" + hash[:12], Types: []string{benchType},
			Author: "fedmeter bench", Description: "uploaded by fedmeter bench from " + f}, code)
	}
	if err != nil {
		return adminErr(err, env)
	}
	for _, v := range env.voters {
		if r.Status != chaincode.RuleProposed {
			break
		}
		_, r2, err := client.New(v).VoteRule(ctx, hash, "approve")
		if err != nil {
			if strings.Contains(err.Error(), "already voted") {
				continue
			}
			return adminErr(err, env)
		}
		r = r2
	}
	if r.Status != chaincode.RuleApproved {
		return client.Errorf(client.KindInvalid, "the rule %s is %s after the votes of the provider, the consumers and the voters", hash[:12], r.Status).
			WithHint("give admins of more member orgs with --voter, or approve it with fedmeter rule vote")
	}
	env.note("activating rule %s@%s for ecs", r.Name, r.Version)
	if _, err := client.New(env.admin).ActivateRule(ctx, benchType, hash, ""); err != nil {
		return adminErr(err, env)
	}
	return nil
}

// resources requests n resources (spread over the consumers) and activates
// them, then waits for the next second so that a release bills a period.
// On Fabric each request updates the consumer's quota, so the requests of
// one consumer go one transaction at a time (concurrent ones would
// conflict), client.MaxRequestBatch resources in each.
func (env *benchEnv) resources(ctx context.Context, n int) ([]string, error) {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("bench-%s-%d", env.run, env.seq.Add(1))
	}
	// Up to client.MaxRequestBatch per transaction (ResourceRequestMany):
	// a consumer's requests from one provider update one quota key, so on
	// Fabric they commit one transaction per block.
	perConsumer := 32
	if env.fabric() {
		perConsumer = 1
	}
	t0 := time.Now()
	if n > 1 {
		env.note("requesting %d resources (consumers: %d, up to %d per transaction) and activating them", n, len(env.consumers), client.MaxRequestBatch)
	}
	var done atomic.Int64
	stopProgress := env.progress("requested", &done, n)
	errs := make([]error, len(env.consumers))
	var wg sync.WaitGroup
	for k, cb := range env.consumers {
		var mine []string
		for i := k; i < n; i += len(env.consumers) {
			mine = append(mine, ids[i])
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			chunks := (len(mine) + client.MaxRequestBatch - 1) / client.MaxRequestBatch
			errs[k] = parallel(ctx, chunks, perConsumer, func(i int) error {
				ids := mine[i*client.MaxRequestBatch : min((i+1)*client.MaxRequestBatch, len(mine))]
				_, err := client.New(cb).RequestResources(ctx, client.ResourceRequest{Provider: env.provider, Type: benchType,
					Spec: benchSpec, Days: benchDays, Attributes: map[string]string{"bench": env.run}}, ids)
				if err == nil {
					done.Add(int64(len(ids)))
				}
				return err
			})
		}()
	}
	wg.Wait()
	stopProgress()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	var latest atomic.Int64
	done.Store(0)
	stopProgress = env.progress("activated", &done, n)
	err := parallel(ctx, len(ids), 32, func(i int) error {
		r, err := env.cl.ActivateResource(ctx, ids[i])
		if err == nil {
			for {
				cur := latest.Load()
				if r.Activated.Time <= cur || latest.CompareAndSwap(cur, r.Activated.Time) {
					break
				}
			}
		}
		done.Add(1)
		return err
	})
	stopProgress()
	if err != nil {
		return nil, err
	}
	if n > 1 {
		env.note("%d resources ready in %.1f s", n, time.Since(t0).Seconds())
	}
	waitUntil(ctx, time.Unix(latest.Load()+1, 200e6))
	return ids, nil
}

// progress prints count/n every 10 s until stopped.
func (env *benchEnv) progress(what string, count *atomic.Int64, n int) func() {
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				env.note("  %d of %d %s", count.Load(), n, what)
			}
		}
	}()
	return func() { close(stop) }
}

// ---- ratios ----

func benchRatios(steps []*benchStep) ([]*benchRatio, []*benchGoal) {
	// Each fedmeter step pairs with the last step of its baseline at the
	// same load in the same round (compareSteps runs it right before).
	// Goals take each round's best figures, and with several rounds the
	// median round.
	type at struct {
		round    int
		load, wl string
	}
	baseOf := map[string]string{"release": "put", "usage": "put", "quote": "get", "bills": "get"}
	last := map[at]*benchStep{}
	r2 := func(v float64) float64 { return math.Round(v*1000) / 1000 }
	mismatches := 0
	for _, s := range steps {
		mismatches += s.Mismatches
		if s.LoggedMismatches != nil {
			mismatches += *s.LoggedMismatches
		}
	}
	// By round: the best of each figure over the loads, and the best of
	// the baseline steps it was paired with.
	type figs struct{ best, base map[string]float64 }
	byRound := map[int]*figs{}
	var rounds []int
	type span struct{ lo, hi float64 }
	same := map[string]*span{}
	var ratios []*benchRatio
	for _, s := range steps {
		b, ok := baseOf[s.Workload]
		if !ok {
			last[at{s.Round, s.Load, s.Workload}] = s
			continue
		}
		base := last[at{s.Round, s.Load, b}]
		if base == nil || base.TxPerSec <= 0 {
			continue
		}
		f := byRound[s.Round]
		if f == nil {
			f = &figs{map[string]float64{}, map[string]float64{}}
			byRound[s.Round] = f
			rounds = append(rounds, s.Round)
		}
		// fig is the figure the goals judge: tx/s, or records/s for usage.
		fig, v := s.Workload, s.TxPerSec
		if s.Workload == "usage" {
			fig, v = "usage records", s.RecordsPerSec
		}
		f.best[fig] = math.Max(f.best[fig], v)
		f.base[fig] = math.Max(f.base[fig], base.TxPerSec)
		add := func(name string, v float64, of string, goal float64) {
			r := v / base.TxPerSec
			ratios = append(ratios, &benchRatio{Round: s.Round, Load: s.Load, Name: name, Value: r2(v), Of: of, Baseline: r2(base.TxPerSec), Ratio: r2(r), Goal: goal})
			if sp := same[name]; sp == nil {
				same[name] = &span{r, r}
			} else {
				sp.lo, sp.hi = math.Min(sp.lo, r), math.Max(sp.hi, r)
			}
		}
		switch s.Workload {
		case "release":
			add("release tx/s", s.TxPerSec, "put tx/s", 0.7)
		case "usage":
			add("usage records/s", s.RecordsPerSec, "put tx/s", 50)
			add("usage tx/s", s.TxPerSec, "put tx/s", 0)
		case "quote":
			add("quote/s", s.TxPerSec, "get/s", 0)
		case "bills":
			add("bill list/s", s.TxPerSec, "get/s", 0)
		}
	}
	slices.Sort(rounds)
	var goals []*benchGoal
	goal := func(text, ratioName, fig string, want float64, digits int) {
		sp := same[ratioName]
		if sp == nil {
			return
		}
		var per []float64
		var best, base float64
		for _, r := range rounds {
			if f := byRound[r]; f.base[fig] > 0 && f.best[fig] > 0 {
				per = append(per, f.best[fig]/f.base[fig])
				best, base = f.best[fig], f.base[fig]
			}
		}
		if len(per) == 0 {
			return
		}
		med := median(per)
		d := goalDigits(med, want, digits)
		g := &benchGoal{Goal: text, Capacity: fmt.Sprintf("%.*fx (%.0f / %.0f)", d, med, best, base), SameLoad: fmt.Sprintf("%.*fx to %.*fx", digits, sp.lo, digits, sp.hi)}
		if len(per) > 1 {
			sorted := slices.Sorted(slices.Values(per))
			g.Capacity = fmt.Sprintf("%.*fx (median of %d rounds, %.*fx to %.*fx)", d, med, len(per), digits, sorted[0], digits, sorted[len(sorted)-1])
			for _, r := range per {
				g.Rounds = append(g.Rounds, r2(r))
			}
		}
		g.Met = med >= want
		goals = append(goals, g)
	}
	goal("release-and-bill >= 0.7x Put tx/s", "release tx/s", "release", 0.7, 2)
	goal("usage records/s >= 50x Put tx/s", "usage records/s", "usage records", 50, 1)
	goals = append(goals, &benchGoal{Goal: "0 endorsement mismatches", Capacity: strconv.Itoa(mismatches), Met: mismatches == 0})
	return ratios, goals
}

// goalDigits is how many decimals to show figure v against goal want:
// digits, or more where digits would round v onto the goal's other side
// (0.697 printed as 0.70x beside "not met").
func goalDigits(v, want float64, digits int) int {
	for d := digits; d < digits+4; d++ {
		p := math.Pow(10, float64(d))
		if (math.Round(v*p)/p >= want) == (v >= want) {
			return d
		}
	}
	return digits + 4
}

// median is the middle of xs (the mean of the middle two of an even count).
func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func printRatios(p *printer, rep *benchReport) {
	rows := make([][]string, 0, len(rep.Ratios))
	for _, r := range rep.Ratios {
		goal := ""
		if r.Goal > 0 {
			goal = fmt.Sprintf(">= %gx", r.Goal)
			if r.Ratio >= r.Goal {
				goal += " (met)"
			} else {
				goal += " (not met)"
			}
		}
		load := r.Load
		if r.Round > 0 {
			load += fmt.Sprintf(" #%d", r.Round)
		}
		rows = append(rows, []string{load, r.Name, fmt.Sprintf("%.1f", r.Value), r.Of, fmt.Sprintf("%.1f", r.Baseline), fmt.Sprintf("%.3fx", r.Ratio), goal})
	}
	p.Printf("\nRatios to the baseline at the same load:\n")
	p.Table("(no baseline steps)", []string{"LOAD", "FEDMETER", "VALUE", "BASELINE", "VALUE", "RATIO", "GOAL"}, rows)
	p.Printf("\nGoals: each figure at its best load over Put's best (the network's capacity; with --rounds, the median round's), and the range at equal loads:\n")
	grows := make([][]string, len(rep.Goals))
	for i, g := range rep.Goals {
		met := "not met"
		if g.Met {
			met = "met"
		}
		grows[i] = []string{"  " + g.Goal, g.Capacity, g.SameLoad, met}
	}
	p.Table("", []string{"  GOAL", "AT CAPACITY", "AT EQUAL LOADS", ""}, grows)
}
