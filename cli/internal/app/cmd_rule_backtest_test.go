package app

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestRuleBacktest bills two resources under ecs@1.0.0 on an embedded
// ledger, then backtests candidates: the same formula (no change), a
// constant rule (changed bills), one that traps and one that bills in
// another currency (reported per bill), by file and by uploaded rule.
func TestRuleBacktest(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "ledger")
	vars := map[string]string{}
	write := func(name string, content []byte) string {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, content, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(wasm(name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// The same rule under another hash, and a rule that bills a constant
	// 1.00 CNY (rule_usd with its currency's three bytes changed).
	hourly2 := write("ecs_hourly_2.wasm", append(read("ecs_hourly.wasm"), 0, 3, 2, 'v', '2'))
	flat := write("flat_cny.wasm", bytes.Replace(read("rule_usd.wasm"), []byte(`"USD"`), []byte(`"CNY"`), 1))
	usage := write("usage.csv", []byte("id,resource,metric,quantity,start,end\n"+
		"u-1,ecs-1,egress_gib,3,2026-01-01T00:00:00Z,2026-01-01T10:00:00Z\n"))

	const (
		T0  = "2026-01-01T00:00:00Z"
		T1  = "2026-01-01T01:00:00Z"
		T20 = "2026-01-01T20:00:00Z"
		T24 = "2026-01-02T00:00:00Z"
		T30 = "2026-01-02T06:00:00Z"
	)
	at := func(t string, rest string) []string { return append([]string{"--at", t}, a(rest)...) }
	play(t, dir, vars, []step{
		{name: "init", args: at("2025-12-31T22:00:00Z", "init")},
		{name: "price", args: at(T0, "--as Org1/Admin price set ecs --currency CNY --scale 2 vcpu_hour=12 memory_gib_hour=3 disk_gib_hour=1 public_ip_hour=5 egress_gib=80")},
		{name: "quota", args: at(T0, "--as Org1/Admin quota set Org2MSP max_days=365 vcpu=8 memory_gib=64 system_disk_gib=100 public_ips=2")},
		{name: "request 1", args: at(T0, "--as Org2/User1 resource request --id ecs-1 --provider Org1MSP --type ecs --days 30 --spec vcpu=2,memory_gib=4")},
		{name: "request 2", args: at(T0, "--as Org2/User1 resource request --id ecs-2 --provider Org1MSP --type ecs --days 30 --spec vcpu=1")},
		{name: "activate", args: at(T0, "--as Org1/Agent1 resource activate ecs-1 ecs-2")},
		{name: "usage", args: at(T20, "--as Org1/Agent1 usage submit "+usage)},
		{name: "upload", args: at(T20, "--as Org1/Admin rule upload "+wasm("ecs_hourly.wasm")+" --name ecs --version 1.0.0 --types ecs"),
			out: []string{"rule backtest ecs@1.0.0 --type ecs"}},
		{name: "status points to backtest", args: a("rule status ecs@1.0.0"), out: []string{"Before voting", "fedmeter rule backtest ecs@1.0.0 --type ecs --from TIME --to TIME"}},
		{name: "backtest with no bills", args: a("--as Org2/Admin rule backtest ecs@1.0.0 --type ecs"), out: []string{"No bills of type ecs"}},
		{name: "vote 1", args: at(T20, "--as Org1/Admin rule vote approve ecs@1.0.0")},
		{name: "vote 2", args: at(T20, "--as Org2/Admin rule vote approve ecs@1.0.0")},
		{name: "activate rule", args: at(T20, "--as Org1/Admin rule activate ecs ecs@1.0.0")},
		{name: "release 1", args: at(T24, "--as Org2/User1 resource release ecs-1"), out: []string{"Bill ecs-1:000001"}},
		{name: "release 2", args: at(T30, "--as Org2/User1 resource release ecs-2"), out: []string{"Bill ecs-2:000001"}},
		{name: "upload v1.1", args: at(T30, "--as Org1/Admin rule upload "+hourly2+" --name ecs --version 1.1.0 --types ecs")},
		{name: "upload trap", args: at(T30, "--as Org1/Admin rule upload "+wasm("rule_trap.wasm")+" --name trap --version 1.0.0 --types ecs")},
		{name: "status of an approved rule does not", args: a("rule status ecs@1.0.0")},

		{name: "same formula by NAME@VERSION", args: a("--as Org2/Admin rule backtest ecs@1.1.0 --type ecs"),
			out: []string{"rule ecs@1.1.0 (proposed)", "Nothing was written", "ecs-1:000001", "ecs-2:000001", "consumer", "Org1MSP", "ecs@1.0.0",
				"2 bills: 0 changed, 2 unchanged, 0 failed"}},
		{name: "a constant rule by file, as provider", args: a("--as Org1/Admin rule backtest " + flat + " --type ecs"),
			out: []string{"provider", "Org2MSP", "1.00 CNY", "2 bills: 2 changed, 0 unchanged, 0 failed", "By counterparty and currency"}},
		{name: "a trapping rule by hash", args: a("--as Org1/Admin rule backtest " + wasm("rule_trap.wasm") + " --type ecs"),
			out: []string{"FAILED", "ecs-1:000001: the candidate failed (trap)", "2 bills: 0 changed, 0 unchanged, 2 failed"}},
		{name: "another currency", args: a("--as Org1/Admin rule backtest " + wasm("rule_usd.wasm") + " --type ecs"),
			out: []string{"(currency)", "billed in USD with scale 2, but the price book is in CNY", "2 failed"}},
		{name: "window", args: a("--as Org1/Admin rule backtest " + flat + " --type ecs --from " + T1 + " --to " + T30),
			out: []string{"ecs-1:000001", "1 bill: 1 changed"}},
		{name: "a third org sees none", args: a("--as Org3/Admin rule backtest ecs@1.1.0 --type ecs"), out: []string{"No bills of type ecs"}},
		{name: "another type", args: a("--as Org1/Admin rule backtest ecs@1.1.0 --type gpu"), out: []string{"No bills of type gpu", "the rule prices types ecs, not gpu"}},
		{name: "type required", args: a("rule backtest ecs@1.1.0"), code: 1, err: []string{"type"}},
		{name: "bad time", args: a("rule backtest ecs@1.1.0 --type ecs --from yesterday"), code: 1, err: []string{`--from "yesterday" is not a time`}},
		{name: "inverted window", args: a("rule backtest ecs@1.1.0 --type ecs --from " + T30 + " --to " + T0), code: 1, err: []string{"--from must be before --to"}},
		{name: "unknown rule", args: a("rule backtest nope@1.0.0 --type ecs"), code: 2, err: []string{"nope 1.0.0 does not exist"}},
		{name: "missing file", args: a("rule backtest nowhere.wasm --type ecs"), code: 1, err: []string{"nowhere.wasm cannot be read", "uploaded rule's code hash"}},
		{name: "does not prepare", args: a("rule backtest " + wasm("rule_noabi.wasm") + " --type ecs"), code: 4, err: []string{"the candidate does not prepare"}},
	})

	// --json: one document, per bill and per counterparty and currency.
	r := fedmeter(dir, "", a("--as Org1/Admin rule backtest "+flat+" --type ecs --json")...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.errOut)
	}
	var rep backtestReport
	if err := json.Unmarshal([]byte(r.out), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.out)
	}
	if len(rep.Bills) != 2 || rep.Changed != 2 || len(rep.Totals) != 1 {
		t.Fatalf("report: %+v", rep)
	}
	var old int64
	for _, b := range rep.Bills {
		if b.New == nil || *b.New != 100 || *b.Diff != 100-b.Old || !b.InputMatches || b.Role != "provider" || b.Counterparty != "Org2MSP" {
			t.Fatalf("bill: %+v", b)
		}
		old += b.Old
	}
	tot := rep.Totals[0]
	if tot.Counterparty != "Org2MSP" || tot.Currency != "CNY" || tot.Bills != 2 || tot.Old != old || tot.New != 200 || tot.Diff != 200-old {
		t.Fatalf("totals: %+v (old %d)", tot, old)
	}
	// Nothing was written: the ledger still holds the two bills, unchanged.
	r = fedmeter(dir, "", a("--as Org1/Admin -o json bill list")...)
	var bills []struct {
		ID     string `json:"id"`
		Amount int64  `json:"amount"`
	}
	if err := json.Unmarshal([]byte(r.out), &bills); err != nil || len(bills) != 2 || bills[0].Amount+bills[1].Amount != old {
		t.Fatalf("bills after backtests: %v %s", err, r.out)
	}
}
