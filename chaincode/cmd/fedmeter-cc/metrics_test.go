package main

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fedmeter/fedmeter/chaincode"
)

// TestRuleMetrics: observed calls come out of /metrics as counts by rule
// and outcome, and a billed call's gas and time in the histograms; a failed
// call counts but adds no gas.
func TestRuleMetrics(t *testing.T) {
	m := newRuleMetrics()
	m.observe(chaincode.RuleCall{Rule: "ecs", Outcome: chaincode.RuleOutcomeOK, GasUsed: 120000, Duration: 3 * time.Millisecond})
	m.observe(chaincode.RuleCall{Rule: "ecs", Outcome: chaincode.RuleOutcomeOK, GasUsed: 80000, Duration: time.Millisecond})
	m.observe(chaincode.RuleCall{Rule: "ecs", Outcome: chaincode.RuleOutcomeOutOfGas, Duration: 40 * time.Millisecond})
	rec := httptest.NewRecorder()
	m.handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`fedmeter_rule_calls_total{outcome="ok",rule="ecs"} 2`,
		`fedmeter_rule_calls_total{outcome="out_of_gas",rule="ecs"} 1`,
		`fedmeter_rule_gas_used_sum{rule="ecs"} 200000`,
		`fedmeter_rule_gas_used_count{rule="ecs"} 2`,
		`fedmeter_rule_call_seconds_count{rule="ecs"} 3`,
		`go_goroutines`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
}
