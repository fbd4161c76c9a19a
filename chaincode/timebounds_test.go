package chaincode

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/fedmeter/fedmeter/chaincode/model"
)

// TestActivationEnd: a rule activated for [s, e) bills a period ending at s
// and at e-1, not one ending at e; a release at e leaves its bill pending,
// an earlier unbounded activation does not come back, and BillClose issues
// the pending bill once a rule is activated again.
func TestActivationEnd(t *testing.T) {
	e := newEnv(t)
	e.initConsortium()
	e.ok("org1.admin", "PriceSet", "ecs", ecsPrices, "")
	e.ok("org1.admin", "QuotaSet", org2, `{"max_days":365,"vcpu":40,"memory_gib":80,"system_disk_gib":800,"public_ips":20}`)
	old := e.activeRule("ecs", "1.0.0", wasmFile(t, "ecs_typo.wasm"))
	bounded := e.uploadRule("ecs", "1.0.1", wasmFile(t, "ecs_hourly.wasm"))
	e.approveRule("ecs", "1.0.1", bounded)
	s := e.now.Add(time.Hour)
	end := s.Add(2 * time.Hour)
	e.fail("effective_to is required", "org1.admin", "RuleActivateUntil", "ecs", bounded, unix(s), "")
	e.fail("must be after effective_from", "org1.admin", "RuleActivateUntil", "ecs", bounded, unix(s), unix(s))
	acts := decode[Activations](t, e.okEvent("RuleActivated", "org1.admin", "RuleActivateUntil", "ecs", bounded, unix(s), unix(end)))
	if n := len(acts.Entries); n != 2 || acts.Entries[1].EffectiveTo != end.Unix() || acts.Entries[0].EffectiveTo != 0 {
		t.Fatalf("activations %+v", acts.Entries)
	}
	for _, id := range []string{"b0", "b1", "b2", "b3"} {
		e.hold(id)
	}
	for _, c := range []struct {
		id   string
		at   time.Time
		rule string
	}{{"b0", s.Add(-time.Second), old}, {"b1", s, bounded}, {"b2", end.Add(-time.Second), bounded}} {
		e.setTime(c.at)
		out := e.ok("org2.user", "ResourceRelease", c.id)
		res := decode[model.ReleaseResult](t, out)
		if res.Bill == nil {
			t.Fatalf("release of %s at %d: %s", c.id, c.at.Unix(), out)
		}
		if b := decode[Bill](t, e.eval("org1.user", "BillGet", res.Bill.ID)); b.Rule.Hash != c.rule {
			t.Fatalf("bill of %s ending at %d used rule %s, want %s", c.id, c.at.Unix(), b.Rule.Hash, c.rule)
		}
	}
	e.setTime(end)
	out, ev, err := e.submit("org2.user", "ResourceRelease", "b3")
	if err != nil {
		t.Fatal(err)
	}
	res := decode[model.ReleaseResult](t, out)
	if res.Bill != nil || res.Pending == nil || ev == nil || ev.Name != "BillPending" {
		t.Fatalf("release at the activation's end %d: %s, event %+v; want the bill pending", end.Unix(), out, ev)
	}
	var pe pendingEvent
	if err := json.Unmarshal(ev.Payload, &pe); err != nil || pe.Reason == "" {
		t.Fatalf("pending event %s", ev.Payload)
	}
	e.refused(model.CodeRuleFailed, nil, "org1.agent", "BillClose", "b3", "")
	q := decode[Quote](t, e.eval("org2.user", "BillQuote", org1, "ecs", ecsSpec, "{}", unix(s), unix(end.Add(-time.Second)), ""))
	if q.Rule.Hash != bounded {
		t.Fatalf("quote inside the window used %s", q.Rule.Hash)
	}
	e.advance(time.Minute)
	e.okEvent("RuleActivated", "org3.admin", "RuleActivate", "ecs", bounded, "")
	e.okEvent("BillIssued", "org1.agent", "BillClose", "b3", "")
}

// TestQuotaWindow: a quota valid in [f, u) refuses a request at f-1 and at
// u with quota_exceeded, grants one at f and at u-1; QuotaSet without a
// window lifts it.
func TestQuotaWindow(t *testing.T) {
	e := newEnv(t)
	e.initConsortium()
	e.ok("org1.admin", "PriceSet", "ecs", ecsPrices, "")
	f := e.now.Add(time.Hour)
	u := f.Add(24 * time.Hour)
	lim := `{"max_days":365,"vcpu":40,"memory_gib":80,"system_disk_gib":800,"public_ips":20}`
	q := decode[Quota](t, e.ok("org1.admin", "QuotaSetWindow", org2, lim, unix(f), unix(u)))
	if q.ValidFrom != f.Unix() || q.ValidTo != u.Unix() {
		t.Fatalf("quota %+v", q)
	}
	req := func(id string) []string { return []string{id, org1, "ecs", ecsSpec, "30", ""} }
	e.setTime(f.Add(-time.Second))
	msg := e.fail("valid from", "org2.user", "ResourceRequest", req("q0")...)
	if r, _ := model.DecodeRefusal(msg); r.Code != model.CodeQuotaExceeded {
		t.Fatalf("before the window: %s", msg)
	}
	e.setTime(f)
	e.ok("org2.user", "ResourceRequest", req("q1")...)
	e.setTime(u.Add(-time.Second))
	e.ok("org2.user", "ResourceRequest", req("q2")...)
	e.setTime(u)
	msg = e.fail("valid until", "org2.user", "ResourceRequest", req("q3")...)
	if r, _ := model.DecodeRefusal(msg); r.Code != model.CodeQuotaExceeded {
		t.Fatalf("at the window's end: %s", msg)
	}
	// The window ends requests, not holdings: q1 is still released and
	// billed as usual (no rule here: its bill is pending).
	e.ok("org1.agent", "ResourceActivate", "q1")
	e.ok("org2.user", "ResourceRelease", "q1")
	// QuotaSet replaces limits and window together.
	if q := decode[Quota](t, e.ok("org1.admin", "QuotaSet", org2, lim)); q.ValidFrom != 0 || q.ValidTo != 0 || q.Used["vcpu"] != 2 {
		t.Fatalf("quota after QuotaSet %+v", q)
	}
	e.ok("org2.user", "ResourceRequest", req("q3")...)
	// Governance: admins of the provider only; a window must be well formed.
	e.refused(model.CodeDenied, nil, "org1.user", "QuotaSetWindow", org2, lim, unix(f), unix(u))
	e.refused(model.CodeNotMember, nil, "org4.admin", "QuotaSetWindow", org2, lim, unix(f), unix(u))
	e.refused(model.CodeBadArgument, nil, "org1.admin", "QuotaSetWindow", org2, lim, unix(u), unix(f))
	e.refused(model.CodeBadArgument, nil, "org1.admin", "QuotaSetWindow", org2, lim, "soon", "")
}

// TestActivationEndGovernance: only member admins set an activation's end.
func TestActivationEndGovernance(t *testing.T) {
	e := newEnv(t)
	e.initConsortium()
	h := e.uploadRule("ecs", "1.0.0", wasmFile(t, "ecs_hourly.wasm"))
	end := unix(e.now.Add(time.Hour))
	e.refused(model.CodeConflict, nil, "org1.admin", "RuleActivateUntil", "ecs", h, "", end) // not approved yet
	e.approveRule("ecs", "1.0.0", h)
	e.refused(model.CodeDenied, nil, "org1.user", "RuleActivateUntil", "ecs", h, "", end)
	e.refused(model.CodeNotMember, nil, "org4.admin", "RuleActivateUntil", "ecs", h, "", end)
	e.refused(model.CodeBadArgument, nil, "org1.admin", "RuleActivateUntil", "ecs", h, "", unix(e.now))
	e.okEvent("RuleActivated", "org2.admin", "RuleActivateUntil", "ecs", h, "", end)
}
