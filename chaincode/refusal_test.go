package chaincode

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/fedmeter/fedmeter/chaincode/model"
)

// refusalEnv is a ledger with every kind of thing a transaction can name:
// the consortium (Org1..3), Org1's ecs prices and its quota for Org2, an
// approved and active ecs rule (ruleHash), an active resource r1 and a
// released resource r2 with its bill r2:000001, all of Org2 at Org1.
func refusalEnv(t *testing.T) (*env, string) {
	e := newEnv(t)
	e.initConsortium()
	e.market()
	h := e.activeRule("ecs", "1.0.0", wasmFile(t, "ecs_hourly.wasm"))
	e.activeResource("r2")
	e.advance(time.Hour)
	e.ok("org2.user", "ResourceRelease", "r2") // returns the quota r1 takes
	e.activeResource("r1")
	e.advance(time.Minute)
	return e, h
}

// refused runs a transaction that must be refused with code (and, if at is
// set, located at that element of a usage batch), writing nothing.
func (e *env) refused(code model.Code, at *model.Element, who, fn string, args ...string) {
	e.tb.Helper()
	before := e.snapshot()
	out, _, err := e.submit(who, fn, args...)
	if err == nil {
		e.tb.Errorf("%s %s(%s) succeeded with %.100s; want code %s", who, fn, short(args), out, code)
		return
	}
	if !reflect.DeepEqual(before, e.snapshot()) {
		e.tb.Errorf("%s %s: a refused transaction changed the state", who, fn)
	}
	msg := err.Error()
	r, ok := model.DecodeRefusal(msg)
	if !ok {
		e.tb.Errorf("%s %s(%s): %q carries no code", who, fn, short(args), msg)
		return
	}
	if r.Code != code {
		e.tb.Errorf("%s %s(%s): code %s, want %s (%s)", who, fn, short(args), r.Code, code, r.Msg)
	}
	if at != nil && !reflect.DeepEqual(r.At, at) {
		e.tb.Errorf("%s %s(%s): at %+v, want %+v (%s)", who, fn, short(args), r.At, at, r.Msg)
	}
}

// TestRefusalCodes holds every transaction's refusals to their codes: a
// table of transactions × bad inputs → the expected code. Every transaction
// of the contract appears in it (the test fails naming one that does not).
func TestRefusalCodes(t *testing.T) {
	const (
		bad      = model.CodeBadArgument
		notFound = model.CodeNotFound
		member   = model.CodeNotMember
		deny     = model.CodeDenied
		conflict = model.CodeConflict
		quota    = model.CodeQuotaExceeded
		rule     = model.CodeRuleFailed
		ledger   = model.CodeLedger
		unsupp   = model.CodeUnsupported
	)
	e, h := refusalEnv(t)
	now := e.now.Unix()
	rec := func(res string, q, start, end int64) string {
		return js([][]any{{res, "cpu_seconds", q, start, end}})
	}
	at := func(i, row int, metric string) *model.Element {
		return &model.Element{Record: i, Row: row, Metric: metric}
	}
	missing := strings.Repeat("ab", 32)
	type tc struct {
		code    model.Code
		at      *model.Element
		who, fn string
		args    []string
	}
	cases := []tc{
		{conflict, nil, "org1.admin", "ConsortiumInit", []string{js([]string{org1, org2}), "majority", ""}},
		{bad, nil, "org1.admin", "ConsortiumPropose", []string{"bogus", "x", ""}},
		{deny, nil, "org1.user", "ConsortiumPropose", []string{KindMemberAdd, org4, ""}},
		{conflict, nil, "org1.admin", "ConsortiumPropose", []string{KindMemberAdd, org2, ""}},
		{member, nil, "org4.admin", "ConsortiumPropose", []string{KindMemberAdd, org4, ""}},
		{notFound, nil, "org1.admin", "ConsortiumVote", []string{"nope", VoteApprove}},
		{member, nil, "org4.user", "TypeList", nil},
		{notFound, nil, "org1.user", "ProposalGet", []string{"nope"}},
		{bad, nil, "org1.user", "ProposalList", []string{"bogus", "", ""}},
		{deny, nil, "org1.user", "RuleUpload", []string{"x", "1.0.0", "ecs", "t", "", b64([]byte("junk"))}},
		{rule, nil, "org1.admin", "RuleUpload", []string{"x", "1.0.0", "ecs", "t", "", b64([]byte("not wasm"))}},
		{bad, nil, "org1.admin", "RuleUpload", []string{"x", "1.0", "ecs", "t", "", b64([]byte("junk"))}},
		{conflict, nil, "org1.admin", "RuleUpload", []string{"ecs2", "1.0.0", "ecs", "t", "", b64(wasmFile(t, "ecs_hourly.wasm"))}},
		{deny, nil, "org1.user", "RuleUploadWithProvenance", []string{"x", "1.0.0", "ecs", "t", "", b64([]byte("junk")), "{}"}},
		{bad, nil, "org1.admin", "RuleUploadWithProvenance", []string{"x", "1.0.0", "ecs", "t", "", b64([]byte("junk")), `{"source_sha256":"x"}`}},
		{notFound, nil, "org1.admin", "RuleVote", []string{"nope", "1.0.0", h, VoteApprove}},
		{bad, nil, "org1.admin", "RuleVote", []string{"ecs", "1.0.0", missing, VoteApprove}},
		{conflict, nil, "org3.admin", "RuleVote", []string{"ecs", "1.0.0", h, VoteApprove}},
		{deny, nil, "org1.user", "RuleActivate", []string{"ecs", h, ""}},
		{notFound, nil, "org1.admin", "RuleActivate", []string{"ecs", missing, ""}},
		{bad, nil, "org1.admin", "RuleActivate", []string{"ecs", h, "1"}},
		{notFound, nil, "org1.admin", "RuleRevoke", []string{missing, "why"}},
		{member, nil, "org4.admin", "RuleRevoke", []string{h, "why"}},
		{conflict, nil, "org1.admin", "RuleRevokeVote", []string{h, VoteApprove}},
		{notFound, nil, "org1.user", "RuleGet", []string{"nope@1.0.0"}},
		{notFound, nil, "org1.user", "RuleStatus", []string{"nope@1.0.0"}},
		{bad, nil, "org1.user", "RuleList", []string{"0", ""}},
		{bad, nil, "org1.user", "RuleCode", []string{"xyz"}},
		{bad, nil, "org1.user", "RuleHistory", []string{"xyz"}},
		{bad, nil, "org1.user", "RuleActivations", []string{"NoType"}},
		{deny, nil, "org1.user", "PriceSet", []string{"ecs", ecsPrices, ""}},
		{bad, nil, "org1.admin", "PriceSet", []string{"ecs", `{"currency":"cny"}`, ""}},
		{deny, nil, "org1.user", "InitPrice", []string{"ecs", ecsPrices}},
		{notFound, nil, "org1.user", "PriceGet", []string{org3, "ecs", ""}},
		{bad, nil, "org1.user", "PriceHistory", []string{"!", "ecs"}},
		{bad, nil, "org1.user", "PriceList", []string{"", "x", ""}},
		{deny, nil, "org1.user", "QuotaSet", []string{org2, ecsQuota}},
		{bad, nil, "org1.admin", "InitInitialQuota", []string{org1, ecsQuota}},
		{deny, nil, "org3.user", "QuotaGet", []string{org1, org2}},
		{notFound, nil, "org2.user", "QuotaGet", []string{org3, org2}},
		{bad, nil, "org2.user", "ResourceRequest", []string{"empty", org1, "ecs", `{}`, "30", ""}},
		{quota, nil, "org2.user", "ResourceRequest", []string{"big", org1, "ecs", `{"vcpu":1000}`, "30", ""}},
		{quota, nil, "org2.user", "ResourceRequest", []string{"long", org1, "ecs", ecsSpec, "3650", ""}},
		{conflict, nil, "org2.user", "ResourceRequest", []string{"r1", org1, "ecs", ecsSpec, "30", ""}},
		{notFound, nil, "org3.user", "ResourceRequest", []string{"x", org1, "ecs", ecsSpec, "30", ""}},
		{member, nil, "org4.user", "ResourceRequest", []string{"x", org1, "ecs", ecsSpec, "30", ""}},
		{bad, nil, "org2.user", "ResourceRequestMany", []string{"[]", org1, "ecs", ecsSpec, "30", ""}},
		{conflict, nil, "org2.user", "InitECSResource", []string{"r1", org1, ecsSpec, "30"}},
		{deny, nil, "org2.user", "ResourceActivate", []string{"r1"}},
		{conflict, nil, "org1.agent", "ResourceActivate", []string{"r1"}},
		{notFound, nil, "org1.agent", "ResourceActivate", []string{"nope"}},
		{deny, nil, "org3.user", "ResourceRelease", []string{"r1"}},
		{conflict, nil, "org2.user", "ResourceRelease", []string{"r2"}},
		{conflict, nil, "org2.user", "BilledECS", []string{"r2"}},
		{deny, nil, "org3.user", "ResourceGet", []string{"r1"}},
		{bad, nil, "org1.user", "ResourceList", []string{"both", "", "", ""}},
		{deny, at(0, -1, ""), "org2.user", "UsageSubmit", []string{rec("r1", 1, now-60, now)}},
		{bad, at(0, -1, ""), "org1.agent", "UsageSubmit", []string{rec("r1", -1, now-60, now)}},
		{bad, at(0, -1, ""), "org1.agent", "UsageSubmit", []string{rec("r1", 1, now, now+60)}},
		{notFound, at(0, -1, ""), "org1.agent", "UsageSubmit", []string{rec("nope", 1, now-60, now)}},
		{conflict, at(0, -1, ""), "org1.agent", "UsageSubmit", []string{rec("r2", 1, now-60, now)}},
		{deny, nil, "org2.user", "UsageAdjust", []string{"r1", "cpu_seconds", fmt.Sprint(now - 60), fmt.Sprint(now), "", "0", "wrong"}},
		{bad, nil, "org1.agent", "UsageAdjust", []string{"r1", "cpu_seconds", fmt.Sprint(now - 60), fmt.Sprint(now), "", "-1", "wrong"}},
		{bad, nil, "org1.agent", "UsageAdjust", []string{"r1", "cpu_seconds", fmt.Sprint(now - 60), fmt.Sprint(now), "", "0", ""}},
		{bad, nil, "org1.agent", "UsageAdjust", []string{"r1", "cpu_seconds", fmt.Sprint(now - 60), fmt.Sprint(now), "c-" + strings.Repeat("0", 40), "0", "a correction"}},
		{bad, at(0, -1, ""), "org1.agent", "UsageSubmit", []string{js([][]any{{"r1", "cpu_seconds", 1, now - 60, now, "c-" + strings.Repeat("ab", 20)}})}},
		{notFound, nil, "org1.agent", "UsageAdjust", []string{"r1", "cpu_seconds", fmt.Sprint(now - 60), fmt.Sprint(now), "no-such-record", "0", "wrong"}},
		{bad, at(1, -1, "egress_gib"), "org1.agent", "UsageSubmit", []string{js([]any{[]any{"r1", "cpu_seconds", 1, now - 60, now}, []any{"r1", now - 60, now, map[string]any{"cpu_seconds": 1, "egress_gib": "x"}}})}},
		{notFound, at(0, 1, "cpu_seconds"), "org1.agent", "UsageSubmit", []string{js([]any{map[string]any{"start": now - 60, "end": now, "metrics": []string{"cpu_seconds"}, "rows": []any{[]any{"r1", 1}, []any{"nope", 2}}}})}},
		{bad, nil, "org1.agent", "UsageSubmit", []string{"[1]"}},
		{notFound, nil, "org1.user", "UsageList", []string{"nope", "", ""}},
		{deny, nil, "org2.user", "BillClose", []string{"r1", ""}},
		{conflict, nil, "org1.agent", "BillClose", []string{"r2", ""}},
		{bad, nil, "org1.agent", "BillClose", []string{"r1", "x"}},
		{notFound, nil, "org1.user", "BillGet", []string{"r9:000001"}},
		{deny, nil, "org3.user", "BillGet", []string{"r2:000001"}},
		{bad, nil, "org1.user", "BillGet", []string{"bad"}},
		{deny, nil, "org2.user", "BillListByProvider", []string{org1, "", "", "", ""}},
		{deny, nil, "org1.user", "BillListByConsumer", []string{org2, "", "", "", ""}},
		{deny, nil, "org3.user", "BillListByResource", []string{"r1", "", ""}},
		{bad, nil, "org1.user", "BillTotals", []string{"x", ""}},
		{bad, nil, "org1.user", "BillTotalsMonthly", []string{"1", "12", ""}},
		{bad, nil, "org1.user", "BillTotalsMonthly", []string{"", "12", ""}},
		{bad, nil, "org1.user", "BillTotalsMonthly", []string{"0", "121", ""}},
		{bad, nil, "org1.user", "BillTotalsMonthly", []string{"0", "12", "yes"}},
		{member, nil, "org4.user", "BillTotalsMonthly", []string{"0", "12", ""}},
		{rule, nil, "org2.user", "BillQuote", []string{org1, "obs", "", "", "1", "2", ""}},
		{notFound, nil, "org2.user", "BillQuote", []string{org1, "ecs", "", "", "1", "2", missing}},
		{bad, nil, "org1.user", "History", []string{"bogus", ""}},
		{bad, nil, "org1.user", "ReadResource", []string{"bogus", ""}},
		{deny, nil, "org2.user", "QueryProviderBill", []string{org1, "", ""}},
		{deny, nil, "org2.user", "QueryProviderTotalCost", []string{org1}},
		{deny, nil, "org1.user", "BillRerate", []string{"ecs", "", "1", "2", "fix"}},
		{bad, nil, "org1.admin", "BillRerate", []string{"ecs", "r1", "1", "2", "fix"}},
		{deny, nil, "org2.admin", "BillRerate", []string{"", "r1", "1", "2", "fix"}},
		{deny, nil, "org1.user", "AllocationGrant", []string{org2, "a1", "100", "CNY", "2", "", "99999999999", ""}},
		{bad, nil, "org1.admin", "AllocationGrant", []string{org2, "a1", "0", "CNY", "2", "", "99999999999", ""}},
		{notFound, nil, "org1.admin", "AllocationTopUp", []string{org2, "nope", "1"}},
		{deny, nil, "org3.user", "AllocationGet", []string{org1, org2, "a1"}},
		{notFound, nil, "org2.user", "AllocationGet", []string{org1, org2, "nope"}},
		{deny, nil, "org3.user", "AllocationList", []string{org1, org2}},
		{deny, nil, "org1.user", "RuleActivateUntil", []string{"ecs", h, "", "99999999999"}},
		{bad, nil, "org1.admin", "RuleActivateUntil", []string{"ecs", h, "", ""}},
		{deny, nil, "org1.user", "QuotaSetWindow", []string{org2, ecsQuota, "", ""}},
		{bad, nil, "org1.admin", "QuotaSetWindow", []string{org2, ecsQuota, "10", "5"}},
		{unsupp, nil, "org1.user", "NoSuchTransaction", nil},
		{unsupp, nil, "org1.user", "BillClose", []string{"r1"}},
	}
	for _, c := range settlementRefusalCases(e) {
		cases = append(cases, tc(c))
	}
	seen := map[string]bool{}
	for _, c := range cases {
		seen[c.fn] = true
		e.refused(c.code, c.at, c.who, c.fn, c.args...)
	}
	// A rule that runs out of gas, and a ledger in another layout.
	e2 := newEnv(t)
	e2.initConsortium()
	e2.market()
	e2.activeRule("loop", "1.0.0", wasmFile(t, "rule_loop.wasm"))
	e2.activeResource("r1")
	e2.advance(time.Hour)
	e2.refused(rule, nil, "org1.user", "BillClose", "r1", "")
	e2.l.Put(keyConsortium, []byte(`{"members":["Org1MSP"],"layout":0}`))
	e2.refused(ledger, nil, "org1.user", "ConsortiumGet")
	e3 := newEnv(t)
	e3.refused(notFound, nil, "org1.user", "ConsortiumGet")
	seen["ConsortiumGet"] = true

	for _, fn := range transactions() {
		if !seen[fn] {
			t.Errorf("transaction %s has no case in TestRefusalCodes", fn)
		}
	}
}

// transactions lists the contract's transactions (its exported methods
// that take a transaction context).
func transactions() []string {
	var out []string
	ct := reflect.TypeOf(&Contract{})
	for i := 0; i < ct.NumMethod(); i++ {
		m := ct.Method(i)
		if m.Type.NumIn() >= 2 && m.Type.In(1).Name() == "TransactionContextInterface" {
			out = append(out, m.Name)
		}
	}
	sort.Strings(out)
	return out
}

// TestEveryRefusalHasACode walks every transaction with arguments that are
// wrong in every way (empty, malformed, naming nothing), as identities of
// every kind (a non-member, a member's client, an admin, the provider's
// agent, the consumer), and checks that each refusal carries a code that is
// the contract's own (not the router's fallback, model.CodeInternal).
func TestEveryRefusalHasACode(t *testing.T) {
	e, h := refusalEnv(t)
	values := []string{"", "!", "nope", "r1", "r2:000001", h, "-1", "[]", "{}", org1, org2, "ecs"}
	counts := map[model.Code]int{}
	for _, fn := range transactions() {
		m, _ := reflect.TypeOf(&Contract{}).MethodByName(fn)
		n := m.Type.NumIn() - 2
		for _, who := range []string{"org4.user", "org1.user", "org1.admin", "org1.agent", "org2.user"} {
			for vi, v := range values {
				args := make([]string, n)
				for i := range args {
					// Vary each position a little so that not every
					// argument is the same value.
					args[i] = values[(vi+i)%len(values)]
				}
				_ = v
				_, _, err := e.submit(who, fn, args...)
				if err == nil {
					continue
				}
				r, ok := model.DecodeRefusal(err.Error())
				if !ok || r.Code == model.CodeInternal || r.Code == model.CodeUnsupported {
					t.Errorf("%s %s(%s): %q", who, fn, short(args), err)
					continue
				}
				counts[r.Code]++
			}
		}
	}
	t.Logf("refusals by code: %v", counts)
}
