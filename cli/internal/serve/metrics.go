package serve

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// metrics are the server's Prometheus metrics, written in the text
// exposition format (version 0.0.4) by hand: a few counters and one
// histogram do not need client_golang's dependencies.
type metrics struct {
	mu       sync.Mutex
	requests map[reqKey]uint64
	latency  map[string]*histogram // by route
	bills    uint64                // bills issued through this server
	records  map[string]uint64     // usage records by outcome: accepted, duplicate
	started  time.Time

	events   map[string]uint64 // events sent on event streams, by type (events.go)
	webhooks map[string]uint64 // webhook delivery attempts by outcome (webhooks.go)
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
		events: map[string]uint64{}, webhooks: map[string]uint64{}}
}

func (m *metrics) observe(route, method string, code int, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[reqKey{route, method, code}]++
	h := m.latency[route]
	if h == nil {
		h = &histogram{counts: make([]uint64, len(latencyBuckets))}
		m.latency[route] = h
	}
	s := d.Seconds()
	for i, b := range latencyBuckets {
		if s <= b {
			h.counts[i]++
			break
		}
	}
	h.sum += s
	h.n++
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
	routes := make([]string, 0, len(m.latency))
	for r := range m.latency {
		routes = append(routes, r)
	}
	sort.Strings(routes)
	for _, r := range routes {
		h := m.latency[r]
		var cum uint64
		for i, b := range latencyBuckets {
			cum += h.counts[i]
			fmt.Fprintf(w, "fedmeter_http_request_duration_seconds_bucket{route=%s,le=\"%s\"} %d\n", label(r), formatFloat(b), cum)
		}
		fmt.Fprintf(w, "fedmeter_http_request_duration_seconds_bucket{route=%s,le=\"+Inf\"} %d\n", label(r), h.n)
		fmt.Fprintf(w, "fedmeter_http_request_duration_seconds_sum{route=%s} %s\n", label(r), formatFloat(h.sum))
		fmt.Fprintf(w, "fedmeter_http_request_duration_seconds_count{route=%s} %d\n", label(r), h.n)
	}
	fmt.Fprintln(w, "# HELP fedmeter_bills_issued_total Bills issued through this server (releases and closed periods).")
	fmt.Fprintln(w, "# TYPE fedmeter_bills_issued_total counter")
	fmt.Fprintf(w, "fedmeter_bills_issued_total %d\n", m.bills)
	fmt.Fprintln(w, "# HELP fedmeter_usage_records_total Usage records submitted through this server, by outcome.")
	fmt.Fprintln(w, "# TYPE fedmeter_usage_records_total counter")
	for _, o := range []string{"accepted", "duplicate"} {
		fmt.Fprintf(w, "fedmeter_usage_records_total{outcome=%q} %d\n", o, m.records[o])
	}
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
