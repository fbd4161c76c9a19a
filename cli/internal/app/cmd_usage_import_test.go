package app

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUsageImport imports fixtures of cli/usageimport on the embedded
// ledger, with resources found by a ledger attribute, and checks the
// numbers against hand-computed totals.
func TestUsageImport(t *testing.T) {
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
	mapping := write("mapping.yaml", `
version: 1
apel:
  provider:
    field: SiteName
    orgs: {FEDCLOUD-ALPHA: Org1MSP, FEDCLOUD-BETA: Org2MSP}
  resource: {field: VMUUID, attribute: vmuuid}
  where: [{field: Status, in: [completed]}]
  metrics:
    - {metric: cpu_seconds, field: CpuDuration, from: s}
cloudevents:
  provider: {default: Org1}
  resource: {field: data.resource, attribute: vmuuid}
  start: data.start
  end: data.end
  metrics:
    - {metric: cpu_seconds, field: data.cpu_seconds, from: s}
    - {metric: egress_gib, field: data.egress, from: GiB, round: up}
star:
  resource: {field: Site, ids: {FEDCLOUD-ALPHA: ecs-1}}
  metrics:
    - {metric: egress_gib, field: ResourceCapacityUsed, from: B, to: GiB}
`)
	byTable := write("by-table.yaml", `
apel:
  resource: {field: VMUUID, prefix: vm-}
  where: [{field: Status, in: [completed]}]
  metrics: [{metric: cpu_seconds, field: CpuDuration, from: s}]
`)
	const (
		T0  = "2026-01-01T00:00:00Z"
		T20 = "2026-01-01T20:00:00Z"
	)
	at := func(t string, rest string) []string { return append([]string{"--at", t}, a(rest)...) }
	cloud, events, nasty := fixture("cloud.apel"), fixture("events-batch.json"), fixture("cloud-nasty.apel")
	vars := map[string]string{}
	play(t, dir, vars, []step{
		{name: "init", args: at("2025-12-31T22:00:00Z", "init"), out: []string{"Created the embedded ledger"}},
		{name: "price", args: at(T0, "--as Org1/Admin price set ecs --currency CNY --scale 2 vcpu_hour=12 egress_gib=80"), out: []string{"Published"}},
		{name: "quota", args: at(T0, "--as Org1/Admin quota set Org2MSP max_days=365 vcpu=8 memory_gib=64"), out: []string{"granted"}},
		{name: "vm a", args: at(T0, "--as Org2/User1 resource request --id ecs-1 --provider Org1MSP --type ecs --days 30 --spec vcpu=2 --attr vmuuid=0c5f8a52-6a8e-4c1e-9b1f-3a2d1e0f0a01"), out: []string{"requested ecs-1"}},
		{name: "vm b", args: at(T0, "--as Org2/User1 resource request --id ecs-2 --provider Org1MSP --type ecs --days 30 --spec vcpu=1 --attr vmuuid=0c5f8a52-6a8e-4c1e-9b1f-3a2d1e0f0a02"), out: []string{"requested ecs-2"}},
		{name: "activate", args: at(T0, "--as Org1/Agent1 resource activate ecs-1 ecs-2"), out: []string{"activated ecs-1", "activated ecs-2"}},

		{name: "no format", args: a("usage import " + cloud + " --map " + mapping), code: 1, err: []string{"--format is required"}},
		{name: "bad format", args: a("usage import " + cloud + " --format slurm --map " + mapping), code: 1, err: []string{`--format "slurm" is not valid`}},
		{name: "no map", args: a("usage import " + cloud + " --format apel"), code: 1, err: []string{"--map is required"}},
		{name: "no file", args: a("usage import --format apel --map " + mapping), code: 1, err: []string{"needs at least one FILE"}},
		{name: "missing file", args: a("usage import nowhere.apel --format apel --map " + mapping), code: 1, err: []string{"the accounting file nowhere.apel cannot be read: no such file or directory"}},
		{name: "bad mapping", args: a("usage import " + cloud + " --format apel --map " + cloud), code: 1, err: []string{"is not valid", "Importing accounting records"}},
		{name: "no section", args: a("usage import " + cloud + " --format ogf-ur --map " + mapping), code: 1, err: []string{"has no ogf-ur section"}},

		// VM c is FEDCLOUD-BETA's, which the mapping gives to Org2MSP; VM d
		// is still running (Status started), left out by where.
		{name: "unmapped refuses", args: at(T20, "--as Org1/Agent1 usage import --format apel --map "+mapping+" "+cloud), code: 1,
			out: []string{`cloud.apel line 56: unmapped: VMUUID "0c5f8a52-6a8e-4c1e-9b1f-3a2d1e0f0a03": the mapping gives the record to Org2MSP, whose resources an identity of Org1MSP cannot look up`},
			err: []string{"the accounting records have 1 problem (listed above); nothing was submitted", "--skip-unmapped"}},
		{name: "dry run", args: at(T20, "--as Org1/Agent1 usage import --dry-run --skip-unmapped --format apel --map "+mapping+" "+cloud),
			out: []string{"ecs-1     cpu_seconds  Org1MSP   1        72000     2026-01-01T00:00:00Z  2026-01-01T10:00:00Z",
				"ecs-2     cpu_seconds  Org1MSP   1        23400     2026-01-01T01:00:00Z  2026-01-01T07:30:00Z",
				"Dry run: 4 accounting records from 1 file would be sent as 2 usage records (1 left out by where or repeated, 0 of quantity 0, 1 unmapped); nothing was sent."}},
		{name: "dry run records", args: at(T20, "--as Org1/Agent1 usage import --dry-run --records --skip-unmapped --format apel --map "+mapping+" "+cloud),
			out: []string{"ecs-2     cpu_seconds  23400     2026-01-01T01:00:00Z  2026-01-01T07:30:00Z  (derived)  ", "cloud.apel line 29\n"}},
		{name: "nothing sent by the dry run", args: a("--as Org2/User1 usage list ecs-1"), out: []string{"No usage records for ecs-1."}},
		{name: "import", args: at(T20, "--as Org1/Agent1 usage import --skip-unmapped --format apel --map "+mapping+" "+cloud),
			out: []string{"Imported 4 accounting records from 1 file: 2 usage records in 1 batch: 2 accepted, 0 already on the ledger", "Left out: 1 by where or repeated, 0 of quantity 0, 1 unmapped."}},
		{name: "import again", args: at(T20, "--as Org1/Agent1 usage import --skip-unmapped --format apel --map "+mapping+" "+cloud),
			out: []string{"2 usage records in 1 batch: 0 accepted, 2 already on the ledger"}},
		// The CloudEvents of the same VMs repeat the CPU seconds over the
		// same periods: the same derived IDs, so not counted twice. Egress:
		// 3.25 GiB rounds up to 4, 512 MiB (0.5 GiB) to 1; vm c has no
		// resource on the ledger.
		{name: "cloudevents", args: at(T20, "--as Org1/Agent1 usage import --skip-unmapped --format cloudevents --map "+mapping+" "+events),
			out: []string{"4 usage records in 1 batch: 2 accepted, 2 already on the ledger"}},
		{name: "by the consumer", args: at(T20, "--as Org2/User1 usage import --format cloudevents --map "+mapping+" --skip-unmapped "+events), code: 1,
			out: []string{"the mapping gives the record to Org1, whose resources an identity of Org2MSP cannot look up"}, err: []string{"every usage record was left out: 3 records map to no resource or provider"}},
		{name: "unknown resource", args: at(T20, "--as Org1/Agent1 usage import --format apel --map "+byTable+" "+cloud), code: 2,
			err: []string{"cloud.apel line 2: batch 1 of 1 was refused", "there is no resource vm-0c5f8a52-6a8e-4c1e-9b1f-3a2d1e0f0a01"}},
		{name: "nasty", args: at(T20, "--as Org1/Agent1 usage import --format apel --map "+byTable+" "+nasty), code: 1,
			out: []string{"cloud-nasty.apel line 2: malformed: the record has no EndTime", "cloud-nasty.apel line 385: malformed: field VMUUID appears twice"},
			err: []string{"the accounting records have 11 problems (listed above); nothing was submitted"}},
		{name: "stdin", args: at(T20, "--as Org1/Agent1 usage import --format star --dry-run --map "+mapping+" -"),
			stdin: `<sr:StorageUsageRecords xmlns:sr="http://eu-emi.eu/namespaces/2011/02/storagerecord"><sr:StorageUsageRecord><sr:RecordIdentity sr:recordId="v1"/><sr:Site>FEDCLOUD-ALPHA</sr:Site><sr:StartTime>2026-01-01T00:00:00Z</sr:StartTime><sr:EndTime>2026-01-01T01:00:00Z</sr:EndTime><sr:ResourceCapacityUsed>2147483648</sr:ResourceCapacityUsed></sr:StorageUsageRecord></sr:StorageUsageRecords>`,
			out:   []string{"ecs-1     egress_gib            1        2 ", "from 1 file would be sent as 1 usage record"}},
	})

	// The ledger's totals, by hand: ecs-1 72000 CPU seconds and 4 GiB,
	// ecs-2 23400 and 1.
	for _, c := range []struct {
		res  string
		want map[string]int64
	}{{"ecs-1", map[string]int64{"cpu_seconds": 72000, "egress_gib": 4}}, {"ecs-2", map[string]int64{"cpu_seconds": 23400, "egress_gib": 1}}} {
		r := fedmeter(dir, "", "--as", "Org2/User1", "-o", "json", "usage", "list", c.res)
		if r.code != 0 {
			t.Fatalf("usage list %s: %d %s", c.res, r.code, r.errOut)
		}
		var recs []struct {
			Metric   string `json:"metric"`
			Quantity int64  `json:"quantity"`
		}
		if err := json.Unmarshal([]byte(r.out), &recs); err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		for _, u := range recs {
			got[u.Metric] += u.Quantity
		}
		if len(got) != len(c.want) || got["cpu_seconds"] != c.want["cpu_seconds"] || got["egress_gib"] != c.want["egress_gib"] {
			t.Errorf("%s: totals %v, want %v (%d records)", c.res, got, c.want, len(recs))
		}
	}

	// --dry-run -o json lists what would be sent and every problem.
	r := fedmeter(dir, "", "--at", T20, "--as", "Org1/Agent1", "-o", "json", "usage", "import", "--dry-run", "--format", "apel", "--map", byTable, nasty)
	if r.code != 1 {
		t.Fatalf("nasty dry run: exit %d\n%s", r.code, r.errOut)
	}
	var res struct {
		Problems []struct {
			Line int    `json:"line"`
			Kind string `json:"kind"`
		} `json:"problems"`
	}
	if err := json.Unmarshal([]byte(r.out), &res); err != nil {
		t.Fatalf("%v\n%s", err, r.out)
	}
	kinds := map[string]int{}
	for _, p := range res.Problems {
		kinds[p.Kind]++
	}
	if len(res.Problems) != 12 || kinds["duplicate"] != 1 || kinds["conflict"] != 1 || kinds["overflow"] != 1 || kinds["unit"] != 1 || kinds["unmapped"] != 1 || kinds["malformed"] != 7 {
		t.Errorf("problems by kind %v (%d), want 12: 1 duplicate, 1 conflict, 1 overflow, 1 unit, 1 unmapped, 7 malformed:\n%s", kinds, len(res.Problems), r.out)
	}
	if !strings.Contains(r.errOut, "the accounting records have 11 problems") {
		t.Errorf("stderr: %s", r.errOut)
	}
}
