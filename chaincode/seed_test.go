package chaincode

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fedmeter/fedmeter/chaincode/model"
)

// seedCall is one line of testdata/seed_section12.txt: who runs it, and the
// function and arguments of its verbatim -c payload.
type seedCall struct {
	who  string
	fn   string
	args []string
}

func seedSection12(t *testing.T) []seedCall {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "seed_section12.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var calls []seedCall
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		who, payload, _ := strings.Cut(line, " ")
		var c struct{ Args []string }
		if err := json.Unmarshal([]byte(payload), &c); err != nil || len(c.Args) == 0 {
			t.Fatalf("seed_section12.txt: %q: %v", line, err)
		}
		calls = append(calls, seedCall{who: who, fn: c.Args[0], args: c.Args[1:]})
	}
	if len(calls) != 7 {
		t.Fatalf("seed_section12.txt has %d calls, want 7", len(calls))
	}
	return calls
}

// seedAliases has the members vote the seed's org codes and short names:
// 00001/CNIC for Org1MSP, 00002/CNNIC for Org2MSP (2 of 3 each).
func (e *env) seedAliases() {
	e.tb.Helper()
	for _, v := range []string{org1 + "=00001,CNIC", org2 + "=00002,CNNIC"} {
		p := decode[Proposal](e.tb, e.okEvent("ConsortiumProposed", "org1.admin", "ConsortiumPropose", KindMemberAlias, v, "the prototype's org code and name"))
		e.okEvent("ConsortiumVoted", "org1.admin", "ConsortiumVote", p.ID, VoteApprove)
		e.okEvent("ConsortiumDecided", "org3.admin", "ConsortiumVote", p.ID, VoteApprove)
	}
}

// TestSeedSection12 replays the seed prototype's section 12 verbatim
// (testdata/seed_section12.txt) on the contract, on the stub and on
// network/embedded, and checks the bill it yields by hand. Around the
// seed's calls, what fedmeter needs that the prototype did not have: the
// consortium, the aliases voted, the ECS rule approved and activated, and
// the provider activating the server it provisioned.
func TestSeedSection12(t *testing.T) {
	forLedgers(t, "replay", func(t *testing.T, e *env) { seedReplay(t, e) })
}

func seedReplay(t *testing.T, e *env) {
	calls := seedSection12(t)
	e.initConsortium()
	e.seedAliases()
	cons := decode[Consortium](t, e.eval("org3.user", "ConsortiumGet"))
	if js(cons.Aliases) != `{"00001":"Org1MSP","00002":"Org2MSP","CNIC":"Org1MSP","CNNIC":"Org2MSP"}` {
		t.Fatalf("aliases %v", cons.Aliases)
	}
	hash := e.activeRule("ecs", "1.0.0", wasmFile(t, "ecs_hourly.wasm"))

	// initInitialQuota: CNIC (Org1) grants CNNIC (Org2) quota 000001.
	q := decode[SeedQuota](t, e.ok(calls[0].who, calls[0].fn, calls[0].args...))
	quota := decode[Quota](t, string(q.Quota))
	wantLimits := `{"bandwidth_mbps":2,"capacity_gib":100,"max_days":365,"memory_gib":40,"private_ips":20,"public_ips":10,"system_disk_gib":40,"vcpu":10}`
	if q.QuotaID != "000001" || quota.Provider != org1 || quota.Consumer != org2 || js(quota.Limits) != wantLimits {
		t.Fatalf("initInitialQuota: %+v %s", q, q.Quota)
	}
	// initPrice: CNIC's prices, in fen per hour.
	p := decode[SeedPrices](t, e.ok(calls[1].who, calls[1].fn, calls[1].args...))
	ecs := decode[PriceBook](t, string(p.ECS))
	obs := decode[PriceBook](t, string(p.OBS))
	if ecs.Provider != org1 || js(ecs.Entries[0].UnitPrices) != `{"disk_gib_hour":1,"memory_gib_hour":4,"private_bandwidth_mbps_hour":0,"public_bandwidth_mbps_hour":2,"vcpu_hour":10}` ||
		ecs.Entries[0].Currency != "CNY" || ecs.Entries[0].Scale != 2 || js(obs.Entries[0].UnitPrices) != `{"capacity_gib_hour":1,"request":1}` {
		t.Fatalf("initPrice: %s", js(p))
	}
	// readResource quota 000001: the consumer reads its quota.
	if rq := decode[Quota](t, e.eval(calls[2].who, calls[2].fn, calls[2].args...)); js(rq.Limits) != wantLimits {
		t.Fatalf("readResource quota: %+v", rq)
	}
	// initECSResource: user 00002001 of CNNIC asks CNIC for a server.
	res := decode[Resource](t, e.ok(calls[3].who, calls[3].fn, calls[3].args...))
	if res.ID != "202202150002" || res.Provider != org1 || res.Consumer != org2 || res.Type != "ecs" || res.Days != 365 ||
		js(res.Spec) != `{"memory_gib":4,"system_disk_gib":8,"vcpu":2}` ||
		js(res.Attributes) != `{"bandwidth_mbps":"2","network_type":"public","user":"00002001"}` {
		t.Fatalf("initECSResource: %s", js(res))
	}
	// Not in section 12: the provider provisions the server (the
	// prototype billed from the request; fedmeter from the activation).
	e.ok("org1.agent", "ResourceActivate", res.ID)

	// billedECS, verbatim: it names instance 202202160001, which section
	// 12 never requested (it requested 202202150002). The prototype
	// answered "This ECSResource doesn't exist"; fedmeter refuses likewise.
	e.advance(24 * time.Hour)
	msg := e.fail("202202160001", calls[4].who, calls[4].fn, calls[4].args...)
	if r, _ := model.DecodeRefusal(msg); r.Code != model.CodeNotFound {
		t.Fatalf("billedECS of an instance never requested: %s", msg)
	}
	// The same call for the instance section 12 requested, a day after
	// its activation. Hand computation (ecs_hourly: hours = ceil(86400 /
	// 3600) = 24, quantity = size × hours, amount = quantity × unit price,
	// prices in fen from initPrice):
	//   vcpu         2 × 24 =  48 × 10 = 480
	//   memory       4 × 24 =  96 ×  4 = 384
	//   system_disk  8 × 24 = 192 ×  1 = 192
	//   total                          1056 fen = 10.56 CNY
	// (The prototype's own formula, hours × (cpu×10 + disk×1 + ram×4 +
	// bandwidth×2 public), gave 24 × (20 + 8 + 16 + 4) = 1152: fedmeter's
	// ECS rules bill egress usage, not bandwidth held, so the 2 Mbps
	// (96 fen) are recorded on the resource and not billed.)
	args := append([]string{res.ID}, calls[4].args[1:]...)
	sb := decode[SeedBill](t, e.ok(calls[4].who, calls[4].fn, args...))
	if sb.TotalCost != 1056 || sb.Currency != "CNY" || sb.Scale != 2 || sb.Bill == nil || sb.Bill.ID != "202202150002:000001" ||
		sb.Resource.Status != StatusReleased || sb.ProviderID != "00001" || sb.UserID != "00002001" || sb.Provider != org1 || sb.Consumer != org2 {
		t.Fatalf("billedECS: %s", js(sb))
	}
	bill := decode[Bill](t, e.eval("org2.user", "readResource", "ECSBill", res.ID))
	wantLines := []BillLine{
		{Item: "vcpu", Quantity: 48, Unit: "vcpu_hour", UnitPrice: 10, Amount: 480},
		{Item: "memory", Quantity: 96, Unit: "memory_gib_hour", UnitPrice: 4, Amount: 384},
		{Item: "system_disk", Quantity: 192, Unit: "disk_gib_hour", UnitPrice: 1, Amount: 192},
	}
	if bill.Amount != 1056 || js(bill.Lines) != js(wantLines) || bill.Rule.Hash != hash || bill.Period.End-bill.Period.Start != 86400 {
		t.Fatalf("the bill: %s", js(bill))
	}
	// queryProviderBill and queryProviderTotalCost: CNIC's ECS bills.
	list := decode[SeedBillList](t, e.eval(calls[5].who, calls[5].fn, calls[5].args...))
	if len(list.Result) != 1 || list.Result[0].ID != bill.ID || list.Result[0].Amount != 1056 {
		t.Fatalf("queryProviderBill: %s", js(list))
	}
	tot := decode[SeedTotalCost](t, e.eval(calls[6].who, calls[6].fn, calls[6].args...))
	if js(tot) != `{"provider_id":"00001","provider":"Org1MSP","kind":"ECSBill","bills":1,"total_cost":[{"currency":"CNY","scale":2,"amount":1056}]}` {
		t.Fatalf("queryProviderTotalCost: %s", js(tot))
	}
	if s := e.eval("org1.admin", "queryProviderTotalCost", "CNIC", "OSSBill"); s != `{"provider_id":"CNIC","provider":"Org1MSP","kind":"OSSBill","bills":0,"total_cost":[]}` {
		t.Fatalf("queryProviderTotalCost OSSBill: %s", s)
	}
	// fedmeter's forms beside them.
	if tot := decode[Totals](t, e.eval("org1.admin", "queryProviderTotalCost", org1)); js(tot.Receivable) != js([]Total{{Counterparty: org2, Currency: "CNY", Scale: 2, Amount: 1056, Bills: 1}}) {
		t.Fatalf("queryProviderTotalCost (fedmeter's form): %+v", tot)
	}
	if page := decode[Page[Bill]](t, e.eval("org1.admin", "queryProviderBill", org1, "", "")); page.Count != 1 {
		t.Fatalf("queryProviderBill (fedmeter's form): %+v", page)
	}
	recompute(t, e, "org1.user", &bill)
}

// TestSeedFormRefusals: the prototype's forms refuse what fedmeter's would,
// with codes, and what only they can get wrong (names, codes and users that
// do not match).
func TestSeedFormRefusals(t *testing.T) {
	e := newEnv(t)
	e.initConsortium()
	quota := []string{"000001", "CNIC", "00001", "CNNIC", "00002", "365", "10", "40", "40", "100", "2", "10", "20"}
	e.refused(model.CodeNotFound, nil, "org1.admin", "initInitialQuota", quota...) // no aliases yet
	e.seedAliases()
	e.refused(model.CodeDenied, nil, "org1.user", "initInitialQuota", quota...)
	e.refused(model.CodeDenied, nil, "org2.admin", "initInitialQuota", quota...)
	e.refused(model.CodeBadArgument, nil, "org1.admin", "initInitialQuota", append([]string{"000001", "CNNIC", "00001"}, quota[3:]...)...)
	e.refused(model.CodeBadArgument, nil, "org1.admin", "initInitialQuota", append(append([]string{}, quota[:6]...), append([]string{"-1"}, quota[7:]...)...)...)
	e.refused(model.CodeBadArgument, nil, "org1.admin", "initInitialQuota", append(append([]string{}, quota[:5]...), append([]string{"0"}, quota[6:]...)...)...)
	e.ok("org1.admin", "initInitialQuota", quota...)
	e.ok("org1.admin", "initInitialQuota", quota...) // the prototype's updateQuota
	// Org3 (no alias) is named by its MSP ID.
	e.refused(model.CodeConflict, nil, "org1.admin", "initInitialQuota", append([]string{"000001", "CNIC", "00001", org3, org3}, quota[5:]...)...)
	e.refused(model.CodeDenied, nil, "org2.admin", "initPrice", "CNIC", "00001", "10", "4", "1", "1", "1", "2", "0")
	e.refused(model.CodeBadArgument, nil, "org1.admin", "initPrice", "CNIC", "00001", "ten", "4", "1", "1", "1", "2", "0")
	e.ok("org1.admin", "initPrice", "CNIC", "00001", "10", "4", "1", "1", "1", "2", "0")
	ecs := []string{"202202150002", "CNIC", "00001", "CNNIC", "00002001", "ECS", "public", "2", "2", "4", "8", "365"}
	e.refused(model.CodeDenied, nil, "org1.user", "initECSResource", ecs...)
	e.refused(model.CodeBadArgument, nil, "org2.user", "initECSResource", append(append([]string{}, ecs[:5]...), append([]string{"OSS"}, ecs[6:]...)...)...)
	e.refused(model.CodeBadArgument, nil, "org2.user", "initECSResource", append(append([]string{}, ecs[:6]...), append([]string{"dmz"}, ecs[7:]...)...)...)
	e.refused(model.CodeQuotaExceeded, nil, "org2.user", "initECSResource", append(append([]string{}, ecs[:8]...), "11", "4", "8", "365")...)
	e.refused(model.CodeQuotaExceeded, nil, "org2.user", "initECSResource", append(append([]string{}, ecs[:11]...), "366")...)
	e.ok("org2.user", "initECSResource", ecs...)
	e.refused(model.CodeConflict, nil, "org2.user", "initECSResource", ecs...)
	e.refused(model.CodeBadArgument, nil, "org2.user", "billedECS", "202202150002", "00002", "00002001")
	e.refused(model.CodeBadArgument, nil, "org2.user", "billedECS", "202202150002", "00001", "00002002")
	e.refused(model.CodeDenied, nil, "org3.user", "billedECS", "202202150002", "00001", "00002001")
	e.refused(model.CodeBadArgument, nil, "org1.admin", "queryProviderBill", "00001", "Bill")
	e.refused(model.CodeDenied, nil, "org2.user", "queryProviderBill", "00001", "ECSBill")
	e.refused(model.CodeNotFound, nil, "org1.admin", "queryProviderTotalCost", "00009", "ECSBill")
	e.refused(model.CodeNotFound, nil, "org2.user", "readResource", "quota", "000002")
	e.refused(model.CodeDenied, nil, "org3.user", "readResource", "quota", "000001")
	e.refused(model.CodeNotFound, nil, "org2.user", "readResource", "ECSBill", "202202150002")
	e.refused(model.CodeBadArgument, nil, "org2.user", "readResource", "OSSResource", "202202150002")
	// Aliases: another member's alias, an MSP ID, the value in force.
	e.refused(model.CodeConflict, nil, "org1.admin", "ConsortiumPropose", KindMemberAlias, org3+"=CNIC", "")
	e.refused(model.CodeBadArgument, nil, "org1.admin", "ConsortiumPropose", KindMemberAlias, org3+"="+org2, "")
	e.refused(model.CodeConflict, nil, "org1.admin", "ConsortiumPropose", KindMemberAlias, org1+"=00001,CNIC", "")
	e.refused(model.CodeBadArgument, nil, "org1.admin", "ConsortiumPropose", KindMemberAlias, org1, "")
	e.refused(model.CodeConflict, nil, "org1.admin", "ConsortiumPropose", KindMemberAlias, org4+"=x", "")

	// Every prototype form with junk, as every kind of identity: coded
	// refusals of the contract's own.
	values := []string{"", "!", "nope", "00001", "CNIC", "CNNIC", "00002001", "202202150002", "-1", "ECSBill", org1}
	for name, sf := range seedForms {
		for _, who := range []string{"org4.user", "org1.user", "org1.admin", "org2.user"} {
			for vi := range values {
				args := make([]string, len(sf.params))
				for i := range args {
					args[i] = values[(vi+i)%len(values)]
				}
				_, _, err := e.submit(who, name, args...)
				if err == nil {
					continue
				}
				if r, ok := model.DecodeRefusal(err.Error()); !ok || r.Code == model.CodeInternal || r.Code == model.CodeUnsupported {
					t.Errorf("%s %s(%s): %q", who, name, short(args), err)
				}
			}
		}
	}
}

// TestSeedAliasesFollowMembers: removing a member removes its aliases, and
// "<MSP ID>=" removes them by vote.
func TestSeedAliasesFollowMembers(t *testing.T) {
	e := newEnv(t)
	e.initConsortium()
	e.seedAliases()
	vote := func(kind, value string) {
		p := decode[Proposal](t, e.ok("org1.admin", "ConsortiumPropose", kind, value, ""))
		e.ok("org1.admin", "ConsortiumVote", p.ID, VoteApprove)
		e.ok("org3.admin", "ConsortiumVote", p.ID, VoteApprove)
	}
	vote(KindMemberAlias, org1+"=")
	vote(KindMemberRemove, org2)
	if c := decode[Consortium](t, e.eval("org1.user", "ConsortiumGet")); c.Aliases != nil {
		t.Fatalf("aliases left: %v", c.Aliases)
	}
}
