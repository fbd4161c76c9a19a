package chaincode

import (
	"testing"
	"time"

	"github.com/fedmeter/fedmeter/chaincode/model"
)

// The re-rating story: rule ecs 1.0.0 (testdata/ecs_typo.wat) has a typo in
// the public-IP key, so it never bills public IPs. Three bills are issued
// under it; the members approve the fix (ecs 1.0.1, testdata/ecs_hourly) and
// Org1 re-rates the month. Prices (ecsPrices): vcpu_hour 12, memory_gib_hour
// 3, disk_gib_hour 1, public_ip_hour 5, egress_gib 80 (CNY, scale 2).
//
// With spec {vcpu 2, memory 4, system disk 40, public IPs 1} an hour costs
// 2*12 + 4*3 + 40*1 = 76 under the typo and 76 + 1*5 = 81 fixed:
//
//	r1, released after 3 h:            228 -> 243, adjustment +15
//	r2, released after 5 h:            380 -> 405, adjustment +25
//	r3, closed after 2 h, 3 GiB egress: 2*76+3*80 = 392 -> 402, adjustment +10
//	r4, no public IP, released after 1 h: 76 -> 76, no adjustment
//	r5, held 2 h after the period:     152, not re-rated
const rerateSpecNoIP = `{"vcpu":2,"memory_gib":4,"system_disk_gib":40}`

func rerateEnv(t *testing.T) (*env, int64, int64) {
	e := newEnv(t)
	e.initConsortium()
	e.ok("org1.admin", "PriceSet", "ecs", ecsPrices, "")
	e.ok("org1.admin", "QuotaSet", org2, `{"max_days":365,"vcpu":20,"memory_gib":40,"system_disk_gib":400,"public_ips":5}`)
	e.activeRule("ecs", "1.0.0", wasmFile(t, "ecs_typo.wasm"))
	from := e.now.Unix()
	e.advance(time.Minute)
	for _, id := range []string{"r1", "r2", "r3"} {
		e.ok("org2.user", "ResourceRequest", id, org1, "ecs", ecsSpec, "30", "")
		e.ok("org1.agent", "ResourceActivate", id)
	}
	e.ok("org2.user", "ResourceRequest", "r4", org1, "ecs", rerateSpecNoIP, "30", "")
	e.ok("org1.agent", "ResourceActivate", "r4")
	start := e.now
	e.setTime(start.Add(time.Hour))
	e.ok("org2.user", "ResourceRelease", "r4")
	e.setTime(start.Add(2 * time.Hour))
	e.ok("org1.agent", "UsageSubmit", js([][]any{{"r3", "egress_gib", 3, start.Unix(), start.Add(2 * time.Hour).Unix()}}))
	e.ok("org1.agent", "BillClose", "r3", unix(e.now))
	e.setTime(start.Add(3 * time.Hour))
	e.ok("org2.user", "ResourceRelease", "r1")
	e.setTime(start.Add(5 * time.Hour))
	e.ok("org2.user", "ResourceRelease", "r2")
	to := e.now.Unix() + 1
	e.ok("org2.user", "ResourceRequest", "r5", org1, "ecs", ecsSpec, "30", "")
	e.ok("org1.agent", "ResourceActivate", "r5")
	e.advance(2 * time.Hour)
	e.ok("org2.user", "ResourceRelease", "r5")
	return e, from, to
}

func billAmount(t *testing.T, e *env, id string) int64 {
	t.Helper()
	return decode[Bill](t, e.eval("org1.user", "BillGet", id)).Amount
}

func TestRerateFixedRule(t *testing.T) {
	e, from, to := rerateEnv(t)
	for id, want := range map[string]int64{"r1:000001": 228, "r2:000001": 380, "r3:000001": 392, "r4:000001": 76, "r5:000001": 152} {
		if got := billAmount(t, e, id); got != want {
			t.Fatalf("bill %s under the typo: %d, want %d", id, got, want)
		}
	}
	originals := map[string]string{}
	for _, id := range []string{"r1:000001", "r2:000001", "r3:000001", "r4:000001", "r5:000001"} {
		originals[id] = e.eval("org1.user", "BillGet", id)
	}

	// The fix, approved and active now. Nothing may be re-rated without a
	// reason.
	e.advance(time.Hour)
	fixed := e.activeRule("ecs", "1.0.1", wasmFile(t, "ecs_hourly.wasm"))
	e.advance(time.Minute)
	e.fail("reason is required", "org1.admin", "BillRerate", "ecs", "", js(from), js(to), "")

	out := e.okEvent("BillsRerated", "org1.admin", "BillRerate", "ecs", "", js(from), js(to), "public IPs were not billed (rule ecs 1.0.0 typo)")
	res := decode[model.RerateResult](t, out)
	if res.Rule.Hash != fixed || res.Examined != 4 || res.Unchanged != 1 {
		t.Fatalf("rerate result %+v; want the fixed rule, 4 bills examined (r5 is after the period), 1 unchanged (r4)", res)
	}
	want := []model.RerateOutcome{
		{ID: "r1:000002", Adjusts: "r1:000001", Previous: 228, Rerated: 243, Amount: 15, Currency: "CNY", Scale: 2},
		{ID: "r2:000002", Adjusts: "r2:000001", Previous: 380, Rerated: 405, Amount: 25, Currency: "CNY", Scale: 2},
		{ID: "r3:000002", Adjusts: "r3:000001", Previous: 392, Rerated: 402, Amount: 10, Currency: "CNY", Scale: 2},
	}
	if js(res.Adjustments) != js(want) {
		t.Fatalf("adjustments\n got %s\nwant %s", js(res.Adjustments), js(want))
	}
	for _, w := range want {
		b := decode[Bill](t, e.eval("org2.user", "BillGet", w.ID))
		if b.Kind != model.BillKindAdjustment || b.Adjusts != w.Adjusts || b.Amount != w.Amount || b.Reason == "" || b.Rule.Hash != fixed {
			t.Fatalf("adjustment bill %+v", b)
		}
		orig := decode[Bill](t, originals[w.Adjusts])
		if b.Period != orig.Period || b.Resource != orig.Resource {
			t.Fatalf("adjustment %s covers %+v of %s; the bill it adjusts %+v of %s", b.ID, b.Period, b.Resource, orig.Period, orig.Resource)
		}
		var sum int64
		for _, l := range b.Lines {
			sum += l.Amount
		}
		last := b.Lines[len(b.Lines)-1]
		if sum != b.Amount || last.Item != adjustedLine || last.Amount != -w.Previous {
			t.Fatalf("adjustment %s lines %+v: sum %d, want %d ending with %s %d", b.ID, b.Lines, sum, b.Amount, adjustedLine, -w.Previous)
		}
	}
	for id, before := range originals {
		if after := e.eval("org1.user", "BillGet", id); after != before {
			t.Fatalf("bill %s changed by re-rating:\n%s\n%s", id, before, after)
		}
	}
	// Adjustments count in the totals: 228+380+392+76+152 + 15+25+10.
	tot := decode[Totals](t, e.eval("org1.user", "BillTotals", "", ""))
	if len(tot.Receivable) != 1 || tot.Receivable[0].Amount != 1228+50 || tot.Receivable[0].Bills != 8 {
		t.Fatalf("totals %+v", tot.Receivable)
	}

	// Idempotent: again, with nothing changed, issues nothing and emits
	// nothing.
	e.advance(time.Minute)
	out, ev, err := e.submit("org1.admin", "BillRerate", "ecs", "", js(from), js(to), "again")
	if err != nil {
		t.Fatal(err)
	}
	if again := decode[model.RerateResult](t, out); len(again.Adjustments) != 0 || again.Unchanged != 4 || ev != nil {
		t.Fatalf("second re-rate: %+v, event %+v; want nothing issued", again, ev)
	}

	// A price fix then re-rates r1 alone: public_ip_hour 5 -> 6 over 3 h is
	// +3 on top of what bill and adjustment came to (243).
	e.ok("org1.admin", "PriceSet", "ecs", `{"currency":"CNY","scale":2,"unit_prices":{"vcpu_hour":12,"memory_gib_hour":3,"disk_gib_hour":1,"public_ip_hour":6,"egress_gib":80}}`, "")
	e.advance(time.Minute)
	res = decode[model.RerateResult](t, e.okEvent("BillsRerated", "org1.admin", "BillRerate", "", "r1", js(from), js(to), "public IP price fix"))
	if len(res.Adjustments) != 1 || js(res.Adjustments[0]) != js(model.RerateOutcome{ID: "r1:000003", Adjusts: "r1:000001", Previous: 243, Rerated: 246, Amount: 3, Currency: "CNY", Scale: 2}) {
		t.Fatalf("price fix re-rate: %+v", res.Adjustments)
	}
}

// TestRerateGovernance: only the provider's admins re-rate, and only their
// own bills.
func TestRerateGovernance(t *testing.T) {
	e, from, to := rerateEnv(t)
	args := func(typ, res string) []string { return []string{typ, res, js(from), js(to), "fix"} }
	e.refused(model.CodeDenied, nil, "org1.user", "BillRerate", args("ecs", "")...)
	e.refused(model.CodeDenied, nil, "org1.agent", "BillRerate", args("", "r1")...)
	e.refused(model.CodeDenied, nil, "org2.admin", "BillRerate", args("", "r1")...) // the consumer
	e.refused(model.CodeNotMember, nil, "org4.admin", "BillRerate", args("ecs", "")...)
	e.refused(model.CodeBadArgument, nil, "org1.admin", "BillRerate", args("ecs", "r1")...)
	e.refused(model.CodeBadArgument, nil, "org1.admin", "BillRerate", "ecs", "", "", js(to), "fix")
	e.refused(model.CodeNotFound, nil, "org1.admin", "BillRerate", args("", "nope")...)
	// Another provider's re-rate of the type finds none of Org1's bills.
	res := decode[model.RerateResult](t, e.ok("org3.admin", "BillRerate", args("ecs", "")...))
	if res.Examined != 0 {
		t.Fatalf("Org3 re-rated %d of Org1's bills", res.Examined)
	}
}
