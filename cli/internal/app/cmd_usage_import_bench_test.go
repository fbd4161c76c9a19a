package app

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// BenchmarkUsageImportVsSubmit compares, in one run, `usage import` of
// cASO's APEL cloud records with `usage submit` of the same usage written
// as fedmeter CSV: each round imports 2,000 APEL records into one embedded
// ledger and submits the 2,000 usage records they map to (the same
// resources, metric, quantities and periods; derived IDs) into another,
// one after the other, so that both see the same machine load and ledgers
// of the same size. It reports the median rate of each and the ratio of the
// medians, with the spread (lowest and highest round) beside them. Issue
// 21's goal: import >= 0.8x submit. docs/benchmarks.md has the figures.
//
//	go test -run '^$' -bench UsageImportVsSubmit -benchtime 10x ./cli/internal/app/
func BenchmarkUsageImportVsSubmit(b *testing.B) {
	const (
		perRound  = 2000
		resources = 10
		t0        = 1767225600 // 2026-01-01T00:00:00Z
	)
	tmp := b.TempDir()
	mapping := filepath.Join(tmp, "mapping.yaml")
	if err := os.WriteFile(mapping, []byte(`
apel:
  provider: {field: SiteName, orgs: {FEDCLOUD-ALPHA: Org1MSP}}
  resource: {field: MachineName}
  where: [{field: Status, in: [completed]}]
  metrics:
    - {metric: cpu_seconds, field: CpuDuration, from: s}
`), 0o600); err != nil {
		b.Fatal(err)
	}
	at := fmt.Sprint(t0 + 300*86400)
	ledger := func(name string) string {
		dir := filepath.Join(tmp, name)
		for _, args := range [][]string{
			{"--at", fmt.Sprint(t0 - 3600), "init"},
			{"--at", fmt.Sprint(t0), "--as", "Org1/Admin", "price", "set", "ecs", "--currency", "CNY", "--scale", "2", "vcpu_hour=12"},
			{"--at", fmt.Sprint(t0), "--as", "Org1/Admin", "quota", "set", "Org2MSP", "max_days=365", "vcpu=64"},
			{"--at", fmt.Sprint(t0), "--as", "Org2/User1", "resource", "request", "--provider", "Org1MSP", "--type", "ecs", "--days", "365", "--spec", "vcpu=1", "--id", "r", "--count", fmt.Sprint(resources)},
		} {
			if r := fedmeter(dir, "", args...); r.code != 0 {
				b.Fatalf("%v: %s%s", args, r.out, r.errOut)
			}
		}
		ids := make([]string, resources)
		for i := range ids {
			ids[i] = fmt.Sprintf("r-%d", i+1)
		}
		if r := fedmeter(dir, "", append([]string{"--at", fmt.Sprint(t0), "--as", "Org1/Agent1", "resource", "activate"}, ids...)...); r.code != 0 {
			b.Fatalf("activate: %s%s", r.out, r.errOut)
		}
		return dir
	}
	importDir, submitDir := ledger("import"), ledger("submit")

	// files writes round n's records in both forms: record k is resource
	// r-(k%10+1)'s minute number n*200+k/10 after t0.
	files := func(n int) (apel, csv string) {
		var a, c strings.Builder
		a.WriteString("APEL-cloud-message: v0.4\n")
		c.WriteString("resource,metric,quantity,start,end\n")
		for k := 0; k < perRound; k++ {
			res := fmt.Sprintf("r-%d", k%resources+1)
			start := int64(t0) + int64(n*perRound/resources+k/resources)*60
			cpu := 60 + k%7
			if k > 0 {
				a.WriteString("%%\n")
			}
			fmt.Fprintf(&a, "VMUUID: 0c5f8a52-6a8e-4c1e-%04x-%012x\nSiteName: FEDCLOUD-ALPHA\nCloudComputeService: alpha-nova\nMachineName: %s\n"+
				"LocalUserId: 5b2a4c1e9f8d4e7a8c6b3d2e1f0a9b8c\nLocalGroupId: 9d8c7b6a5f4e4d3c2b1a0f9e8d7c6b5a\nFQAN: /vo.example.org/Role=NULL/Capability=NULL\n"+
				"GlobalUserName: /DC=org/DC=example/CN=Ada\nStatus: completed\nStartTime: %d\nEndTime: %d\nSuspendDuration: 0\nWallDuration: 60\nCpuDuration: %d\nCpuCount: 1\n"+
				"PublicIPCount: 0\nMemory: 2048\nDisk: 20\nBenchmarkType: HEPSPEC06\nBenchmark: 10.5\nImageId: b7e1c2d3-0000-4000-8000-00000000cafe\nCloudType: caso/4.1.0 (OpenStack)\n",
				n, k, res, start, start+60, cpu)
			fmt.Fprintf(&c, "%s,cpu_seconds,%d,%d,%d\n", res, cpu, start, start+60)
		}
		apel, csv = filepath.Join(tmp, fmt.Sprintf("r%d.apel", n)), filepath.Join(tmp, fmt.Sprintf("r%d.csv", n))
		if err := os.WriteFile(apel, []byte(a.String()), 0o600); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(csv, []byte(c.String()), 0o600); err != nil {
			b.Fatal(err)
		}
		return apel, csv
	}
	run := func(dir string, want string, args ...string) time.Duration {
		start := time.Now()
		r := fedmeter(dir, "", append([]string{"--at", at, "--as", "Org1/Agent1"}, args...)...)
		d := time.Since(start)
		if r.code != 0 || !strings.Contains(r.out, want) {
			b.Fatalf("%v: exit %d\n%s%s", args, r.code, r.out, r.errOut)
		}
		return d
	}
	accepted := fmt.Sprintf("%d accepted", perRound)
	round := 0
	one := func() (imp, sub float64) {
		apel, csv := files(round)
		round++
		di := run(importDir, accepted, "usage", "import", "--format", "apel", "--map", mapping, apel)
		ds := run(submitDir, accepted, "usage", "submit", csv)
		return perRound / di.Seconds(), perRound / ds.Seconds()
	}
	one() // warm up: the first transaction of a ledger opens and caches
	var imps, subs, ratios []float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		imp, sub := one()
		imps, subs, ratios = append(imps, imp), append(subs, sub), append(ratios, imp/sub)
	}
	b.StopTimer()
	mi, ms := medianF(imps), medianF(subs)
	b.ReportMetric(mi, "import-rec/s")
	b.ReportMetric(ms, "submit-rec/s")
	b.ReportMetric(mi/ms, "ratio")
	sort.Float64s(ratios)
	b.ReportMetric(ratios[0], "ratio-min")
	b.ReportMetric(ratios[len(ratios)-1], "ratio-max")
	b.Logf("rounds: %d; import %.0f..%.0f rec/s, submit %.0f..%.0f rec/s", len(imps), minF(imps), maxF(imps), minF(subs), maxF(subs))
}

func medianF(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func minF(v []float64) float64 {
	m := v[0]
	for _, x := range v {
		m = min(m, x)
	}
	return m
}

func maxF(v []float64) float64 {
	m := v[0]
	for _, x := range v {
		m = max(m, x)
	}
	return m
}
