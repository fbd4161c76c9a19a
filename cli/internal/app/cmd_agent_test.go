package app

import (
	"os"
	"path/filepath"
	"testing"
)

// TestAgentCommand runs `fedmeter agent --once` in process on stdin against
// an embedded ledger, and its mistakes.
func TestAgentCommand(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "ledger")
	cfg := filepath.Join(tmp, "agent.yaml")
	os.WriteFile(cfg, []byte(`period: 1h
lateness: 1m
metrics:
  - {sample: cpu, metric: cpu_seconds, aggregate: sum}
  - {sample: tx_bytes, metric: egress_gib, aggregate: integral, divide: 1073741824, per: 1h}
`), 0o644)
	bad := filepath.Join(tmp, "bad.yaml")
	os.WriteFile(bad, []byte("period: 1h\nmetrics: [{sample: cpu, aggregate: median}]\n"), 0o644)
	state := filepath.Join(tmp, "state")
	const T0, T20 = "2026-01-01T00:00:00Z", "2026-01-01T20:00:00Z"
	at := func(t string, rest string) []string { return append([]string{"--at", t}, a(rest)...) }
	// cpu: 100+200 in the first hour, 50 in the second; 3 GiB held from
	// 00:30 to 01:30 (then 0): 1.5 GiB-hours in each hour, rounded to 2.
	stream := `{"resource":"ecs-1","metric":"cpu","value":100,"time":"2026-01-01T00:10:00Z"}
{"resource":"ecs-1","metric":"cpu","value":200,"time":"2026-01-01T00:50:00Z"}
{"resource":"ecs-1","metric":"tx_bytes","value":3221225472,"time":"2026-01-01T00:30:00Z"}
{"resource":"ecs-1","metric":"tx_bytes","value":0,"time":"2026-01-01T01:30:00Z"}
{"resource":"ecs-1","metric":"cpu","value":50,"time":"2026-01-01T01:20:00Z"}
{"resource":"ecs-1","metric":"humidity","value":50,"time":"2026-01-01T01:20:00Z"}
`
	play(t, dir, nil, []step{
		{name: "help teaches", args: a("agent --help"), out: []string{"EXAMPLES:", "--once", "aggregate: sum, max, min, avg, latest, or integral", "docs/ingest.md"}},
		{name: "no config", args: a("agent --file x"), code: 1, err: []string{`Required flag "config" not set`}},
		{name: "no input", args: a("agent --config " + cfg), code: 1, err: []string{"needs an input: --file PATH, --scrape URL or - (stdin)"}},
		{name: "bad config", args: a("agent --config " + bad + " -"), code: 1, err: []string{`aggregate "median" is not valid`}},
		{name: "not an input", args: a("agent --config " + cfg + " notes.txt"), code: 1, err: []string{`"notes.txt" is not an input`}},
		{name: "once with a scrape", args: a("agent --config " + cfg + " --once --scrape http://127.0.0.1:1/metrics"), code: 1, err: []string{"has none"}},
		{name: "init", args: at(T0, "init")},
		{name: "price", args: at(T0, "--as Org1/Admin price set ecs --currency CNY --scale 2 vcpu_hour=12 egress_gib=80")},
		{name: "quota", args: at(T0, "--as Org1/Admin quota set Org2MSP max_days=365 vcpu=8")},
		{name: "request", args: at(T0, "--as Org2/User1 resource request --id ecs-1 --provider Org1MSP --type ecs --days 30 --spec vcpu=2")},
		{name: "activate", args: at(T0, "--as Org1/Agent1 resource activate ecs-1")},
		{name: "agent once", args: at(T20, "--as Org1/Agent1 agent --config "+cfg+" --state "+state+" --once -"), stdin: stream,
			out: []string{"5 samples read (0 late, 0 invalid, 1 ignored); 4 records accepted, 0 already on the ledger, 0 rejected; 0 records left in the spool"}},
		{name: "usage", args: a("usage list ecs-1 -o json"), json: true, out: []string{`"quantity": 300`, `"quantity": 50`, `"metric": "egress_gib",
    "quantity": 2,
    "start": 1767225600`, `"metric": "egress_gib",
    "quantity": 2,
    "start": 1767229200`}},
		{name: "metrics listen", args: at(T20, "--as Org1/Agent1 agent --config "+cfg+" --state "+state+" --once --metrics-listen 127.0.0.1:0 -"), stdin: stream,
			out: []string{"0 records accepted"}, err: []string{"agent: metrics at http://127.0.0.1:"}},
		{name: "again: duplicates only", args: at(T20, "--as Org1/Agent1 -o json agent --config "+cfg+" --state "+filepath.Join(tmp, "state2")+" --once -"), stdin: stream,
			json: true, out: []string{`"records_accepted": 0`, `"records_duplicate": 4`}},
	})
}
