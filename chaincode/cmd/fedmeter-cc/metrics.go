package main

import (
	"net/http"

	"github.com/fedmeter/fedmeter/chaincode"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// ruleMetrics are the chaincode service's Prometheus metrics of rule calls,
// fed by the contract's rule observer (chaincode.WithRuleObserver). They
// are per process: each endorsing peer's service counts the calls it ran,
// so a rule that fails on one peer and not on another shows as a
// difference between their series.
type ruleMetrics struct {
	reg      *prometheus.Registry
	calls    *prometheus.CounterVec
	gas      *prometheus.HistogramVec
	duration *prometheus.HistogramVec
}

func newRuleMetrics() *ruleMetrics {
	m := &ruleMetrics{
		reg: prometheus.NewRegistry(),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fedmeter_rule_calls_total",
			Help: "Rule calls by rule name and outcome (ok, out_of_gas, trap, limit, bad_output, refused, error).",
		}, []string{"rule", "outcome"}),
		// Gas: DefaultGasLimit is 2e8; the ECS rule uses ~1e5 to 1e6.
		gas: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "fedmeter_rule_gas_used",
			Help:    "Gas used by rule calls that billed, by rule name.",
			Buckets: prometheus.ExponentialBuckets(1e3, 4, 12),
		}, []string{"rule"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "fedmeter_rule_call_seconds",
			Help:    "Wall time of rule calls (preparation included when the rule was not cached), by rule name.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
		}, []string{"rule"}),
	}
	m.reg.MustRegister(m.calls, m.gas, m.duration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// observe is the contract's rule observer.
func (m *ruleMetrics) observe(c chaincode.RuleCall) {
	m.calls.WithLabelValues(c.Rule, c.Outcome).Inc()
	m.duration.WithLabelValues(c.Rule).Observe(c.Duration.Seconds())
	if c.Outcome == chaincode.RuleOutcomeOK {
		m.gas.WithLabelValues(c.Rule).Observe(float64(c.GasUsed))
	}
}

// handler serves the metrics in Prometheus's text format.
func (m *ruleMetrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
