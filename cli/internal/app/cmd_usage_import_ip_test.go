package app

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestUsageImportIP imports cASO's public IP records (usageimport's
// fixtures ip.json and ip-nasty.json) on the embedded ledger, into a
// per-project resource of a type of its own, and checks the ledger's
// totals against hand-computed ones.
func TestUsageImportIP(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "ledger")
	fixture := func(name string) string { return filepath.Join(root, "cli", "usageimport", "testdata", name) }
	write := func(name, content string) string {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	types := write("types.json", `[{"name": "public_ip", "spec": ["ips"], "metrics": ["public_ipv4_seconds", "public_ipv6_seconds"]}]`)
	// The project 4f1c... of FEDCLOUD-ALPHA is Org2's resource ips-astro at
	// Org1, found by its attribute project.
	mapping := write("mapping.yaml", `
apel-ip:
  interval: 1h
  provider: {field: SiteName, orgs: {FEDCLOUD-ALPHA: Org1MSP, FEDCLOUD-BETA: Org2MSP}}
  resource: {field: LocalGroup, attribute: project}
  metrics:
    - {metric: public_ipv4_seconds, field: IPCount, times: period, where: [{field: IPVersion, in: [4]}]}
    - {metric: public_ipv6_seconds, field: IPCount, times: period, where: [{field: IPVersion, in: [6]}]}
`)
	const T0 = "2026-01-01T00:00:00Z"
	at := func(t string, rest string) []string { return append([]string{"--at", t}, a(rest)...) }
	ip, nasty := fixture("ip.json"), fixture("ip-nasty.json")
	play(t, dir, map[string]string{}, []step{
		{name: "init", args: at("2025-12-31T22:00:00Z", "init --types "+types)},
		{name: "price", args: at(T0, "--as Org1/Admin price set public_ip --currency CNY --scale 2 ip_hour=5")},
		{name: "quota", args: at(T0, "--as Org1/Admin quota set Org2MSP max_days=365 ips=8")},
		{name: "request", args: at(T0, "--as Org2/User1 resource request --id ips-astro --provider Org1MSP --type public_ip --days 30 --spec ips=4 --attr project=4f1c0b3e9a2d4c5b8e7f6a1b2c3d4e5f")},
		{name: "activate", args: at(T0, "--as Org1/Agent1 resource activate ips-astro")},

		// FEDCLOUD-BETA's project is Org2MSP's to import: unmapped here.
		{name: "dry run", args: at("2026-01-01T03:00:00Z", "--as Org1/Agent1 usage import --dry-run --skip-unmapped --format apel-ip --map "+mapping+" "+ip),
			out: []string{`ip.json line 2 (message 2 record 1): unmapped: LocalGroup "8a7b6c5d4e3f4a2b9c1d0e8f7a6b5c4d": the mapping gives the record to Org2MSP`,
				"ips-astro  public_ipv4_seconds  Org1MSP   2        18000     2026-01-01T00:00:00Z  2026-01-01T02:00:00Z",
				"ips-astro  public_ipv6_seconds  Org1MSP   1        3600      2026-01-01T00:00:00Z  2026-01-01T01:00:00Z",
				"Dry run: 5 accounting records from 1 file would be sent as 3 usage records (0 left out by where or repeated, 1 of quantity 0, 1 unmapped)"}},
		{name: "import", args: at("2026-01-01T03:00:00Z", "--as Org1/Agent1 usage import --skip-unmapped --format apel-ip --map "+mapping+" "+ip),
			out: []string{"3 usage records in 1 batch: 3 accepted, 0 already on the ledger"}},
		{name: "again: nothing counted twice", args: at("2026-01-01T03:00:00Z", "--as Org1/Agent1 usage import --skip-unmapped --format apel-ip --map "+mapping+" "+ip),
			out: []string{"3 usage records in 1 batch: 0 accepted, 3 already on the ledger"}},
		{name: "nasty", args: at("2026-01-01T03:00:00Z", "--as Org1/Agent1 usage import --format apel-ip --map "+mapping+" "+nasty), code: 1,
			out: []string{`ip-nasty.json line 2 (message 1 record 1): malformed: IPVersion "5" is not 4 or 6`, "ip-nasty.json line 18: malformed: not a JSON public IP message"}},
	})
	// By hand: IPv4 3 IPs x 3600 s + 2 x 3600 = 18000; IPv6 1 x 3600.
	r := fedmeter(dir, "", "--as", "Org2/User1", "-o", "json", "usage", "list", "ips-astro")
	var recs []struct {
		Metric   string `json:"metric"`
		Quantity int64  `json:"quantity"`
	}
	if err := json.Unmarshal([]byte(r.out), &recs); err != nil {
		t.Fatalf("%v: %s", err, r.out)
	}
	got := map[string]int64{}
	for _, u := range recs {
		got[u.Metric] += u.Quantity
	}
	if len(recs) != 3 || got["public_ipv4_seconds"] != 18000 || got["public_ipv6_seconds"] != 3600 {
		t.Fatalf("ledger totals %v in %d records, want public_ipv4_seconds 18000, public_ipv6_seconds 3600 in 3", got, len(recs))
	}
}
