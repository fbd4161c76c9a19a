package chaincode

import (
	"errors"
	"time"

	"github.com/fedmeter/fedmeter/host"
)

// RuleCall is what the contract reports of one rule call to the observer
// that WithRuleObserver installs: which rule ran, how it ended, the gas it
// used and the wall time the call took. It exists for operators' metrics
// (the chaincode service and fedmeter serve export it): the wall time is
// measured outside the rule and is never part of a bill, a result or the
// ledger, so observing does not make endorsement depend on the machine.
type RuleCall struct {
	Rule    string // the rule's name
	Version string
	Hash    string
	// Outcome is one of the RuleOutcome constants.
	Outcome  string
	GasUsed  uint64 // 0 when the call failed
	Duration time.Duration
}

// The outcomes of a rule call, by the host's error kinds.
const (
	RuleOutcomeOK        = "ok"
	RuleOutcomeOutOfGas  = "out_of_gas"
	RuleOutcomeTrap      = "trap"
	RuleOutcomeLimit     = "limit"      // memory or call stack limit
	RuleOutcomeBadOutput = "bad_output" // output not in the ABI's form
	RuleOutcomeRefused   = "refused"    // the rule refused its input
	RuleOutcomeError     = "error"      // the rule did not run (code unreadable, host failure)
)

// RuleOutcomes lists every outcome, for exporters that declare their
// label values up front.
var RuleOutcomes = []string{RuleOutcomeOK, RuleOutcomeOutOfGas, RuleOutcomeTrap, RuleOutcomeLimit,
	RuleOutcomeBadOutput, RuleOutcomeRefused, RuleOutcomeError}

// observed is the RuleCall of a call of r that returned res and err in d.
func observed(r *Rule, res *host.Result, err error, d time.Duration) RuleCall {
	c := RuleCall{Rule: r.Name, Version: r.Version, Hash: r.Hash, Outcome: RuleOutcomeOK, Duration: d}
	switch {
	case err == nil:
		if res != nil {
			c.GasUsed = res.GasUsed
		}
	case errors.Is(err, host.ErrOutOfGas):
		c.Outcome = RuleOutcomeOutOfGas
	case errors.Is(err, host.ErrMemoryLimit), errors.Is(err, host.ErrStackLimit):
		c.Outcome = RuleOutcomeLimit
	case errors.Is(err, host.ErrTrap):
		c.Outcome = RuleOutcomeTrap
	case errors.Is(err, host.ErrBadOutput):
		c.Outcome = RuleOutcomeBadOutput
	case errors.Is(err, host.ErrRule):
		c.Outcome = RuleOutcomeRefused
	default:
		c.Outcome = RuleOutcomeError
	}
	return c
}
