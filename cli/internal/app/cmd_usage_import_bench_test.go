//go:build unix

package app

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkUsageImportVsSubmit compares, in one run, `usage import` of
// cASO's APEL cloud records with `usage submit` of the same usage written
// as fedmeter CSV: each round imports 2,000 APEL records into one embedded
// ledger and submits the 2,000 usage records they map to (the same
// resources, metric, quantities and periods; derived IDs) into another,
// one after the other (in alternating order), so that both see the same
// machine load and ledgers of the same size. Both run in this process, as
// the tests run the command. It reports the median rate of each and the
// median of the rounds' ratios (ratio: import's rate / submit's), and the
// same for the CPU time each spends per record (cpu-ratio: submit's CPU /
// import's, so that both read 1 for "import as fast as submit"); the log
// line gives the spread (lowest and highest round). Issue 21's goal:
// import >= 0.8x submit. docs/benchmarks.md has the figures.
//
//	go test -run '^$' -bench UsageImportVsSubmit -benchtime 15x -count 3 ./cli/internal/app/
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
	// run times one command: wall time, and the CPU time of the process
	// (the command runs in it, and nothing else does), which a loaded
	// machine disturbs far less than wall time.
	run := func(dir string, want string, args ...string) (time.Duration, time.Duration) {
		runtime.GC() // neither run pays for the other's garbage
		c0 := cpuTime()
		start := time.Now()
		r := fedmeter(dir, "", append([]string{"--at", at, "--as", "Org1/Agent1"}, args...)...)
		d := time.Since(start)
		c := cpuTime() - c0
		if r.code != 0 || !strings.Contains(r.out, want) {
			b.Fatalf("%v: exit %d\n%s%s", args, r.code, r.out, r.errOut)
		}
		return d, c
	}
	accepted := fmt.Sprintf("%d accepted", perRound)
	round := 0
	type timing struct{ wallI, cpuI, wallS, cpuS time.Duration }
	one := func() timing {
		apel, csv := files(round)
		round++
		var t timing
		doImport := func() {
			t.wallI, t.cpuI = run(importDir, accepted, "usage", "import", "--format", "apel", "--map", mapping, apel)
		}
		doSubmit := func() { t.wallS, t.cpuS = run(submitDir, accepted, "usage", "submit", csv) }
		if round%2 == 0 { // alternate which goes first
			doImport()
			doSubmit()
		} else {
			doSubmit()
			doImport()
		}
		return t
	}
	one() // warm up: the first transaction of a ledger opens and caches
	var imps, subs, ratios, cpuI, cpuS, cpuRatios []float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t := one()
		imp, sub := perRound/t.wallI.Seconds(), perRound/t.wallS.Seconds()
		imps, subs, ratios = append(imps, imp), append(subs, sub), append(ratios, imp/sub)
		ci, cs := float64(t.cpuI.Microseconds())/perRound, float64(t.cpuS.Microseconds())/perRound
		cpuI, cpuS, cpuRatios = append(cpuI, ci), append(cpuS, cs), append(cpuRatios, cs/ci)
	}
	b.StopTimer()
	b.ReportMetric(medianF(imps), "import-rec/s")
	b.ReportMetric(medianF(subs), "submit-rec/s")
	b.ReportMetric(medianF(ratios), "ratio")
	b.ReportMetric(medianF(cpuI), "import-cpu-us/rec")
	b.ReportMetric(medianF(cpuS), "submit-cpu-us/rec")
	b.ReportMetric(medianF(cpuRatios), "cpu-ratio")
	b.Logf("rounds: %d; wall ratio %.2f..%.2f (import %.0f..%.0f rec/s, submit %.0f..%.0f rec/s); cpu ratio (submit/import CPU) %.2f..%.2f",
		len(imps), minF(ratios), maxF(ratios), minF(imps), maxF(imps), minF(subs), maxF(subs), minF(cpuRatios), maxF(cpuRatios))
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
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
