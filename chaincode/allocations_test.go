package chaincode

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/fedmeter/fedmeter/chaincode/model"
)

// allocEnv: the market, the fixed ecs rule (ecs_hourly: 81 an hour for
// ecsSpec), and a roomy quota.
func allocEnv(t *testing.T) *env {
	e := newEnv(t)
	e.initConsortium()
	e.ok("org1.admin", "PriceSet", "ecs", ecsPrices, "")
	e.ok("org1.admin", "QuotaSet", org2, `{"max_days":365,"vcpu":40,"memory_gib":80,"system_disk_gib":800,"public_ips":20}`)
	e.activeRule("ecs", "1.0.0", wasmFile(t, "ecs_hourly.wasm"))
	return e
}

// billFor holds a fresh resource id for hours and releases it, returning
// the release's BillIssued event payload.
func (e *env) billFor(id string, hours int) billEvent {
	e.tb.Helper()
	e.hold(id)
	e.advance(time.Duration(hours) * time.Hour)
	return e.releaseBill(id)
}

func grantArgs(id string, amount int64, from, to time.Time, stop bool) []string {
	s := "false"
	if stop {
		s = "true"
	}
	return []string{org2, id, js(amount), "CNY", "2", unix(from), unix(to), s}
}

func TestAllocationThresholdsOnce(t *testing.T) {
	e := allocEnv(t)
	month := e.now.Add(30 * 24 * time.Hour)
	e.okEvent("AllocationGranted", "org1.admin", "AllocationGrant", grantArgs("grant-a", 500, e.now, month, false)...)

	// 243 (48.6%), +162 = 405 (81%: crosses 80), +81 = 486 (97.2%),
	// +81 = 567 (113.4%: crosses 100), +81 = 648: nothing more.
	steps := []struct {
		id      string
		hours   int
		used    int64
		crossed []int64
	}{{"a1", 3, 243, nil}, {"a2", 2, 405, []int64{80}}, {"a3", 1, 486, nil}, {"a4", 1, 567, []int64{100}}, {"a5", 1, 648, nil}}
	for _, s := range steps {
		ev := e.billFor(s.id, s.hours)
		if ev.Allocation == nil || ev.Allocation.Allocation != "grant-a" || ev.Allocation.Used != s.used || ev.Allocation.Balance != 500-s.used {
			t.Fatalf("bill of %s: allocation draw %+v, want used %d", s.id, ev.Allocation, s.used)
		}
		if js(ev.Allocation.Crossed) != js(s.crossed) {
			t.Fatalf("bill of %s crossed %v, want %v", s.id, ev.Allocation.Crossed, s.crossed)
		}
	}
	a := decode[model.Allocation](t, e.eval("org2.user", "AllocationGet", org1, org2, "grant-a"))
	if a.Used != 648 || a.Balance != -148 || a.Bills != 5 || len(a.Crossed) != 2 || a.Crossed[0].Bill != "a2:000001" || a.Crossed[1].Bill != "a4:000001" {
		t.Fatalf("allocation %+v", a)
	}

	// A top-up to 800 takes the use (648, 81%) back below 100 but not 80:
	// 100 is crossed again by the bill that reaches 800, 80 is not.
	a = decode[model.Allocation](t, e.okEvent("AllocationToppedUp", "org1.admin", "AllocationTopUp", org2, "grant-a", "300"))
	if a.Amount != 800 || a.Balance != 152 || js(a.Reached) != "[80]" {
		t.Fatalf("after the top-up: %+v", a)
	}
	if ev := e.billFor("a6", 1); len(ev.Allocation.Crossed) != 0 { // 729
		t.Fatalf("a6 crossed %v", ev.Allocation.Crossed)
	}
	if ev := e.billFor("a7", 1); js(ev.Allocation.Crossed) != "[100]" { // 810
		t.Fatalf("a7 crossed %v, want [100]", ev.Allocation.Crossed)
	}
}

func TestAllocationJumpPastBoth(t *testing.T) {
	e := allocEnv(t)
	e.ok("org1.admin", "AllocationGrant", grantArgs("small", 100, e.now, e.now.Add(24*time.Hour), false)...)
	ev := e.billFor("j1", 3) // 243 of 100
	if ev.Allocation == nil || js(ev.Allocation.Crossed) != "[80,100]" {
		t.Fatalf("one bill past both thresholds crossed %+v, want [80,100]", ev.Allocation)
	}
	if ev := e.billFor("j2", 1); len(ev.Allocation.Crossed) != 0 {
		t.Fatalf("the next bill crossed %v again", ev.Allocation.Crossed)
	}
	a := decode[model.Allocation](t, e.eval("org1.user", "AllocationGet", org1, org2, "small"))
	if len(a.Crossed) != 2 || a.Crossed[0].Percent != 80 || a.Crossed[1].Percent != 100 || a.Crossed[0].Bill != "j1:000001" {
		t.Fatalf("crossings %+v", a.Crossed)
	}
}

// TestAllocationWindow: a bill draws when its period ends in [from, to):
// at from it does, at to it does not; nor does a bill in another currency.
func TestAllocationWindow(t *testing.T) {
	e := allocEnv(t)
	from := e.now.Add(time.Hour)
	to := from.Add(4 * time.Hour)
	e.ok("org1.admin", "AllocationGrant", grantArgs("w", 10000, from, to, false)...)
	// Another currency may overlap (Org1 bills ecs in CNY: it draws nothing).
	e.ok("org1.admin", "AllocationGrant", org2, "usd", "100", "USD", "2", unix(from), unix(to), "")
	for _, id := range []string{"w0", "w1", "w2", "w3"} {
		e.hold(id)
	}
	for _, c := range []struct {
		id   string
		at   time.Time
		draw bool
	}{{"w0", from.Add(-time.Second), false}, {"w1", from, true}, {"w2", to.Add(-time.Second), true}, {"w3", to, false}} {
		e.setTime(c.at)
		if ev := e.releaseBill(c.id); (ev.Allocation != nil) != c.draw {
			t.Errorf("bill of %s ending at %d (window [%d, %d)): draw %+v, want a draw: %v", c.id, c.at.Unix(), from.Unix(), to.Unix(), ev.Allocation, c.draw)
		}
	}
	e.fail("overlaps allocation w", "org1.admin", "AllocationGrant", grantArgs("w2", 1, to.Add(-time.Second), to.Add(time.Hour), false)...)
	e.fail("already exists", "org1.admin", "AllocationGrant", grantArgs("w", 1, to.Add(time.Hour), to.Add(2*time.Hour), false)...)
	// Windows that touch do not overlap.
	e.ok("org1.admin", "AllocationGrant", grantArgs("next", 1, to, to.Add(time.Hour), false)...)
	as := decode[model.Allocations](t, e.eval("org2.user", "AllocationList", org1, org2))
	if len(as.Entries) != 3 || as.Entries[0].ID != "usd" || as.Entries[1].ID != "w" || as.Entries[2].ID != "next" {
		t.Fatalf("allocations %+v", as.Entries)
	}
	// w1: held 1 h (81); w2: 5 h less a second, billed as 5 h (405).
	if w := as.Entries[1]; w.Bills != 2 || w.Used != 81+405 {
		t.Fatalf("allocation w: %+v", w)
	}
	if u := as.Entries[0]; u.Bills != 0 || u.Used != 0 {
		t.Fatalf("the USD allocation drew CNY bills: %+v", u)
	}
}

// hold has Org2 request id from Org1 and Org1 activate it now.
func (e *env) hold(id string) {
	e.tb.Helper()
	e.ok("org2.user", "ResourceRequest", id, org1, "ecs", ecsSpec, "30", "")
	e.ok("org1.agent", "ResourceActivate", id)
}

// releaseBill releases id now and returns its BillIssued event.
func (e *env) releaseBill(id string) billEvent {
	e.tb.Helper()
	_, ev, err := e.submit("org2.user", "ResourceRelease", id)
	if err != nil {
		e.tb.Fatalf("releasing %s: %v", id, err)
	}
	if ev == nil || ev.Name != "BillIssued" {
		e.tb.Fatalf("releasing %s: event %+v", id, ev)
	}
	var be billEvent
	if err := json.Unmarshal(ev.Payload, &be); err != nil {
		e.tb.Fatal(err)
	}
	return be
}

// TestAllocationHardStop: a spent allocation with a hard stop refuses new
// requests (quota_exceeded) until a top-up; without a hard stop, or once
// its window ended, requests go through.
func TestAllocationHardStop(t *testing.T) {
	e := allocEnv(t)
	end := e.now.Add(10 * time.Hour)
	e.ok("org1.admin", "AllocationGrant", grantArgs("stop", 243, e.now, end, true)...)
	e.billFor("h1", 3) // 243 of 243: spent
	e.refused(model.CodeQuotaExceeded, nil, "org2.user", "ResourceRequest", "h2", org1, "ecs", ecsSpec, "30", "")
	e.fail("allocation stop", "org2.user", "ResourceRequestMany", `["h2","h3"]`, org1, "ecs", ecsSpec, "30", "")
	e.okEvent("AllocationToppedUp", "org1.admin", "AllocationTopUp", org2, "stop", "1")
	e.hold("h2")
	// The stop ends with the window.
	e.billFor("h3", 1)
	e.refused(model.CodeQuotaExceeded, nil, "org2.user", "ResourceRequest", "h4", org1, "ecs", ecsSpec, "30", "")
	e.setTime(end)
	e.hold("h4")
	e.fail("ended", "org1.admin", "AllocationTopUp", org2, "stop", "1")
}

// TestAllocationGovernance: only the provider's admins grant and top up;
// only the two orgs read.
func TestAllocationGovernance(t *testing.T) {
	e := allocEnv(t)
	day := e.now.Add(24 * time.Hour)
	e.refused(model.CodeDenied, nil, "org1.user", "AllocationGrant", grantArgs("g", 100, e.now, day, false)...)
	e.refused(model.CodeDenied, nil, "org1.agent", "AllocationGrant", grantArgs("g", 100, e.now, day, false)...)
	e.refused(model.CodeNotMember, nil, "org4.admin", "AllocationGrant", grantArgs("g", 100, e.now, day, false)...)
	e.refused(model.CodeBadArgument, nil, "org2.admin", "AllocationGrant", grantArgs("g", 100, e.now, day, false)...) // to itself
	e.refused(model.CodeBadArgument, nil, "org1.admin", "AllocationGrant", org2, "g", "100", "CNY", "2", "", "", "")
	e.refused(model.CodeBadArgument, nil, "org1.admin", "AllocationGrant", org2, "g", "100", "CNY", "2", "", unix(day), "maybe")
	e.refused(model.CodeBadArgument, nil, "org1.admin", "AllocationGrant", org2, "g", "-5", "CNY", "2", "", unix(day), "")
	e.ok("org1.admin", "AllocationGrant", grantArgs("g", 100, e.now, day, false)...)
	e.refused(model.CodeDenied, nil, "org1.user", "AllocationTopUp", org2, "g", "10")
	e.refused(model.CodeNotFound, nil, "org3.admin", "AllocationTopUp", org2, "g", "10") // Org3 granted none
	e.refused(model.CodeBadArgument, nil, "org1.admin", "AllocationTopUp", org2, "g", "0")
	e.refused(model.CodeDenied, nil, "org3.user", "AllocationGet", org1, org2, "g")
	e.refused(model.CodeDenied, nil, "org3.user", "AllocationList", org1, org2)
	e.refused(model.CodeNotMember, nil, "org4.user", "AllocationList", org1, org2)
	if a := decode[model.Allocation](t, e.eval("org2.user", "AllocationGet", org1, org2, "g")); a.Balance != 100 {
		t.Fatalf("balance %d", a.Balance)
	}
}

// TestAllocationAdjustments: an adjustment draws on the allocation of the
// bill it adjusts; a negative one gives back without re-arming a threshold.
func TestAllocationAdjustments(t *testing.T) {
	e := allocEnv(t)
	from := e.now
	e.ok("org1.admin", "AllocationGrant", grantArgs("adj", 300, e.now, e.now.Add(24*time.Hour), false)...)
	if ev := e.billFor("d1", 3); js(ev.Allocation.Crossed) != "[80]" { // 243 of 300
		t.Fatalf("d1 crossed %v", ev.Allocation.Crossed)
	}
	// vcpu_hour 12 -> 10: an hour of ecsSpec costs 77, d1's 3 h 231: -12.
	e.ok("org1.admin", "PriceSet", "ecs", `{"currency":"CNY","scale":2,"unit_prices":{"vcpu_hour":10,"memory_gib_hour":3,"disk_gib_hour":1,"public_ip_hour":5,"egress_gib":80}}`, "")
	e.advance(time.Minute)
	res := decode[model.RerateResult](t, e.okEvent("BillsRerated", "org1.admin", "BillRerate", "ecs", "", unix(from), unix(e.now), "vcpu price fix"))
	if len(res.Adjustments) != 1 || res.Adjustments[0].Amount != -12 || len(res.Draws) != 1 || res.Draws[0].Used != 231 || len(res.Draws[0].Crossed) != 0 {
		t.Fatalf("re-rate %+v", res)
	}
	a := decode[model.Allocation](t, e.eval("org1.user", "AllocationGet", org1, org2, "adj"))
	if a.Used != 231 || a.Bills != 2 || js(a.Reached) != "[80]" {
		t.Fatalf("after the negative adjustment (77%% used, 80 stays reached): %+v", a)
	}
	if ev := e.billFor("d2", 1); js(ev.Allocation.Crossed) != "[100]" { // 231+77 = 308 of 300
		t.Fatalf("d2 crossed %v, want [100] only", ev.Allocation.Crossed)
	}
}

// A credit note gives back to the allocation its original drew on, even
// when it is issued after that allocation's window (when another
// allocation is in force), and re-arms no threshold.
func TestAllocationCreditGivesBack(t *testing.T) {
	e := allocEnv(t)
	day := e.now.Add(24 * time.Hour)
	e.okEvent("AllocationGranted", "org1.admin", "AllocationGrant", grantArgs("grant-1", 300, e.now, day, false)...)
	e.okEvent("AllocationGranted", "org1.admin", "AllocationGrant", grantArgs("grant-2", 300, day, day.Add(24*time.Hour), false)...)
	ev := e.billFor("c1", 3) // 243 of 300: 81%, crosses 80
	if ev.Allocation == nil || ev.Allocation.Allocation != "grant-1" || js(ev.Allocation.Crossed) != "[80]" {
		t.Fatalf("the bill's draw %+v", ev.Allocation)
	}
	e.advance(24 * time.Hour) // grant-2's window now
	e.okEvent("BillIssued", "org1.admin", "BillCredit", ev.ID, "100", "wrong vcpu count")
	a1 := decode[model.Allocation](t, e.eval("org2.user", "AllocationGet", org1, org2, "grant-1"))
	if a1.Used != 143 || a1.Balance != 157 || js(a1.Reached) != "[80]" {
		t.Fatalf("grant-1 after the credit: %+v, want used 143, balance 157, 80 still reached", a1)
	}
	a2 := decode[model.Allocation](t, e.eval("org2.user", "AllocationGet", org1, org2, "grant-2"))
	if a2.Used != 0 {
		t.Fatalf("grant-2 drew the credit of a bill it never drew: %+v", a2)
	}
}
