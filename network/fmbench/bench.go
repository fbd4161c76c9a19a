package main

import (
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/urfave/cli/v2"
)

const (
	benchUsage     = "load-test a fedmeter ledger: usage, release-and-bill, quotes and bill lists against a trivial Put/Get baseline"
	benchUsageText = "fmbench [--data DIR | --profile FILE] WORKLOAD... [--inflight N,...|--rate R,...] [--duration D] [--batch N] [--compare [--goal FIGURE=X]...] [--rule MODULE.wasm] [--consumer WHO]..."
)

const benchHelp = `Measures the ledger under load: fedmeter's own transactions, and the same
network running a trivial Put/Get contract as the baseline they are compared
with. Works on the embedded ledger (--data) and on Fabric (--profile).

WORKLOADS (one or more; each runs at every load given):
   usage     UsageSubmit of --batch records per transaction (writes; records/s):
             cpu_seconds and egress_gib of --usage-resources resources over
             periods, IDs derived by the contract, as a metering agent sends
             them (one period of every resource of a group in turn; batches
             in flight together hold disjoint groups); --usage-periods N
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
the baseline step before them, and each figure at capacity: its best of
any load over the best of the Put steps it was paired with (release tx/s,
usage records/s), and the endorsement mismatches of the run, which must
be 0. --goal FIGURE=X judges a figure at capacity against X (release=X:
release tx/s >= X times Put tx/s; usage=X: usage records/s >= X times Put
tx/s); network/fmbench/README.md states the project's goals.

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

EXIT CODES: fedmeter's (0 ok, 1 usage or input error, 2 not found,
3 permission denied, 4 rule or ledger error).

Examples:
   fedmeter init --data /tmp/b && fmbench --data /tmp/b usage release --rule build/rules/ecs.wasm
   fmbench --profile ~/.fedmeter/fabric/profiles/org1-admin.yaml --compare \
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

// benchFlags are the bench's own flags (newApp adds the backend's).
func benchFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "inflight", Usage: "operations in flight, `N` or a comma list (one step each); with --rate, the most that may wait (default 32, with --rate 1000)"},
		&cli.StringFlag{Name: "rate", Usage: "open loop: start `R` operations a second (a comma list: one step each) instead of keeping --inflight busy"},
		&cli.DurationFlag{Name: "duration", Value: 10 * time.Second, Usage: "measured time per step, `D`"},
		&cli.DurationFlag{Name: "warmup", Value: 3 * time.Second, Usage: "unmeasured time before each step, `D`"},
		&cli.IntFlag{Name: "batch", Value: 500, Usage: "usage: records per transaction, `N` (1 to 1000)"},
		&cli.DurationFlag{Name: "usage-head-start", Value: 10 * time.Second, Usage: "usage: time from the resources' activation to the first batch, `D`, for the synthetic periods to accumulate (not timed)"},
		&cli.IntFlag{Name: "usage-periods", Value: 1, Usage: "usage: consecutive periods of each resource in a batch, `N`: 1 is a metering agent sending every resource's last period, more a bulk import (24: a day of hourly records per resource)"},
		&cli.IntFlag{Name: "usage-resources", DefaultText: "one batch's resources per batch in flight (up to 128), at least 500 on Fabric, 4000 embedded", Usage: "usage: resources the records are spread over, `N`, in groups of one batch's: batches in flight together report on disjoint groups (set up once per run, not timed)"},
		&cli.IntFlag{Name: "resources", DefaultText: "auto", Usage: "release: resources to prepare per step, `N` (default: enough for the baseline's rate, or 200/s on Fabric, 2000/s embedded, over warm-up and duration)"},
		&cli.StringSliceFlag{Name: "consumer", Usage: "the consumer that requests the resources, `WHO`: ORG/USER (embedded) or a profile FILE (Fabric); repeat to spread them"},
		&cli.StringSliceFlag{Name: "voter", Usage: "another org admin to approve --rule, `WHO`: ORG/USER (embedded) or a profile FILE (Fabric)"},
		&cli.StringFlag{Name: "rule", Usage: "Wasm `MODULE` to upload, approve and activate for ecs if no rule is active (e.g. build/rules/ecs.wasm from make rules)"},
		&cli.StringFlag{Name: "baseline-chaincode", Value: "putget", Usage: "the trivial Put/Get contract's chaincode `NAME` on the same network (Fabric)"},
		&cli.BoolFlag{Name: "compare", Usage: "run the baseline (put, get) and fedmeter's workloads at each load and print ratios and the figures at capacity (--goal judges them)"},
		&cli.IntFlag{Name: "rounds", Value: 1, Usage: "run every step `N` times, round after round; --compare judges the goals on the median round"},
		&cli.DurationFlag{Name: "settle", Value: time.Minute, Usage: "Fabric with --netdir: before each step, wait up to `D` for the network's CPU to fall back to its idle level (0: do not wait)"},
		&cli.StringFlag{Name: "netdir", Usage: "Fabric network state `DIR` (network.sh's, e.g. ~/.fedmeter/fabric): CPU per transaction and the peers' mismatch logs"},
		&cli.StringFlag{Name: "node-profiles", Usage: "with --netdir, on a network started with FEDMETER_PPROF=1: a CPU profile of every node over each step's measured window, in `DIR`/<nn>-<workload>-<load>/<node>.pprof (go tool pprof)"},
		&cli.StringSliceFlag{Name: "goal", Usage: "with --compare, judge a figure at capacity: `FIGURE=X`, release=X (release tx/s >= X times Put tx/s) or usage=X (usage records/s >= X times Put tx/s); repeat for both"},
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
	// UsagePrimed counts the usage records the setup sent, untimed, one
	// batch per group of resources (primeUsage), before any step.
	UsagePrimed int64 `json:"usage_primed_records,omitempty"`
}

func (st *state) bench(c *cli.Context) error {
	work := c.Args().Slice()
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
		return usageErr(c, "fmbench needs a workload (usage, release, quote, bills, put, get) or --compare")
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
	goals, err := parseGoals(c.StringSlice("goal"))
	if err != nil {
		return err
	}
	if len(goals) > 0 && !compare {
		return usageErr(c, "--goal needs --compare: a goal is a ratio to the baseline")
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
	for _, ls := range loads {
		env.usageInflight = max(env.usageInflight, ls.InFlight)
	}
	p := st.printer(c)
	rep := &benchReport{Backend: env.backendName(), Identity: env.provider, Chaincode: env.chaincode(), Run: env.run, Steps: []*benchStep{}}
	for _, w := range work {
		if w == "put" || w == "get" {
			rep.Baseline = c.String("baseline-chaincode")
		}
	}
	p.Printf("fmbench on %s as %s (run %s): %s of warm-up, then %s measured per step\n",
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
		rep.UsagePrimed = env.usagePrimed
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
		rep.Ratios, rep.Goals = benchRatios(rep.Steps, goals)
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
