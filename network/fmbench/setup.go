package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fedmeter/fedmeter/chaincode"
	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/fedmeter/fedmeter/cli/client/embedded"
	"github.com/urfave/cli/v2"
)

// The bench's identities (benchEnv) and the setup of the market its
// workloads need: prices, quotas, the rule, resources.

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

	ruleOK        bool             // a rule is active for ecs
	usagePool     []string         // resources the usage workload reports on
	usageBase     int64            // the latest of their activation times
	usageGroups   []*usageGroup    // the pool split, one group per batch in flight
	usageFree     chan *usageGroup // the groups no batch holds
	usagePrimed   int64            // usage records primeUsage sent
	usageInflight int              // the most usage batches the run keeps in flight
	usagePeriods  uint64           // periods of a resource in a row (--usage-periods)
	usageWaits    atomic.Int64     // batches that waited for their periods to end
	getKey        string
	quoteArgs     []string
	billsOK       bool
	nextCons      atomic.Uint64
	idleCPU       float64       // the network's lowest CPU rate seen, ms a second (settle)
	profiler      *nodeProfiler // --node-profiles, or nil
	steps         int           // steps run so far (names the profiles' folders)
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
	if e, isEmb := main.(*embedded.Backend); isEmb {
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
			b, err := client.Dial(c.Context, f)
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
	case *embedded.Backend:
		return "the embedded ledger in " + b.Dir()
	}
	return fmt.Sprintf("%T", env.main)
}

func (env *benchEnv) chaincode() string {
	switch b := env.main.(type) {
	case *client.Gateway:
		return b.Profile().Chaincode
	case *embedded.Backend:
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
			Author: "fmbench", Description: "uploaded by fmbench from " + f}, code)
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
