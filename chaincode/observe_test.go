package chaincode

import (
	"testing"
	"time"
)

// TestRuleObserver: every rule call reaches the observer with the rule's
// name and the outcome the host's error kind gives, and the gas of a call
// that billed.
func TestRuleObserver(t *testing.T) {
	for _, c := range []struct {
		module, prices, outcome string
	}{
		{"ecs_hourly.wasm", ecsPrices, RuleOutcomeOK},
		{"rule_loop.wasm", ecsPrices, RuleOutcomeOutOfGas},
		{"rule_trap.wasm", ecsPrices, RuleOutcomeTrap},
		{"rule_badout.wasm", ecsPrices, RuleOutcomeBadOutput},
		{"ecs_hourly.wasm", `{"currency":"CNY","scale":2,"unit_prices":{"memory_gib_hour":3}}`, RuleOutcomeRefused},
	} {
		t.Run(c.module+" "+c.outcome, func(t *testing.T) {
			var calls []RuleCall
			e := newEnv(t, WithRuleObserver(func(rc RuleCall) { calls = append(calls, rc) }))
			e.initConsortium()
			e.ok("org1.admin", "PriceSet", "ecs", c.prices, "")
			e.ok("org1.admin", "QuotaSet", org2, ecsQuota)
			h := e.activeRule("r", "1.0.0", wasmFile(t, c.module))
			e.activeResource("r1")
			e.advance(2 * time.Hour)
			before := len(calls)
			e.ok("org2.user", "ResourceRelease", "r1")
			if len(calls) != before+1 {
				t.Fatalf("a release reported %d rule calls, want 1", len(calls)-before)
			}
			rc := calls[len(calls)-1]
			if rc.Rule != "r" || rc.Version != "1.0.0" || rc.Hash != h || rc.Outcome != c.outcome {
				t.Fatalf("observed %+v, want rule r 1.0.0 %s, outcome %s", rc, h, c.outcome)
			}
			if (rc.Outcome == RuleOutcomeOK) != (rc.GasUsed > 0) {
				t.Fatalf("observed gas %d for outcome %s", rc.GasUsed, rc.Outcome)
			}
		})
	}
}
