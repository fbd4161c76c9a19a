package app

import (
	"path/filepath"
	"testing"
)

// TestSettlementCommands plays re-rating, allocations and time bounds on
// the embedded ledger: a quota with a window, a rule with a typo (public
// IPs unbilled: chaincode/testdata/ecs_typo.wat) fixed by ecs_hourly, an
// allocation drawn by the bills and their adjustments, and the offline
// verification of an adjustment.
func TestSettlementCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ledger")
	at := func(ts, rest string) []string { return append([]string{"--at", ts}, a(rest)...) }
	const (
		T0 = "2026-01-01T00:00:00Z"
		T3 = "2026-01-01T03:00:00Z"
		T4 = "2026-01-01T04:00:00Z"
		T5 = "2026-01-01T05:00:00Z"
		M  = "2026-02-01T00:00:00Z"
	)
	spec := "--spec vcpu=2,memory_gib=4,system_disk_gib=40,public_ips=1"
	play(t, dir, map[string]string{}, []step{
		{name: "init", args: at("2025-12-31T22:00:00Z", "init"), out: []string{"Created the embedded ledger"}},
		{name: "price", args: at("2025-12-31T22:00:00Z", "--as Org1/Admin price set ecs --currency CNY --scale 2 vcpu_hour=12 memory_gib_hour=3 disk_gib_hour=1 public_ip_hour=5 egress_gib=80")},
		{name: "quota with a window", args: at("2025-12-31T22:00:00Z", "--as Org1/Admin quota set Org2MSP max_days=365 vcpu=8 memory_gib=64 system_disk_gib=100 public_ips=2 --valid-from 2026-01-01 --valid-to 2026-02-01"),
			out: []string{"valid 2026-01-01T00:00:00Z to 2026-02-01T00:00:00Z (exclusive)"}},
		{name: "request before the window", args: at("2025-12-31T23:59:59Z", "--as Org2/User1 resource request --id early --provider Org1MSP --type ecs --days 30 "+spec), code: 1,
			err: []string{"is valid from 2026-01-01T00:00:00Z; the request at 2025-12-31T23:59:59Z is before it"}},
		{name: "upload the typo", args: at(T0, "--as Org1/Admin rule upload "+wasm("ecs_typo.wasm")+" --name ecs --version 1.0.0 --types ecs")},
		{name: "vote 1", args: at(T0, "--as Org1/Admin rule vote approve ecs@1.0.0")},
		{name: "vote 2", args: at(T0, "--as Org2/Admin rule vote approve ecs@1.0.0")},
		{name: "activate", args: at(T0, "--as Org1/Admin rule activate ecs ecs@1.0.0")},
		{name: "grant by a user", args: at(T0, "--as Org1/User1 allocation grant Org2MSP g1 5 --currency CNY --to "+M), code: 3, err: []string{"only admins of member orgs may grant allocations"}},
		{name: "grant bad amount", args: at(T0, "--as Org1/Admin allocation grant Org2MSP g1 5.001 --currency CNY --to "+M), code: 1, err: []string{"has 3 decimals"}},
		{name: "grant", args: at(T0, "--as Org1/Admin allocation grant Org2MSP g1 2.40 --currency CNY --scale 2 --to 2026-02-01 --hard-stop"),
			out: []string{"Org1MSP granted Org2MSP allocation g1", "2.40 CNY", "yes: new requests are refused"}},
		{name: "request", args: at(T0, "--as Org2/User1 resource request --id ecs-1 --provider Org1MSP --type ecs --days 30 "+spec)},
		{name: "activate resource", args: at(T0, "--as Org1/Agent1 resource activate ecs-1")},
		{name: "release", args: at(T3, "--as Org2/User1 resource release ecs-1"), out: []string{"2.28 CNY"}},
		{name: "show after one bill", args: a("--as Org2/User1 allocation show Org1MSP Org2MSP g1"), out: []string{"2.28 CNY by 1 bill", "0.12 CNY", "CROSSED", "80%", "ecs-1:000001"}},
		{name: "upload the fix", args: at(T4, "--as Org1/Admin rule upload "+wasm("ecs_hourly.wasm")+" --name ecs --version 1.0.1 --types ecs")},
		{name: "fix vote 1", args: at(T4, "--as Org1/Admin rule vote approve ecs@1.0.1")},
		{name: "fix vote 2", args: at(T4, "--as Org3/Admin rule vote approve ecs@1.0.1")},
		{name: "activate the fix until", args: at(T4, "--as Org1/Admin rule activate ecs ecs@1.0.1 --until "+M), out: []string{"UNTIL", "2026-02-01T00:00:00Z"}},
		{name: "rerate by the consumer", args: at(T5, "--as Org2/Admin bill rerate --resource ecs-1 --from "+T0+" --to "+T4+" --reason fix"), code: 3, err: []string{"may re-rate its bills"}},
		{name: "rerate without reason", args: at(T5, "--as Org1/Admin bill rerate --type ecs --from "+T0+" --to "+T4), code: 1, err: []string{"--reason are required"}},
		{name: "rerate", args: append(at(T5, "--as Org1/Admin bill rerate --type ecs --from "+T0+" --to "+T4+" --reason"), "public IPs were not billed"),
			out: []string{"Re-rated 1 bill with rule ecs 1.0.1: 0 unchanged, 1 adjustment issued", "ecs-1:000002", "+0.15 CNY", "Allocation g1 crossed 100%"}},
		{name: "rerate again", args: append(at(T5, "--as Org1/Admin bill rerate --type ecs --from "+T0+" --to "+T4+" --reason"), "again"),
			out: []string{"1 unchanged, no adjustments issued"}},
		{name: "adjustment", args: a("--as Org2/User1 bill show ecs-1:000002"), out: []string{"(adjustment): 0.15 CNY", "adjusts     ecs-1:000001", "public IPs were not billed", "previously billed"}},
		{name: "verify the adjustment", args: a("--as Org2/User1 bill verify ecs-1:000002"), out: []string{"rerated 2.43 CNY less 2.28 CNY billed before", "Bill ecs-1:000002 verified"}},
		{name: "hard stop", args: at(T5, "--as Org2/User1 resource request --id ecs-2 --provider Org1MSP --type ecs --days 30 "+spec), code: 1, err: []string{"is spent"}},
		{name: "topup", args: at(T5, "--as Org1/Admin allocation topup Org2MSP g1 1.5"), out: []string{"3.90 CNY", "1.47 CNY"}},
		{name: "request after the top-up", args: at(T5, "--as Org2/User1 resource request --id ecs-2 --provider Org1MSP --type ecs --days 30 "+spec)},
		{name: "list", args: a("--as Org1/User1 allocation list Org1MSP Org2MSP"), out: []string{"g1", "3.90 CNY", "2.43 CNY", "1.47 CNY"}},
		{name: "list json", args: a("-o json --as Org2/User1 allocation list Org1MSP"), json: true, out: []string{`"balance": 147`}},
		{name: "list by another", args: a("--as Org3/User1 allocation list Org1MSP Org2MSP"), code: 3},
		{name: "request after the window", args: at(M, "--as Org2/User1 resource request --id late --provider Org1MSP --type ecs --days 30 "+spec), code: 1, err: []string{"was valid until"}},
	})
}
