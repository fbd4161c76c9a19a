package chaincode

import (
	"time"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// Time-bounded permissions (issue 22): a rule activation with an end, and a
// quota with a validity window. Every window is half-open, [start, end): at
// the instant end the permission is already gone, at start it already
// holds. A bill uses the rule active at its period end (a release's end is
// the release time), so a release at or after an activation's end finds no
// active rule and leaves its bill pending (ResourceRelease), as with a rule
// that fails; BillClose issues it once an admin activates a rule again.

// RuleActivateUntil is RuleActivate with an end: the rule is active for
// resourceType in [effectiveFrom, effectiveTo) (Unix seconds or RFC 3339;
// effectiveFrom empty means now, effectiveTo is required and after it).
// After effectiveTo no rule is active for the type until a later
// activation starts; an earlier activation does not come back. Admins of
// member orgs, as RuleActivate.
func (c *Contract) RuleActivateUntil(ctx contractapi.TransactionContextInterface, resourceType, codeHash, effectiveFrom, effectiveTo string) (string, error) {
	return c.ruleActivate(ctx, resourceType, codeHash, effectiveFrom, effectiveTo, true)
}

// activationEnd parses an activation's end (empty: none, unless bounded
// requires one) and checks that it is after its start eff.
func activationEnd(effectiveTo string, eff int64, bounded bool) (int64, error) {
	if effectiveTo == "" {
		if bounded {
			return 0, errf("effective_to is required (RuleActivate activates without an end)")
		}
		return 0, nil
	}
	end, err := parseTime("effective_to", effectiveTo, 0)
	if err != nil {
		return 0, err
	}
	if end <= eff {
		return 0, errf("effective_to %s must be after effective_from %s", rfc3339(end), rfc3339(eff))
	}
	return end, nil
}

// activationEnded refuses billing at time at under activation a (the
// latest that started by at) if a ended by at.
func activationEnded(typ string, a *Activation, at int64) error {
	if a.EffectiveTo == 0 || at < a.EffectiveTo {
		return nil
	}
	return ruleFailed("no rule is active for type %s at %s: the activation of rule %s %s ended at %s; an admin activates an approved rule with RuleActivate", typ, rfc3339(at), a.Name, a.Version, rfc3339(a.EffectiveTo))
}

// QuotaSetWindow is QuotaSet with a validity window: the quota grants
// requests only in [validFrom, validTo) (Unix seconds or RFC 3339; either
// empty leaves that side unbounded). QuotaSet sets a quota with no window:
// each call replaces the limits and the window together. Admins of the
// provider org, as QuotaSet.
func (c *Contract) QuotaSetWindow(ctx contractapi.TransactionContextInterface, consumer, limits, validFrom, validTo string) (string, error) {
	return c.quotaSet(ctx, consumer, limits, validFrom, validTo)
}

// quotaWindow parses a quota's validity window (0 for an open side).
func quotaWindow(validFrom, validTo string) (int64, int64, error) {
	from, err := parseTime("valid_from", validFrom, 0)
	if err != nil {
		return 0, 0, err
	}
	to, err := parseTime("valid_to", validTo, 0)
	if err != nil {
		return 0, 0, err
	}
	if validTo != "" && to <= from {
		return 0, 0, errf("valid_to %s must be after valid_from %s", rfc3339(to), rfc3339(from))
	}
	return from, to, nil
}

// quotaInForce refuses a request at time now outside q's window.
func quotaInForce(q *Quota, now int64) error {
	if q.ValidFrom != 0 && now < q.ValidFrom {
		return overQuota("the quota %s granted %s is valid from %s; the request at %s is before it", q.Provider, q.Consumer, rfc3339(q.ValidFrom), rfc3339(now))
	}
	if q.ValidTo != 0 && now >= q.ValidTo {
		return overQuota("the quota %s granted %s was valid until %s (exclusive); the request at %s is after it", q.Provider, q.Consumer, rfc3339(q.ValidTo), rfc3339(now))
	}
	return nil
}

// rfc3339 is Unix seconds as an RFC 3339 UTC time, for refusals a person
// reads (the arguments take either form).
func rfc3339(sec int64) string { return time.Unix(sec, 0).UTC().Format(time.RFC3339) }
