package chaincode

import (
	"context"
	"encoding/hex"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/fedmeter/fedmeter/host"
)

func TestRuleFailuresWriteNothing(t *testing.T) {
	for _, c := range []struct {
		name, module, prices, want string
	}{
		{"out of gas", "rule_loop.wasm", ecsPrices, "ran out of gas: out of gas; nothing was written"},
		{"trap", "rule_trap.wasm", ecsPrices, "trapped: trap during call"},
		{"bad output", "rule_badout.wasm", ecsPrices, "returned a bad output: bad rule output"},
		{"other currency", "rule_usd.wasm", ecsPrices, "billed in USD with scale 2, but the price book is in CNY with scale 2; nothing was written"},
		{"rule error", "ecs_hourly.wasm", `{"currency":"CNY","scale":2,"unit_prices":{"memory_gib_hour":3}}`, "refused the input: rule error missing_price: no unit price for vcpu_hour"},
		{"rule overflow", "ecs_hourly.wasm", `{"currency":"CNY","scale":2,"unit_prices":{"vcpu_hour":9223372036854775807,"memory_gib_hour":3,"disk_gib_hour":1,"public_ip_hour":5}}`, "rule error overflow"},
	} {
		forLedgers(t, c.name, func(t *testing.T, e *env) {
			e.initConsortium()
			e.ok("org1.admin", "PriceSet", "ecs", c.prices, "")
			e.ok("org1.admin", "QuotaSet", org2, ecsQuota)
			e.activeRule("r", "1.0.0", wasmFile(t, c.module))
			e.activeResource("r1")
			e.advance(2 * time.Hour)
			e.fail(c.want, "org1.user", "BillClose", "r1", "")
			if r := decode[Resource](t, e.eval("org2.user", "ResourceGet", "r1")); r.Status != StatusActive || r.Bills != 0 {
				t.Fatalf("resource after a failed bill %+v", r)
			}
			// A release goes through all the same: the resource is
			// released, its quota returned, and its bill pending with
			// the rule's failure.
			rel := decode[releaseResult](t, e.okEvent("BillPending", "org2.user", "ResourceRelease", "r1"))
			if rel.Bill != nil || rel.Pending == nil || !strings.Contains(rel.Pending.Reason, c.want) || rel.Pending.End != rel.Pending.Start+7200 {
				t.Fatalf("release with a failing rule: %s", js(rel))
			}
			r := decode[Resource](t, e.eval("org2.user", "ResourceGet", "r1"))
			if r.Status != StatusReleased || r.Bills != 0 || r.Pending == nil || *r.Pending != *rel.Pending {
				t.Fatalf("resource after the release %s", js(r))
			}
			for k, v := range decode[Quota](t, e.eval("org2.user", "QuotaGet", org1, org2)).Used {
				if v != 0 {
					t.Fatalf("quota after the release: %s %d used, want 0", k, v)
				}
			}
			// The same rule fails again: nothing is written, the bill
			// stays pending.
			e.fail(c.want, "org1.user", "BillClose", "r1", "")
			if r := decode[Resource](t, e.eval("org2.user", "ResourceGet", "r1")); r.Pending == nil || r.Bills != 0 {
				t.Fatalf("resource after a second failure %s", js(r))
			}
		})
	}
}

func TestBillingPeriodsListsAndTotals(t *testing.T) {
	forLedgers(t, "", billingPeriodsListsAndTotals)
}

func billingPeriodsListsAndTotals(t *testing.T, e *env) {
	e.initConsortium()
	e.market()
	e.ok("org1.admin", "QuotaSet", org3, ecsQuota)
	e.ok("org2.admin", "PriceSet", "ecs", ecsPrices, "")
	e.ok("org2.admin", "QuotaSet", org1, ecsQuota)
	e.activeRule("ecs", "1.0.0", wasmFile(t, "ecs_hourly.wasm"))
	e.activeResource("r1") // Org2 from Org1
	e.ok("org3.user", "ResourceRequest", "r3", org1, "ecs", `{"vcpu":1}`, "30", "")
	e.ok("org1.agent", "ResourceActivate", "r3")
	e.ok("org1.user", "ResourceRequest", "r5", org2, "ecs", `{"vcpu":1}`, "30", "")
	e.ok("org2.agent", "ResourceActivate", "r5")

	e.advance(time.Hour)
	for _, c := range []struct{ name, who, res, end, want string }{
		{"consumer closes", "org2.user", "r1", "", "only identities of Org1MSP, the provider of resource r1, may close its billing period; the caller is a client of Org2MSP"},
		{"future", "org1.agent", "r1", js(t0.Unix() + 7200), "is in the future"},
		{"empty period", "org1.agent", "r1", js(t0.Unix()), "is not after the end of resource r1's last bill"},
		{"bad end", "org1.agent", "r1", "soon", `end must be Unix seconds or an RFC 3339 time, got "soon"`},
		{"unknown", "org1.agent", "r9", "", "resource_id r9 names no resource"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.tb = t
			e.fail(c.want, c.who, "BillClose", c.res, c.end)
		})
	}
	e.tb = t
	s1 := decode[BillSummary](t, e.okEvent("BillIssued", "org1.agent", "BillClose", "r1", js(t0.Unix()+1800)))
	s2 := decode[BillSummary](t, e.ok("org1.agent", "BillClose", "r1", ""))
	b1 := decode[Bill](t, e.eval("org1.user", "BillGet", s1.ID))
	b2 := decode[Bill](t, e.eval("org1.user", "BillGet", s2.ID))
	if b1.ID != "r1:000001" || b2.ID != "r1:000002" || b1.Kind != "period" || b1.Period.End != b2.Period.Start || b2.Period.End != t0.Unix()+3600 {
		t.Fatalf("period bills %+v %+v", b1, b2)
	}
	if *b1.Summary() != s1 || *b2.Summary() != s2 {
		t.Fatalf("BillClose returned %+v and %+v; the bills are %+v and %+v", s1, s2, b1, b2)
	}
	e.advance(24 * time.Hour)
	e.ok("org1.agent", "BillClose", "r3", js(t0.Unix()+2700)) // between r1's first two bills
	e.ok("org2.user", "ResourceRelease", "r1")
	e.ok("org1.user", "ResourceRelease", "r5")
	e.fail("resource r1 is released; only an active resource, or a released one whose bill is pending, has an open billing period", "org1.agent", "BillClose", "r1", "")

	byRes := decode[Page[Bill]](t, e.eval("org2.user", "BillListByResource", "r1", "", ""))
	if byRes.Count != 3 || byRes.Items[2].Kind != "release" || byRes.Items[2].Period.Start != b2.Period.End {
		t.Fatalf("bills of r1 %+v", byRes)
	}
	var sumR1 int64
	for _, b := range byRes.Items {
		sumR1 += b.Amount
	}

	// Org1's receivables are 4 bills from two counterparties' streams (3
	// for r1 to Org2, 1 for r3 to Org3), merged by period end: every page
	// size gives the same list, in (end, ID) order.
	var order []string
	for size := 5; size >= 1; size-- {
		var ids []string
		bm := ""
		for i := 0; ; i++ {
			p := decode[Page[Bill]](t, e.eval("org1.user", "BillListByProvider", org1, "", "", itoa(size), bm))
			for _, b := range p.Items {
				ids = append(ids, fmt.Sprintf("%020d/%s", b.Period.End, b.ID))
			}
			if bm = p.Bookmark; bm == "" || i > 10 {
				break
			}
		}
		if len(ids) != 4 || !sort.StringsAreSorted(ids) || !strings.HasSuffix(ids[1], "/r3:000001") || (order != nil && js(ids) != js(order)) {
			t.Fatalf("provider bills in pages of %d: %v, want 4 in order (pages of 5: %v)", size, ids, order)
		}
		order = ids
	}
	// Period filter on period end: [t0+1h, t0+1h+1s) holds b2 only.
	p := decode[Page[Bill]](t, e.eval("org1.user", "BillListByProvider", org1, js(t0.Unix()+3600), js(t0.Unix()+3601), "", ""))
	if p.Count != 1 || p.Items[0].ID != b2.ID {
		t.Fatalf("filtered bills %+v", p)
	}
	e.fail("to 5 must be after from 10", "org1.user", "BillListByProvider", org1, "10", "5", "", "")
	e.fail("only identities of Org1MSP may list the bills where it is the provider; the caller is a client of Org2MSP", "org2.user", "BillListByProvider", org1, "", "", "", "")
	e.fail("page_size must be between 1 and 500", "org1.user", "BillListByProvider", org1, "", "", "0", "")
	for _, bm := range []string{"bill-by-provider/Org2MSP/x", "bill-by-pair/Org1MSP/Org2MSP/" + order[0], "0000000000000000000x/r1:000001", order[0][:20]} {
		e.fail("is not from this query", "org1.user", "BillListByProvider", org1, "", "", "", bm)
	}
	e.fail("is not from this query", "org1.user", "BillListByProvider", org1, js(t0.Unix()+3600), "", "", order[0])
	cb := decode[Page[Bill]](t, e.eval("org3.user", "BillListByConsumer", org3, "", "", "", ""))
	if cb.Count != 1 || cb.Items[0].Resource != "r3" {
		t.Fatalf("Org3's bills %+v", cb)
	}
	e.fail("only Org1MSP (provider) and Org2MSP (consumer) may read bill r1:000001", "org3.user", "BillGet", "r1:000001")
	e.fail(`bill_id "r1" is not valid`, "org2.user", "BillGet", "r1")

	tot := decode[Totals](t, e.eval("org1.user", "BillTotals", "", ""))
	var r3 int64
	for _, b := range cb.Items {
		r3 += b.Amount
	}
	r5 := decode[Page[Bill]](t, e.eval("org1.user", "BillListByConsumer", org1, "", "", "", "")).Items[0].Amount
	want := Totals{Org: org1,
		Receivable: []Total{{Counterparty: org2, Currency: "CNY", Scale: 2, Amount: sumR1, Bills: 3}, {Counterparty: org3, Currency: "CNY", Scale: 2, Amount: r3, Bills: 1}},
		Payable:    []Total{{Counterparty: org2, Currency: "CNY", Scale: 2, Amount: r5, Bills: 1}},
	}
	if js(tot) != js(want) {
		t.Fatalf("totals\n got %s\nwant %s", js(tot), js(want))
	}
	// The first hour only: b1 and b2, and r3's bill.
	tot = decode[Totals](t, e.eval("org1.user", "BillTotals", "", js(t0.Unix()+3601)))
	if len(tot.Receivable) != 2 || tot.Receivable[0].Amount != b1.Amount+b2.Amount || tot.Receivable[1] != want.Receivable[1] || len(tot.Payable) != 0 {
		t.Fatalf("first-hour totals %s", js(tot))
	}
	hist := decode[[]HistoryEntry](t, e.eval("org2.user", "History", "resource", "r1"))
	if len(hist) != 5 { // requested, activated, billed twice, released
		t.Fatalf("resource history %d versions", len(hist))
	}
	for _, c := range []struct{ kind, ref, want string }{
		{"quota", org1 + "/" + org2, "only Org1MSP (provider) and Org2MSP (consumer) may read the quota"},
		{"bill", "r1:000001", "may read bill r1:000001"},
		{"price", "Org1MSP", "ref must be provider/type for kind price"},
		{"ledger", "", `kind "ledger" is not valid`},
	} {
		e.fail(c.want, "org3.user", "History", c.kind, c.ref)
	}
}

func TestTotalsOverflow(t *testing.T) {
	e := newEnv(t)
	e.initConsortium()
	e.ok("org1.admin", "PriceSet", "ecs", `{"currency":"CNY","scale":2,"unit_prices":{"vcpu_hour":5000000000000000000}}`, "")
	e.ok("org1.admin", "QuotaSet", org2, `{"vcpu":2}`)
	h := e.activeRule("ecs", "1.0.0", wasmFile(t, "ecs_hourly.wasm"))
	for _, id := range []string{"a", "b"} {
		e.ok("org2.user", "ResourceRequest", id, org1, "ecs", `{"vcpu":1}`, "1", "")
		e.ok("org1.agent", "ResourceActivate", id)
	}
	e.advance(time.Hour)
	for _, id := range []string{"a", "b"} {
		if b := decode[releaseResult](t, e.ok("org2.user", "ResourceRelease", id)).Bill; b.Amount != 5e18 {
			t.Fatalf("bill %+v", b)
		}
	}
	e.fail("receivable total with Org2MSP in CNY overflows a 64-bit integer", "org1.user", "BillTotals", "", "")
	e.fail("payable total with Org1MSP in CNY overflows a 64-bit integer", "org2.user", "BillTotals", "", "")
	e.fail("receivable total with Org2MSP in CNY overflows a 64-bit integer", "org1.user", "BillTotalsMonthly", "0", "1", "true")
	e.fail("payable total with Org1MSP in CNY overflows a 64-bit integer", "org2.user", "BillTotalsMonthly", "0", "1", "true")
	st := decode[ruleStatus](t, e.eval("org3.user", "RuleStatus", h))
	if len(st.Active) != 1 || st.Active[0].Type != "ecs" || st.Active[0].Name != "ecs" {
		t.Fatalf("rule status activations %s", js(st.Active))
	}
}

func TestBillQuote(t *testing.T) {
	e := newEnv(t)
	e.initConsortium()
	e.market()
	code := wasmFile(t, "ecs_hourly.wasm")
	start, end := js(t0.Unix()), js(t0.Unix()+2*3600)
	e.fail("no rule is active for type ecs", "org3.user", "BillQuote", org1, "ecs", ecsSpec, "", start, end, "")
	h := e.uploadRule("ecs", "1.0.0", code)
	// A proposed rule can be priced before the vote, by the voters
	// (TestBillQuoteAccess has who else).
	before := e.l.Snapshot()
	q := decode[Quote](t, e.ok("org3.admin", "BillQuote", org1, "ecs", `{"vcpu":1}`, `{"egress_gib":2}`, start, end, h))
	if q.Amount != 2*12+2*80 || q.Rule.Hash != h || q.GasUsed == 0 || hashOf(q.Input) != q.InputHash {
		t.Fatalf("quote %s", js(q))
	}
	if !reflect.DeepEqual(before, e.l.Snapshot()) {
		t.Fatalf("a quote wrote to the ledger")
	}
	e.approveRule("ecs", "1.0.0", h)
	e.ok("org1.admin", "RuleActivate", "ecs", h, "")
	q = decode[Quote](t, e.eval("org2.user", "BillQuote", org1, "ecs", ecsSpec, "", start, end, ""))
	if q.Amount != 2*(2*12+4*3+40*1+1*5) {
		t.Fatalf("quote %s", js(q))
	}
	for _, c := range []struct{ name, spec, usage, start, end, hash, want string }{
		{"unknown spec", `{"gpus":1}`, "", start, end, "", "spec field gpus is not defined for type ecs"},
		{"unknown metric", "", `{"gpu_seconds":1}`, start, end, "", "usage metric gpu_seconds is not defined for type ecs"},
		{"no start", "", "", "", end, "", "start is required"},
		{"empty period", "", "", start, start, "", "end must be after start"},
		{"before prices", "", "", js(t0.Unix() - 10), end, "", "Org1MSP has no price for type ecs in force at"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.tb = t
			e.fail(c.want, "org3.user", "BillQuote", org1, "ecs", c.spec, c.usage, c.start, c.end, c.hash)
		})
	}
	e.tb = t
	e.fail("only member orgs may request quotes", "org4.user", "BillQuote", org1, "ecs", ecsSpec, "", start, end, "")
}

// TestDeterministicState runs the same transactions on two ledgers: every
// key and value must come out byte for byte the same.
func TestDeterministicState(t *testing.T) {
	run := func() map[string]string {
		e := newEnv(t)
		e.initConsortium()
		e.market()
		e.activeRule("ecs", "1.0.0", wasmFile(t, "ecs_hourly.wasm"))
		e.activeResource("r1")
		e.advance(5 * time.Hour)
		e.ok("org1.agent", "UsageSubmit", js([]map[string]any{{"id": "u", "resource": "r1", "metric": "egress_gib", "quantity": 9, "start": t0.Unix(), "end": t0.Unix() + 60}}))
		e.ok("org2.user", "ResourceRelease", "r1")
		return e.l.Snapshot()
	}
	a, b := run(), run()
	if !reflect.DeepEqual(a, b) {
		for k := range a {
			if a[k] != b[k] {
				t.Errorf("%s differs:\n%s\n%s", k, a[k], b[k])
			}
		}
		t.Fatal("two runs of the same transactions left different states")
	}
}

// TestWasmMatchesNative holds the WAT rule and the native baseline to the
// same bills.
func TestWasmMatchesNative(t *testing.T) {
	code := wasmFile(t, "ecs_hourly.wasm")
	p, err := host.Prepare(code)
	if err != nil {
		t.Fatal(err)
	}
	rule := &Rule{Name: "ecs", Version: "1.0.0", Hash: hashOf(code), PreparedHash: hexOf(p.Hash[:])}
	prices := &PriceEntry{Currency: "CNY", Scale: 2, UnitPrices: map[string]int64{"vcpu_hour": 12, "memory_gib_hour": 3, "disk_gib_hour": 1, "public_ip_hour": 5, "egress_gib": 80}}
	cases := []struct {
		spec, usage map[string]int64
		secs        int64
	}{
		{map[string]int64{"vcpu": 2, "memory_gib": 4}, nil, 3600},
		{map[string]int64{"vcpu": 2, "memory_gib": 4, "system_disk_gib": 40, "data_disk_gib": 100, "public_ips": 2}, map[string]int64{"egress_gib": 7, "cpu_seconds": 9}, 86400*30 + 1},
		{map[string]int64{"vcpu": 0, "public_ips": 1}, map[string]int64{"egress_gib": 0}, 1},
		{map[string]int64{}, map[string]int64{"egress_gib": 1 << 40}, 59},
		{map[string]int64{"vcpu": 1 << 40}, nil, 3600 * 1 << 20}, // overflow
	}
	for i, c := range cases {
		r := &Resource{ID: "r", Type: "ecs", Provider: org1, Consumer: org2, Spec: c.spec, Attributes: map[string]string{"note": `a "quoted" {brace}`}}
		in, err := EncodeInput(r, prices, map[string]int64{"vcpu": 10}, c.usage, t0.Unix(), t0.Unix()+c.secs, "tx", t0.Unix())
		if err != nil {
			t.Fatal(err)
		}
		call := host.Call{Input: in, GasLimit: BillGasLimit, TxID: "tx"}
		wr, werr := WasmPricer().Price(context.Background(), rule, func() ([]byte, error) { return code, nil }, call)
		nr, nerr := nativePricer{}.Price(context.Background(), rule, nil, call)
		if (werr == nil) != (nerr == nil) || (werr != nil && werr.Error() != nerr.Error()) {
			t.Fatalf("case %d: wasm error %v, native error %v", i, werr, nerr)
		}
		if werr == nil && js(wr.Bill) != js(nr.Bill) {
			t.Fatalf("case %d:\n wasm   %s\n native %s", i, js(wr.Bill), js(nr.Bill))
		}
	}
}

// TestStandardECSRule runs the project's rules/ecs (built from source with
// the Go toolchain) through the contract when that rule is in the tree.
func TestStandardECSRule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Go rule to Wasm")
	}
	dir := filepath.Join("..", "rules", "ecs")
	if _, err := os.Stat(filepath.Join(dir, "main.go")); err != nil {
		t.Skip("rules/ecs is not in this tree")
	}
	out := filepath.Join(t.TempDir(), "ecs.wasm")
	goCmd := filepath.Join(runtime.GOROOT(), "bin", "go")
	cmd := exec.Command(goCmd, "build", "-trimpath", "-buildvcs=false", "-buildmode=c-shared", "-ldflags=-buildid=", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("rules/ecs does not build here: %v\n%s", err, b)
	}
	code, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	e.initConsortium()
	e.market()
	e.activeRule("ecs", "2.0.0", code)
	e.activeResource("r1")
	e.advance(90 * time.Minute)
	// The rule's formula is rules/ecs's business: here it must bill through
	// the contract, and the bill must recompute offline from the ledger.
	for _, id := range []string{"r1", "r2"} {
		if id == "r2" {
			e.activeResource(id)
			e.advance(time.Hour)
			e.ok("org1.agent", "UsageSubmit", js([]map[string]any{{"id": "u", "resource": id, "metric": "egress_gib", "quantity": 1, "start": e.now.Unix() - 60, "end": e.now.Unix()}}))
		}
		out, _, err := e.submit("org2.user", "ResourceRelease", id)
		if err != nil {
			t.Logf("rules/ecs refused %s: %v", id, err)
			continue
		}
		bill := decode[Bill](t, e.eval("org2.user", "BillGet", decode[releaseResult](t, out).Bill.ID))
		b := &bill
		var sum int64
		for _, l := range b.Lines {
			sum += l.Amount
		}
		if b.Amount != sum || b.Amount <= 0 || b.GasUsed == 0 || b.Currency != "CNY" {
			t.Fatalf("bill %s", js(b))
		}
		recompute(t, e, "org2.user", b)
	}
}

func hexOf(b []byte) string { return hex.EncodeToString(b) }

// TestReadSetIndependentOfRuleCache: an endorser whose process has not
// prepared the rule yet reads its module, one that has does not; the read
// set must be the same either way, or the two endorsements differ and the
// transaction fails on Fabric (an endorsement mismatch). The module is read
// through its key's history, which is not part of the read set.
func TestReadSetIndependentOfRuleCache(t *testing.T) {
	cold := &wasmPricer{prepared: map[string]*host.Prepared{}}
	e := billedEnv(t, []Option{WithPricer(cold)}, "r1", "r2")
	release := func(id string) []string {
		t.Helper()
		r, err := e.l.Submit(e.id("org2.user"), "ResourceRelease", id)
		if err != nil {
			t.Fatalf("release %s: %v", id, err)
		}
		var keys []string
		for _, k := range r.Reads {
			keys = append(keys, strings.ReplaceAll(k, id, "<id>"))
		}
		return keys
	}
	first := release("r1") // the pricer prepares the rule: reads its module
	if len(cold.prepared) != 1 {
		t.Fatalf("the rule was not prepared by the first release")
	}
	second := release("r2") // prepared already
	if !reflect.DeepEqual(first, second) {
		t.Fatalf("the read set depends on the pricer's cache:\ncold: %v\nwarm: %v", first, second)
	}
	for _, k := range first {
		if strings.HasPrefix(k, "rule-code/") {
			t.Fatalf("the read set holds %s", k)
		}
	}
}

// billedEnv is a ledger with the hourly ECS rule active and Org2 holding
// Org1's resources ids (active for an hour), under a quota that fits them.
func billedEnv(t *testing.T, opts []Option, ids ...string) *env {
	t.Helper()
	e := newEnv(t, opts...)
	e.initConsortium()
	e.market()
	e.activeRule("ecs", "1.0.0", wasmFile(t, "ecs_hourly.wasm"))
	n := len(ids)
	e.ok("org1.admin", "QuotaSet", org2, fmt.Sprintf(`{"max_days":365,"vcpu":%d,"memory_gib":%d,"system_disk_gib":%d,"public_ips":%d}`, 2*n, 4*n, 40*n, n))
	for _, id := range ids {
		e.activeResource(id)
	}
	e.advance(time.Hour)
	return e
}

// TestReleaseReadTrips: a release that bills reads what billing needs in
// three messages to the peer, not one per key (each is a round trip on both
// sides of every endorsement on Fabric): the consortium and the resource's
// two keys together, then the activations (which carry what billing needs
// of the rule: the rule record is not read), price book and quota
// together, and the usage range (read to its end, so not closed: the peer
// has dropped it).
func TestReleaseReadTrips(t *testing.T) {
	e := billedEnv(t, nil, "r0", "r1", "r2")
	e.ok("org2.user", "ResourceRelease", "r0") // the pricer prepares the rule (history reads)
	cases := []struct {
		name, fn, id string
		args         []string
		who          string
	}{
		{"release", "ResourceRelease", "r1", nil, "org2.user"},
		{"close", "BillClose", "r2", []string{""}, "org1.user"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := e.l.Submit(e.id(c.who), c.fn, append([]string{c.id}, c.args...)...)
			if err != nil {
				t.Fatalf("%s %s: %v", c.fn, c.id, err)
			}
			if r.ReadTrips != 3 {
				t.Errorf("%s read in %d trips to the peer, want 3", c.fn, r.ReadTrips)
			}
			// The pair's allocations (allocations.go) come with the
			// price book and quota, in the same trip.
			want := []string{"activation/ecs", "allocation/" + org1 + "/" + org2, "consortium", "price/" + org1 + "/ecs", "quota/" + org1 + "/" + org2, "resource-state/" + c.id, "resource/" + c.id}
			if !reflect.DeepEqual(r.Reads, want) {
				t.Errorf("%s read %v, want %v", c.fn, r.Reads, want)
			}
			// It writes the bill, its one index key and the resource's
			// state (a release also returns the quota and deletes the
			// usage totals), not the whole resource.
			var b BillSummary
			if c.fn == "ResourceRelease" {
				b = *decode[releaseResult](t, string(r.Payload)).Bill
			} else {
				b = decode[BillSummary](t, string(r.Payload))
			}
			wrote := []string{"bill/" + b.ID, fmt.Sprintf("bill-by-pair/%s/%s/%020d/%s", org1, org2, b.Period.End, b.ID), "resource-state/" + c.id}
			if c.fn == "ResourceRelease" {
				wrote = append(wrote, "quota-free/"+org1+"/"+org2+"/"+c.id, "usage-total/"+c.id)
			}
			sort.Strings(wrote)
			if got := slices.Sorted(maps.Keys(r.Writes)); !reflect.DeepEqual(got, wrote) {
				t.Errorf("%s wrote %v, want %v", c.fn, got, wrote)
			}
			if st := string(r.Writes["resource-state/"+c.id]); strings.Contains(st, "requested_by") || !strings.Contains(st, `"bills":1`) {
				t.Errorf("%s wrote the state %s", c.fn, st)
			}
		})
	}
}

// TestRangeClose: a range query read to its end is not closed (Fabric's
// peer drops the iterator with its last batch; closing it would be a round
// trip for nothing), and one left before its end is. A range of more than
// 100 keys costs a message per further batch of 100.
func TestRangeClose(t *testing.T) {
	e := billedEnv(t, nil, "r1", "r2")
	from := e.now.Unix() - 3000
	var recs []map[string]any
	for i := range 250 {
		recs = append(recs, map[string]any{"id": fmt.Sprintf("u%d", i), "resource": "r1", "metric": "egress_gib", "quantity": 1,
			"start": from + int64(10*i), "end": from + int64(10*i) + 10})
	}
	e.ok("org1.agent", "UsageSubmit", js(recs))
	trips := func(fn string, args ...string) int {
		t.Helper()
		r, err := e.l.Submit(e.id("org2.user"), fn, args...)
		if err != nil {
			t.Fatalf("%s: %v", fn, err)
		}
		return r.ReadTrips
	}
	whole, early := trips("UsageList", "r1", "500", ""), trips("UsageList", "r1", "10", "")
	if early != whole-2+1 {
		t.Errorf("UsageList: %d trips for all 250 periods (three batches), %d for the first 10 (one batch and a close); want %d", whole, early, whole-1)
	}
	// Billing 250 periods: the range and two further batches, no close.
	if n := trips("ResourceRelease", "r1"); n != 5 {
		t.Errorf("a release over 250 usage periods read in %d trips, want 5", n)
	}
	if n := trips("ResourceRelease", "r2"); n != 3 {
		t.Errorf("a release with no usage read in %d trips, want 3", n)
	}
}

// TestFormerMembersBills: an org removed from the consortium keeps its
// bills in its counterparties' lists and totals (the bill index is one key
// per pair, and lists read a stream per member and former member).
func TestFormerMembersBills(t *testing.T) {
	forLedgers(t, "", func(t *testing.T, e *env) {
		e.initConsortium()
		e.market()
		e.activeRule("ecs", "1.0.0", wasmFile(t, "ecs_hourly.wasm"))
		e.activeResource("r1")
		e.advance(2 * time.Hour)
		s := decode[releaseResult](t, e.ok("org2.user", "ResourceRelease", "r1")).Bill
		if s == nil || s.Amount == 0 {
			t.Fatalf("release billed %+v", s)
		}
		vote := func(kind string) {
			p := decode[Proposal](t, e.ok("org1.admin", "ConsortiumPropose", kind, org2, ""))
			e.ok("org1.admin", "ConsortiumVote", p.ID, "approve")
			e.ok("org3.admin", "ConsortiumVote", p.ID, "approve")
		}
		vote(KindMemberRemove)
		if c := decode[Consortium](t, e.eval("org1.user", "ConsortiumGet")); js(c.Members) != js([]string{org1, org3}) || js(c.Former) != js([]string{org2}) {
			t.Fatalf("consortium after removing Org2: members %v, former %v", c.Members, c.Former)
		}
		p := decode[Page[Bill]](t, e.eval("org1.user", "BillListByProvider", org1, "", "", "", ""))
		if p.Count != 1 || p.Items[0].ID != s.ID || p.Items[0].Consumer != org2 {
			t.Fatalf("Org1's bills after Org2 left: %+v", p)
		}
		tot := decode[Totals](t, e.eval("org1.user", "BillTotals", "", ""))
		if len(tot.Receivable) != 1 || tot.Receivable[0] != (Total{Counterparty: org2, Currency: "CNY", Scale: 2, Amount: s.Amount, Bills: 1}) {
			t.Fatalf("Org1's totals after Org2 left: %s", js(tot))
		}
		vote(KindMemberAdd)
		if c := decode[Consortium](t, e.eval("org1.user", "ConsortiumGet")); js(c.Members) != js([]string{org1, org2, org3}) || c.Former != nil {
			t.Fatalf("consortium after Org2 rejoined: members %v, former %v", c.Members, c.Former)
		}
		if p := decode[Page[Bill]](t, e.eval("org2.user", "BillListByConsumer", org2, "", "", "", "")); p.Count != 1 || p.Items[0].ID != s.ID {
			t.Fatalf("Org2's bills after it rejoined: %+v", p)
		}
	})
}

// TestPendingBill: a release whose rule fails leaves its bill pending; once
// the members revoke the rule and activate a working one, the provider
// issues the bill with BillClose, for the released period, under the new
// rule (issue 19, item 2).
func TestPendingBill(t *testing.T) {
	forLedgers(t, "", func(t *testing.T, e *env) {
		e.initConsortium()
		e.market()
		bad := e.activeRule("ecs", "1.0.0", wasmFile(t, "rule_trap.wasm"))
		res := e.activeResource("r1")
		e.advance(2 * time.Hour)
		rel := decode[releaseResult](t, e.ok("org2.user", "ResourceRelease", "r1"))
		if rel.Pending == nil {
			t.Fatalf("release: %s, want a pending bill", js(rel))
		}
		// Only the provider closes it, and only for the released period.
		e.fail("only identities of Org1MSP, the provider of resource r1", "org2.user", "BillClose", "r1", "")
		e.fail("that bill covers", "org1.agent", "BillClose", "r1", js(rel.Pending.End-60))
		// The members replace the rule.
		e.ok("org3.admin", "RuleRevoke", bad, "traps on every bill")
		e.ok("org3.admin", "RuleRevokeVote", bad, "approve")
		e.ok("org1.admin", "RuleRevokeVote", bad, "approve")
		e.advance(time.Hour)
		good := e.activeRule("ecs", "1.1.0", wasmFile(t, "ecs_hourly.wasm"))
		s := decode[BillSummary](t, e.okEvent("BillIssued", "org1.agent", "BillClose", "r1", ""))
		b := decode[Bill](t, e.eval("org2.user", "BillGet", s.ID))
		if b.Period.Start != res.Activated.Time || b.Period.End != rel.Pending.End || b.Rule.Hash != good || b.Kind != "release" {
			t.Fatalf("the pending bill %s: want period (%d, %d] under rule %s", js(b), res.Activated.Time, rel.Pending.End, good)
		}
		// ecs_hourly: 2 vCPU x 12 + 4 GiB x 3 + (40+0) GiB x 1 + 1 IP x 5 = 81 a hour, 2 hours.
		if b.Amount != 162 {
			t.Fatalf("the pending bill's amount %d, want 162", b.Amount)
		}
		if r := decode[Resource](t, e.eval("org2.user", "ResourceGet", "r1")); r.Pending != nil || r.Bills != 1 || r.BilledTo != rel.Pending.End {
			t.Fatalf("resource after the pending bill %s", js(r))
		}
		e.fail("resource r1 is released", "org1.agent", "BillClose", "r1", "")
	})
}

// TestBillingStopsAtExpiry: a resource released after its allocation
// expired is billed up to the expiry, as its usage is; the time held after
// it is flagged on the bill and the release, not charged (issue 19, item 3).
func TestBillingStopsAtExpiry(t *testing.T) {
	forLedgers(t, "", func(t *testing.T, e *env) {
		e.initConsortium()
		e.market()
		e.activeRule("ecs", "1.0.0", wasmFile(t, "ecs_hourly.wasm"))
		e.ok("org2.user", "ResourceRequest", "r1", org1, "ecs", ecsSpec, "1", "")
		r := decode[Resource](t, e.ok("org1.agent", "ResourceActivate", "r1"))
		e.ok("org2.user", "ResourceRequest", "r2", org1, "ecs", `{"vcpu":2}`, "1", "")
		e.ok("org1.agent", "ResourceActivate", "r2")
		e.advance(3 * 24 * time.Hour)
		// A period closed past the expiry stops at it.
		s := decode[BillSummary](t, e.ok("org1.agent", "BillClose", "r2", ""))
		if s.Period.End != r.ExpiresAt {
			t.Fatalf("BillClose past the expiry billed up to %d, want the expiry %d", s.Period.End, r.ExpiresAt)
		}
		e.fail("is billed up to its allocation's expiry", "org1.agent", "BillClose", "r2", "")
		// Released two days late: billed for the day of its allocation.
		rel := decode[releaseResult](t, e.ok("org2.user", "ResourceRelease", "r1"))
		if rel.Overrun != 2*86400 || rel.Bill == nil || rel.Bill.Period.End != r.ExpiresAt {
			t.Fatalf("release two days after expiry: %s", js(rel))
		}
		b := decode[Bill](t, e.eval("org2.user", "BillGet", rel.Bill.ID))
		// ecs_hourly: 2 vCPU x 12 + 4 GiB x 3 + 40 GiB x 1 + 1 IP x 5 = 81 a hour, 24 hours.
		if b.Amount != 81*24 || b.Overrun != 2*86400 {
			t.Fatalf("bill %s: want amount %d and overrun %d", js(b), 81*24, 2*86400)
		}
		// Already billed to its expiry: released with no bill, the
		// overrun still said.
		rel2 := decode[releaseResult](t, e.ok("org2.user", "ResourceRelease", "r2"))
		if rel2.Bill != nil || rel2.Overrun != 2*86400 {
			t.Fatalf("release of a resource billed to its expiry: %s", js(rel2))
		}
	})
}
