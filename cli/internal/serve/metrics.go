package serve

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fedmeter/fedmeter/chaincode"
)

// metrics are the server's Prometheus metrics, written in the text
// exposition format (version 0.0.4) by hand: counters and a few histograms
// do not need client_golang in the fedmeter command (the chaincode
// service, a separate binary, uses it), and the console draws its charts
// from these fields directly.
type metrics struct {
	mu       sync.Mutex
	requests map[reqKey]uint64
	latency  map[string]*histogram // by route
	bills    uint64                // bills issued through this server
	records  map[string]uint64     // usage records by outcome: accepted, duplicate
	started  time.Time

	events   map[string]uint64 // events sent on event streams, by type (events.go)
	webhooks map[string]uint64 // webhook delivery attempts by outcome (webhooks.go)
	refused  map[string]uint64 // usage batches refused, by the contract's refusal code
	// Rule calls the embedded contract ran in this process
	// (embedded.ObserveRuleCalls): by rule and outcome, and gas and wall
	// time as histograms by rule. On Fabric the rules run in the chaincode
	// service, which exports the same series (FEDMETER_METRICS_ADDRESS).
	ruleCalls map[ruleKey]uint64
	ruleGas   map[string]*histogram
	ruleTime  map[string]*histogram
}

type ruleKey struct{ rule, outcome string }

// gasBuckets and ruleTimeBuckets are the upper bounds of the rule call
// histograms, as the chaincode service's (chaincode/cmd/fedmeter-cc):
// 1e3 * 4^i gas, 1e-4 * 4^i seconds.
var gasBuckets, ruleTimeBuckets = exponential(1e3, 4, 12), exponential(1e-4, 4, 10)

func exponential(start, factor float64, n int) []float64 {
	b := make([]float64, n)
	for i := range b {
		b[i] = start
		start *= factor
	}
	return b
}

type reqKey struct {
	route, method string
	code          int
}

// latencyBuckets are the request duration histogram's upper bounds, in
// seconds.
var latencyBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

type histogram struct {
	counts []uint64 // per bucket, not cumulative
	sum    float64
	n      uint64
}

func newMetrics() *metrics {
	return &metrics{requests: map[reqKey]uint64{}, latency: map[string]*histogram{}, records: map[string]uint64{}, started: time.Now(),
		events: map[string]uint64{}, webhooks: map[string]uint64{}, refused: map[string]uint64{},
		ruleCalls: map[ruleKey]uint64{}, ruleGas: map[string]*histogram{}, ruleTime: map[string]*histogram{}}
}

func (m *metrics) observe(route, method string, code int, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[reqKey{route, method, code}]++
	add(m.latency, route, latencyBuckets, d.Seconds())
}

// add observes v in hs[key], a histogram with bounds.
func add(hs map[string]*histogram, key string, bounds []float64, v float64) {
	h := hs[key]
	if h == nil {
		h = &histogram{counts: make([]uint64, len(bounds))}
		hs[key] = h
	}
	for i, b := range bounds {
		if v <= b {
			h.counts[i]++
			break
		}
	}
	h.sum += v
	h.n++
}

// ruleCall counts one rule call (the embedded contract's observer).
func (m *metrics) ruleCall(c chaincode.RuleCall) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ruleCalls[ruleKey{c.Rule, c.Outcome}]++
	add(m.ruleTime, c.Rule, ruleTimeBuckets, c.Duration.Seconds())
	if c.Outcome == chaincode.RuleOutcomeOK {
		add(m.ruleGas, c.Rule, gasBuckets, float64(c.GasUsed))
	}
}

// usageRefused counts a usage batch the contract refused, by its code
// ("" when the refusal had none: a network or ledger failure).
func (m *metrics) usageRefused(code string) {
	if code == "" {
		code = "none"
	}
	m.mu.Lock()
	m.refused[code]++
	m.mu.Unlock()
}

func (m *metrics) billIssued() {
	m.mu.Lock()
	m.bills++
	m.mu.Unlock()
}

func (m *metrics) usage(accepted, duplicates int) {
	m.mu.Lock()
	m.records["accepted"] += uint64(accepted)
	m.records["duplicate"] += uint64(duplicates)
	m.mu.Unlock()
}

// write writes the exposition; height is the ledger's height (< 0:
// unknown, left out).
func (m *metrics) write(w io.Writer, height int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fmt.Fprintln(w, "# HELP fedmeter_http_requests_total HTTP requests by route, method and status code.")
	fmt.Fprintln(w, "# TYPE fedmeter_http_requests_total counter")
	keys := make([]reqKey, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.route != b.route {
			return a.route < b.route
		}
		if a.method != b.method {
			return a.method < b.method
		}
		return a.code < b.code
	})
	for _, k := range keys {
		fmt.Fprintf(w, "fedmeter_http_requests_total{route=%s,method=%s,code=\"%d\"} %d\n", label(k.route), label(k.method), k.code, m.requests[k])
	}
	fmt.Fprintln(w, "# HELP fedmeter_http_request_duration_seconds HTTP request duration by route.")
	fmt.Fprintln(w, "# TYPE fedmeter_http_request_duration_seconds histogram")
	writeHistograms(w, "fedmeter_http_request_duration_seconds", "route", m.latency, latencyBuckets)
	fmt.Fprintln(w, "# HELP fedmeter_bills_issued_total Bills issued through this server (releases and closed periods).")
	fmt.Fprintln(w, "# TYPE fedmeter_bills_issued_total counter")
	fmt.Fprintf(w, "fedmeter_bills_issued_total %d\n", m.bills)
	fmt.Fprintln(w, "# HELP fedmeter_usage_records_total Usage records submitted through this server, by outcome.")
	fmt.Fprintln(w, "# TYPE fedmeter_usage_records_total counter")
	for _, o := range []string{"accepted", "duplicate"} {
		fmt.Fprintf(w, "fedmeter_usage_records_total{outcome=%q} %d\n", o, m.records[o])
	}
	fmt.Fprintln(w, "# HELP fedmeter_usage_batches_refused_total Usage batches the contract refused through this server, by refusal code.")
	fmt.Fprintln(w, "# TYPE fedmeter_usage_batches_refused_total counter")
	for _, code := range slices.Sorted(maps.Keys(m.refused)) {
		fmt.Fprintf(w, "fedmeter_usage_batches_refused_total{code=%s} %d\n", label(code), m.refused[code])
	}
	fmt.Fprintln(w, "# HELP fedmeter_rule_calls_total Rule calls the embedded contract ran, by rule name and outcome (ok, out_of_gas, trap, limit, bad_output, refused, error).")
	fmt.Fprintln(w, "# TYPE fedmeter_rule_calls_total counter")
	calls := make([]ruleKey, 0, len(m.ruleCalls))
	for k := range m.ruleCalls {
		calls = append(calls, k)
	}
	sort.Slice(calls, func(i, j int) bool {
		if calls[i].rule != calls[j].rule {
			return calls[i].rule < calls[j].rule
		}
		return calls[i].outcome < calls[j].outcome
	})
	for _, k := range calls {
		fmt.Fprintf(w, "fedmeter_rule_calls_total{rule=%s,outcome=%s} %d\n", label(k.rule), label(k.outcome), m.ruleCalls[k])
	}
	fmt.Fprintln(w, "# HELP fedmeter_rule_gas_used Gas used by rule calls that billed, by rule name.")
	fmt.Fprintln(w, "# TYPE fedmeter_rule_gas_used histogram")
	writeHistograms(w, "fedmeter_rule_gas_used", "rule", m.ruleGas, gasBuckets)
	fmt.Fprintln(w, "# HELP fedmeter_rule_call_seconds Wall time of rule calls (preparation included when the rule was not cached), by rule name.")
	fmt.Fprintln(w, "# TYPE fedmeter_rule_call_seconds histogram")
	writeHistograms(w, "fedmeter_rule_call_seconds", "rule", m.ruleTime, ruleTimeBuckets)
	if height >= 0 {
		fmt.Fprintln(w, "# HELP fedmeter_ledger_height Blocks on the embedded ledger.")
		fmt.Fprintln(w, "# TYPE fedmeter_ledger_height gauge")
		fmt.Fprintf(w, "fedmeter_ledger_height %d\n", height)
	}
	m.writeEvents(w)
	fmt.Fprintln(w, "# HELP fedmeter_serve_start_time_seconds When the server started, in Unix seconds.")
	fmt.Fprintln(w, "# TYPE fedmeter_serve_start_time_seconds gauge")
	fmt.Fprintf(w, "fedmeter_serve_start_time_seconds %d\n", m.started.Unix())
}

// writeHistograms writes the histograms hs, one per value of the label
// named by, in the exposition format.
func writeHistograms(w io.Writer, name, by string, hs map[string]*histogram, bounds []float64) {
	for _, k := range slices.Sorted(maps.Keys(hs)) {
		h := hs[k]
		var cum uint64
		for i, b := range bounds {
			cum += h.counts[i]
			fmt.Fprintf(w, "%s_bucket{%s=%s,le=\"%s\"} %d\n", name, by, label(k), formatFloat(b), cum)
		}
		fmt.Fprintf(w, "%s_bucket{%s=%s,le=\"+Inf\"} %d\n", name, by, label(k), h.n)
		fmt.Fprintf(w, "%s_sum{%s=%s} %s\n", name, by, label(k), formatFloat(h.sum))
		fmt.Fprintf(w, "%s_count{%s=%s} %d\n", name, by, label(k), h.n)
	}
}

// label quotes a label value as the exposition format escapes it.
func label(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

func formatFloat(f float64) string {
	if math.IsInf(f, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
