package main

// The load engine: closed loop (N operations in flight) or open loop (a
// fixed rate), a warm-up, a measured window, latency percentiles, errors by
// kind, endorsement mismatches and, with the Fabric network's state folder,
// the CPU its processes spent. The command is in bench.go, the workloads
// and their setup in setup.go, the ratios in ratios.go, the nodes' CPU
// profiles in prof.go.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fedmeter/fedmeter/cli/client"
)

// loadSpec is how one step drives its workload.
type loadSpec struct {
	// InFlight: closed loop, this many operations in flight; open loop
	// (Rate > 0), at most this many (a later operation waits for a slot,
	// and its latency counts from when it was due).
	InFlight int
	// Rate > 0: open loop, operations start at this many per second.
	Rate     float64
	Warmup   time.Duration
	Duration time.Duration
}

func (l loadSpec) String() string {
	if l.Rate > 0 {
		return fmt.Sprintf("rate=%s/s", strconv.FormatFloat(l.Rate, 'f', -1, 64))
	}
	return fmt.Sprintf("inflight=%d", l.InFlight)
}

// opFunc runs one operation and returns how many records it carried (1 for
// a plain transaction). errPoolEmpty ends the step early.
type opFunc func(ctx context.Context) (records int, err error)

// errPoolEmpty: the workload's prepared items (resources to release) ran
// out; the step ends at that moment and says so.
var errPoolEmpty = errors.New("bench: the pool of prepared resources is empty")

// benchStep is the result of one workload at one load.
type benchStep struct {
	Workload  string `json:"workload"`
	Chaincode string `json:"chaincode"`
	Function  string `json:"function"`
	Kind      string `json:"kind"` // write or read
	Load      string `json:"load"`
	Round     int    `json:"round,omitempty"` // with --rounds
	InFlight  int    `json:"inflight"`
	// Rate is the open loop's target (0: closed loop, as fast as it goes).
	Rate  float64 `json:"rate,omitempty"`
	Batch int     `json:"batch,omitempty"`
	// Seconds is the measured window (shorter than --duration if the
	// resource pool ran out: PoolExhausted).
	Seconds       float64 `json:"seconds"`
	Tx            int     `json:"tx"`
	TxPerSec      float64 `json:"tx_per_sec"`
	Records       int     `json:"records,omitempty"`
	RecordsPerSec float64 `json:"records_per_sec,omitempty"`
	P50Ms         float64 `json:"p50_ms"`
	P99Ms         float64 `json:"p99_ms"`
	MaxMs         float64 `json:"max_ms"`
	// Errors counts failed operations in the window by kind: the exit-code
	// kinds (invalid, not_found, denied, rule, ledger, internal) or, from the text
	// of the gateway's error, endorsement_mismatch, mvcc_conflict,
	// gateway_busy, timeout, unavailable.
	Errors     map[string]int `json:"errors"`
	ErrorCount int            `json:"error_count"`
	FirstError string         `json:"first_error,omitempty"`
	// Mismatches counts endorsement mismatches (endorsers returned different
	// results) the client saw in the step: failed operations and attempts
	// the gateway backend retried.
	Mismatches int `json:"endorsement_mismatches"`
	// Retried counts failed attempts that the gateway backend retried (an
	// endorsement refused only by other orgs' peers, a transaction that
	// lost a conflict) during the step, by kind; the operation itself may
	// then have succeeded.
	Retried map[string]int `json:"retried,omitempty"`
	// LoggedMismatches counts "ProposalResponsePayloads do not match" in the
	// peers' logs during the step (with --netdir): it includes mismatches a
	// gateway resolved with another endorser without the client noticing.
	LoggedMismatches *int `json:"gateway_log_mismatches,omitempty"`
	// AllTx and AllRecords include the warm-up and the operations still in
	// flight when the window closed: what the step put on the ledger.
	AllTx      int `json:"all_tx"`
	AllRecords int `json:"all_records,omitempty"`
	// AllErrors counts failed operations at any time, warm-up included.
	AllErrors     int  `json:"all_errors"`
	PoolExhausted bool `json:"pool_exhausted,omitempty"`
	// UsageWaits counts usage batches that waited for their synthetic
	// periods to end (usageBatch): the rate was then held back by the clock.
	UsageWaits   int64   `json:"usage_waits,omitempty"`
	SetupSeconds float64 `json:"setup_seconds"`
	// Settle is the wait for a quiet network before the step (--settle).
	Settle *benchSettle `json:"settle,omitempty"`
	// NodeProfiles is the folder of the nodes' CPU profiles over the
	// measured window (--node-profiles), ProfileError what failed there.
	NodeProfiles string `json:"node_profiles,omitempty"`
	ProfileError string `json:"node_profile_error,omitempty"`
	// CPU is CPU time per committed operation in the window, in ms.
	CPU *cpuPerOp `json:"cpu_ms_per_tx,omitempty"`
}

// cpuPerOp is CPU milliseconds per operation: the network's processes (by
// role, from --netdir) and this process.
type cpuPerOp struct {
	Network   *float64 `json:"network,omitempty"`
	Peers     *float64 `json:"peers,omitempty"`
	Orderers  *float64 `json:"orderers,omitempty"`
	Chaincode *float64 `json:"chaincode,omitempty"`
	Client    float64  `json:"client"`
	// Nodes is each process of the network by its network.sh name
	// (peer0.org1, orderer2, cc-fedmeter-org1, ...).
	Nodes map[string]float64 `json:"nodes,omitempty"`
}

type completion struct {
	end     time.Time
	lat     time.Duration
	records int
	err     error
}

// runLoad runs op under ls and measures the window after the warm-up.
// netdir (may be empty) is a Fabric network's state folder for CPU and log
// counts; retried snapshots the failed attempts the gateway backend
// retried, by error kind. window, if not nil, is called as the measured
// window opens, with its length, and returns what to wait for once it
// has closed (the nodes' profiles).
// awaitCompletion returns once some operation has finished at or after
// from (now, if one has), or the pool ran out or ctx ended.
func awaitCompletion(ctx context.Context, mu *sync.Mutex, done *[]completion, from time.Time, exhausted <-chan struct{}) time.Time {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		mu.Lock()
		for _, c := range *done {
			if !c.end.Before(from) {
				mu.Unlock()
				return time.Now()
			}
		}
		mu.Unlock()
		select {
		case <-tick.C:
		case <-exhausted:
			return time.Now()
		case <-ctx.Done():
			return time.Now()
		}
	}
}

func runLoad(ctx context.Context, ls loadSpec, op opFunc, netdir string, retried func() map[string]int, window func(time.Duration) func() error) *benchStep {
	var (
		mu        sync.Mutex
		done      []completion
		exhausted = make(chan struct{})
		exOnce    sync.Once
		exAt      time.Time
		stop      = make(chan struct{})
		wg        sync.WaitGroup
	)
	finish := func(due time.Time, n int, err error) {
		now := time.Now()
		mu.Lock()
		done = append(done, completion{end: now, lat: now.Sub(due), records: n, err: err})
		mu.Unlock()
	}
	runOne := func(due time.Time) bool {
		n, err := op(ctx)
		if errors.Is(err, errPoolEmpty) {
			exOnce.Do(func() { exAt = time.Now(); close(exhausted) })
			return false
		}
		finish(due, n, err)
		return true
	}
	stopped := func() bool {
		select {
		case <-stop:
			return true
		case <-ctx.Done():
			return true
		default:
			return false
		}
	}
	start := time.Now()
	if ls.Rate > 0 {
		sem := make(chan struct{}, max(ls.InFlight, 1))
		interval := time.Duration(float64(time.Second) / ls.Rate)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				due := start.Add(time.Duration(i) * interval)
				if d := time.Until(due); d > 0 {
					select {
					case <-time.After(d):
					case <-stop:
						return
					case <-ctx.Done():
						return
					case <-exhausted:
						return
					}
				}
				select {
				case sem <- struct{}{}:
				case <-stop:
					return
				case <-ctx.Done():
					return
				case <-exhausted:
					return
				}
				if stopped() {
					<-sem
					return
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					runOne(due)
					<-sem
				}()
			}
		}()
	} else {
		for i := 0; i < ls.InFlight; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for !stopped() {
					if !runOne(time.Now()) {
						return
					}
				}
			}()
		}
	}

	var s0, s1 cpuSample
	var logs0 map[string]int64
	winStart := start.Add(ls.Warmup)
	exhaustedEarly := false
	select {
	case <-time.After(time.Until(winStart)):
	case <-exhausted:
		exhaustedEarly = true
	case <-ctx.Done():
	}
	if exhaustedEarly {
		winStart = exAt
	}
	s0 = sampleCPU(netdir)
	logs0 = logSizes(netdir)
	r0 := retried()
	var windowDone func() error
	if window != nil {
		windowDone = window(ls.Duration)
	}
	winEnd := winStart.Add(ls.Duration)
	if !exhaustedEarly {
		select {
		case <-time.After(time.Until(winEnd)):
			// A window in which no operation finished has no rate: on
			// a slow or loaded machine a short --duration can end before
			// the first one does. Keep it open until one finishes (the
			// window's length is what it measured, so rates stay true).
			winEnd = awaitCompletion(ctx, &mu, &done, winStart, exhausted)
		case <-exhausted:
		case <-ctx.Done():
		}
	}
	select {
	case <-exhausted:
		if exAt.Before(winEnd) {
			winEnd = exAt
		}
	default:
	}
	if now := time.Now(); now.Before(winEnd) {
		winEnd = now // interrupted
	}
	s1 = sampleCPU(netdir)
	close(stop)
	wg.Wait()
	r1 := retried()

	st := &benchStep{Load: ls.String(), InFlight: ls.InFlight, Rate: ls.Rate, Errors: map[string]int{}}
	if windowDone != nil {
		if err := windowDone(); err != nil {
			st.ProfileError = err.Error()
		}
	}
	select {
	case <-exhausted:
		st.PoolExhausted = true
	default:
	}
	st.Seconds = winEnd.Sub(winStart).Seconds()
	var lat []time.Duration
	firstAny := ""
	for _, c := range done {
		if c.err == nil {
			st.AllTx++
			st.AllRecords += c.records
		} else {
			st.AllErrors++
			if firstAny == "" {
				firstAny = errorText(c.err)
			}
		}
		if c.end.Before(winStart) || !c.end.Before(winEnd) {
			continue
		}
		if c.err != nil {
			kind, mismatch := errorKind(c.err)
			st.Errors[kind]++
			st.ErrorCount++
			if mismatch {
				st.Mismatches++
			}
			if st.FirstError == "" {
				st.FirstError = errorText(c.err)
			}
			continue
		}
		st.Tx++
		st.Records += c.records
		lat = append(lat, c.lat)
	}
	if st.FirstError == "" {
		st.FirstError = firstAny
	}
	for k, n := range r1 {
		if d := n - r0[k]; d > 0 {
			if st.Retried == nil {
				st.Retried = map[string]int{}
			}
			st.Retried[k] = d
			if k == "endorsement_mismatch" {
				st.Mismatches += d
			}
		}
	}
	if st.Seconds > 0 {
		st.TxPerSec = float64(st.Tx) / st.Seconds
		st.RecordsPerSec = float64(st.Records) / st.Seconds
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(q float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		i := int(math.Ceil(q*float64(len(lat)))) - 1
		return msOf(lat[max(0, min(len(lat)-1, i))])
	}
	st.P50Ms, st.P99Ms = pct(0.50), pct(0.99)
	if len(lat) > 0 {
		st.MaxMs = msOf(lat[len(lat)-1])
	}
	if st.Tx > 0 {
		st.CPU = s1.perOp(s0, st.Tx)
	}
	if netdir != "" {
		if n, ok := countLogMismatches(netdir, logs0); ok {
			st.LoggedMismatches = &n
		}
	}
	return st
}

func msOf(d time.Duration) float64 { return math.Round(float64(d.Microseconds())/10) / 100 }

var (
	reMismatch = regexp.MustCompile(`(?i)do not match|mismatch|different (proposal )?(responses|results|payloads)|responses? (differ|are different)`)
	reMVCC     = regexp.MustCompile(`MVCC|PHANTOM`)
)

// errorKind names the kind of a failed operation for the report, and says
// whether it is an endorsement mismatch (endorsers computed different
// results: a determinism failure, unless one of them was behind).
func errorKind(err error) (string, bool) {
	text := err.Error() + "\n" + strings.Join(client.ErrorDetails(err), "\n")
	var ce *client.Error
	if errors.As(err, &ce) && ce.Err != nil {
		text += "\n" + ce.Err.Error()
	}
	switch {
	case reMismatch.MatchString(text):
		return "endorsement_mismatch", true
	case reMVCC.MatchString(text):
		return "mvcc_conflict", false
	case strings.Contains(text, "concurrency limit"):
		return "gateway_busy", false
	case strings.Contains(text, "timed out") || strings.Contains(text, "DeadlineExceeded") || errors.Is(err, context.DeadlineExceeded):
		return "timeout", false
	case strings.Contains(text, "cannot be reached"):
		return "unavailable", false
	}
	return client.KindOf(err).String(), false
}

// errorText is err's sentence and, for a gateway error, its first detail.
func errorText(err error) string {
	s := firstLine(err.Error())
	if d := client.ErrorDetails(err); len(d) > 0 && !strings.Contains(s, d[0]) {
		s += " [" + firstLine(d[0]) + "]"
	}
	return s
}

// ---- CPU of the network's processes and of this one (Linux /proc) ----

type cpuSample struct {
	ok     bool             // the network's processes were read
	groups map[string]int64 // ms by role: peers, orderers, chaincode
	nodes  map[string]int64 // ms by node
	self   int64            // ms of this process
	selfOK bool
}

// sampleCPU reads utime+stime of the processes whose pids network.sh
// recorded in netdir/run/<node>.pid, grouped by role, and of this process.
func sampleCPU(netdir string) cpuSample {
	s := cpuSample{}
	s.self, s.selfOK = procCPU("self")
	if netdir == "" {
		return s
	}
	files, _ := filepath.Glob(filepath.Join(netdir, "run", "*.pid"))
	if len(files) == 0 {
		return s
	}
	s.groups, s.nodes = map[string]int64{}, map[string]int64{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return cpuSample{self: s.self, selfOK: s.selfOK}
		}
		ms, ok := procCPU(strings.TrimSpace(string(b)))
		if !ok {
			return cpuSample{self: s.self, selfOK: s.selfOK}
		}
		name := strings.TrimSuffix(filepath.Base(f), ".pid")
		role := "chaincode"
		switch {
		case strings.HasPrefix(name, "peer"):
			role = "peers"
		case strings.HasPrefix(name, "orderer"):
			role = "orderers"
		}
		s.groups[role] += ms
		s.nodes[name] = ms
	}
	s.ok = true
	return s
}

// benchSettle is a step's wait for a quiet network (--settle).
type benchSettle struct {
	Seconds float64 `json:"seconds"`
	// CPUMsPerSec is the network's CPU rate in the last window waited (ms
	// of CPU a second, all its processes), IdleMsPerSec the lowest the run
	// has seen.
	CPUMsPerSec  float64 `json:"cpu_ms_per_sec"`
	IdleMsPerSec float64 `json:"idle_ms_per_sec"`
	// Quiet is false when --settle ran out first.
	Quiet bool `json:"quiet"`
}

// settleWindow is how long one look at the network's CPU rate lasts;
// a network is quiet when the rate is within quietFactor of the lowest
// the run has seen, plus quietSlack ms a second for the 10 ms ticks the
// processes' CPU is counted in.
const (
	settleWindow = 2 * time.Second
	quietFactor  = 1.5
	quietSlack   = 20
)

// settle waits until the network's processes are back to their idle CPU
// rate, at most --settle, and says how long it took. A step that writes a
// lot leaves the peers' LevelDB compacting for a minute and more after it
// ends; measured then, the next step pays for it. Without --netdir (or on
// the embedded ledger) it does not wait and returns nil.
func (env *benchEnv) settle(ctx context.Context) *benchSettle {
	netdir, limit := env.c.String("netdir"), env.c.Duration("settle")
	if netdir == "" || limit <= 0 || !env.fabric() {
		return nil
	}
	return waitQuiet(ctx, netdir, limit, &env.idleCPU)
}

// waitQuiet looks at the CPU rate of the processes network.sh recorded in
// netdir, a settleWindow at a time, until it is within quietFactor of
// *idle (the lowest rate seen, which it updates; 0: none yet) or limit has
// passed. It returns nil if the processes cannot be read.
func waitQuiet(ctx context.Context, netdir string, limit time.Duration, idle *float64) *benchSettle {
	return settle(ctx, func() cpuSample { return sampleCPU(netdir) }, time.After, time.Now, limit, idle)
}

// settle is waitQuiet with its inputs made explicit, so that tests can give
// it a fake process reader and a fake clock: the decision depends only on
// the CPU the samples report and the time the clock says, never on how fast
// the machine running the test is.
func settle(ctx context.Context, sample func() cpuSample, after func(time.Duration) <-chan time.Time,
	now func() time.Time, limit time.Duration, idle *float64) *benchSettle {
	t0 := now()
	out := &benchSettle{}
	for {
		s0 := sample()
		select {
		case <-after(settleWindow):
		case <-ctx.Done():
			return out
		}
		s1 := sample()
		if !s0.ok || !s1.ok {
			return nil
		}
		var ms int64
		for role, v := range s1.groups {
			ms += v - s0.groups[role]
		}
		rate := float64(ms) / settleWindow.Seconds()
		if *idle == 0 || rate < *idle {
			*idle = rate
		}
		out.Seconds = math.Round(now().Sub(t0).Seconds()*10) / 10
		out.CPUMsPerSec, out.IdleMsPerSec = math.Round(rate), math.Round(*idle)
		if rate <= quietFactor**idle+quietSlack {
			out.Quiet = true
			return out
		}
		if now().Sub(t0) >= limit {
			return out
		}
	}
}

// procCPU is user+system CPU in ms of /proc/<pid>/stat.
func procCPU(pid string) (int64, bool) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	k, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return (u + k) * 10, true // clock ticks of 10 ms (USER_HZ 100)
}

func (s cpuSample) perOp(s0 cpuSample, n int) *cpuPerOp {
	if !s.selfOK || !s0.selfOK {
		return nil
	}
	per := func(ms int64) float64 { return math.Round(float64(ms)/float64(n)*1000) / 1000 }
	c := &cpuPerOp{Client: per(s.self - s0.self)}
	if s.ok && s0.ok {
		v := func(role string) *float64 { x := per(s.groups[role] - s0.groups[role]); return &x }
		c.Peers, c.Orderers, c.Chaincode = v("peers"), v("orderers"), v("chaincode")
		total := *c.Peers + *c.Orderers + *c.Chaincode
		total = math.Round(total*1000) / 1000
		c.Network = &total
		c.Nodes = map[string]float64{}
		for name, ms := range s.nodes {
			c.Nodes[name] = per(ms - s0.nodes[name])
		}
	}
	return c
}

// ---- endorsement mismatches in the peers' logs ----

const logMismatch = "ProposalResponsePayloads do not match"

func logSizes(netdir string) map[string]int64 {
	if netdir == "" {
		return nil
	}
	files, _ := filepath.Glob(filepath.Join(netdir, "logs", "peer*.log"))
	m := map[string]int64{}
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			m[f] = fi.Size()
		}
	}
	return m
}

// countLogMismatches counts logMismatch in the peers' logs after the
// offsets in since.
func countLogMismatches(netdir string, since map[string]int64) (int, bool) {
	files, _ := filepath.Glob(filepath.Join(netdir, "logs", "peer*.log"))
	if len(files) == 0 {
		return 0, false
	}
	n := 0
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return 0, false
		}
		if off := since[f]; off > 0 {
			if _, err := fh.Seek(off, io.SeekStart); err != nil {
				fh.Close()
				return 0, false
			}
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			if strings.Contains(sc.Text(), logMismatch) {
				n++
			}
		}
		fh.Close()
	}
	return n, true
}
