package main

// The workloads: what one operation of each is, its untimed setup, and
// one step (a workload measured at a load).

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fedmeter/fedmeter/chaincode"
	"github.com/fedmeter/fedmeter/cli/client"
)

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
		return nil, client.Errorf(client.KindInternal, "the bench was interrupted during %s at %s", w, ls)
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
			b, err := openBaseline(ctx, env.main, name)
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
			return env.submitUsage(ctx, batch)
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
				return 0, client.Errorf(client.KindLedger, "ResourceRelease of %s issued no bill", id)
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
// reports on (--usage-resources), once per run, and splits them into
// groups, one per batch in flight (usageGroups).
func (env *benchEnv) prepareUsage(ctx context.Context) error {
	if env.usagePool != nil {
		return nil
	}
	per := usageGroupSize(uint64(env.c.Int("batch")), env.usagePeriods)
	n := env.c.Int("usage-resources")
	if n == 0 {
		// Enough for every batch in flight to have resources of its own
		// (up to 128 in flight), and no fewer than before groups.
		n = 4000
		if env.fabric() {
			n = 500
		}
		n = max(n, per*min(env.usageInflight, 128))
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
	env.usageGroups = usageGroups(len(ids), per)
	env.usageFree = make(chan *usageGroup, len(env.usageGroups))
	for _, g := range env.usageGroups {
		env.usageFree <- g
	}
	if g := len(env.usageGroups); g < env.usageInflight {
		env.note("usage: %d resources make %d groups of about %d (one batch's), so at most %d batches are in flight; raise --usage-resources to %d for %d", n, g, per, g, per*env.usageInflight, env.usageInflight)
	}
	// The (start, end) pairs after base grow with the square of the time
	// since it: 10 s of head start (the default) keep ~10,000 records/s
	// over 500 resources (or ~50,000 over 4000) from ever waiting for a
	// period.
	head := time.Unix(base, 0).Add(env.c.Duration("usage-head-start"))
	if d := time.Until(head); d > 0 {
		env.note("waiting %.0f s for the usage periods (synthetic: after the resources' activation)", d.Seconds())
		waitUntil(ctx, head)
	}
	return env.primeUsage(ctx)
}

// submitUsage sends the next usage batch of n records (usageBatch) and
// returns how many records the ledger took.
func (env *benchEnv) submitUsage(ctx context.Context, n int) (int, error) {
	recs, release, err := env.usageBatch(ctx, n)
	if err != nil {
		return 0, err
	}
	out, err := env.main.Submit(ctx, "UsageSubmit", client.EncodeUsageBatch(recs))
	release()
	if err != nil {
		return 0, err
	}
	var res chaincode.UsageResult
	if err := json.Unmarshal(out, &res); err != nil || res.Accepted != n {
		return 0, client.Errorf(client.KindLedger, "UsageSubmit accepted %d of %d records", res.Accepted, n)
	}
	return n, nil
}

// primeUsage sends one batch for every group, untimed. A resource's first
// usage batch has no usage totals to read and sums the resource's records
// instead (a range scan per resource, chaincode/usage.go), once in the
// resource's life and once after each bill; with a fresh pool every batch
// of the first step would pay it (measured: 4x the CPU per batch), and the
// first round would not compare with the rounds after it.
func (env *benchEnv) primeUsage(ctx context.Context) error {
	t0 := time.Now()
	var primed atomic.Int64
	err := parallel(ctx, len(env.usageGroups), len(env.usageGroups), func(int) error {
		n, err := env.submitUsage(ctx, env.c.Int("batch"))
		primed.Add(int64(n))
		return err
	})
	env.usagePrimed = primed.Load()
	if err != nil {
		return err
	}
	env.note("usage: one batch per group sent first (untimed, %.0f s): a resource's first batch creates its usage totals", time.Since(t0).Seconds())
	return nil
}

// usageGroup is the part of the usage pool that one batch in flight
// reports on: resources [lo, hi) of the pool, and the next of its slots
// (slotOf). Only the batch holding the group (taken from usageFree)
// touches next.
type usageGroup struct {
	lo, hi int
	next   uint64
}

// usageGroupSize is how many resources one batch of n records covers: n
// records are ceil(n / metrics) (resource, period) slots, p periods of a
// resource in a row.
func usageGroupSize(n, p uint64) int {
	m := uint64(len(usageMetrics))
	slots := (n + m - 1) / m
	return int((slots + p - 1) / p)
}

// usageGroups splits a pool of n resources into as many groups of at
// least per resources as it holds (at least one), sizes differing by at
// most one.
func usageGroups(n, per int) []*usageGroup {
	g := max(1, n/max(per, 1))
	out := make([]*usageGroup, g)
	for i := range out {
		out[i] = &usageGroup{lo: i * n / g, hi: (i + 1) * n / g}
	}
	return out
}

// usageBatch is the next n records of the usage workload, as a metering
// agent sends them: every metric of a resource over a period, for the
// resources of one group in turn, IDs left to the contract to derive. The
// batch holds its group until release is called (after the submit), so
// batches in flight together cover disjoint resources: a real agent sends
// one batch per period for its own resources, and every batch reads and
// writes its resources' usage totals, so two batches in flight for the
// same resource would conflict (MVCC) and one of them be sent again (a
// benchmark artifact, not a site's load). Each (resource, period) is used
// once, so no record is a duplicate. Periods must lie between activation
// and now, so they are synthetic: period k is the k-th pair (start, end)
// with base <= start < end, ordered by end, and a batch whose periods
// have not ended yet waits for them (usageWaits counts those waits: raise
// --usage-resources if it grows).
func (env *benchEnv) usageBatch(ctx context.Context, n int) (recs []chaincode.UsageRecord, release func(), err error) {
	var g *usageGroup
	select {
	case g = <-env.usageFree:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	release = func() { env.usageFree <- g }
	m := uint64(len(usageMetrics))
	slots := (uint64(n) + m - 1) / m
	first := g.next
	g.next += slots
	recs = make([]chaincode.UsageRecord, n)
	size := uint64(g.hi - g.lo)
	var latest int64
	for i := range recs {
		slot := first + uint64(i)/m
		res, period := slotOf(slot, size, env.usagePeriods)
		start, end := periodPair(env.usageBase, period)
		latest = max(latest, end)
		recs[i] = chaincode.UsageRecord{Resource: env.usagePool[g.lo+int(res)], Metric: usageMetrics[uint64(i)%m],
			Quantity: int64(1 + slot%97), Start: start, End: end}
	}
	if time.Now().Unix() < latest {
		env.usageWaits.Add(1)
		waitUntil(ctx, time.Unix(latest, 0))
	}
	if ctx.Err() != nil {
		release()
		return nil, nil, ctx.Err()
	}
	return recs, release, nil
}

// slotOf maps slot k of a usage group to a resource of the group
// and a period number, each pair once: p consecutive periods of a resource
// (--usage-periods), then the same periods of the next resource; after the
// whole group, the next p periods. p = 1 is the agent's shape (every
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
