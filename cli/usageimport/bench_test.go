package usageimport

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkAPEL reads and maps 10,000 cASO cloud records (the rate is in
// the records/s metric; nothing asserts on it).
func BenchmarkAPEL(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("APEL-cloud-message: v0.4\n")
	const n = 10000
	for i := 0; i < n; i++ {
		if i > 0 {
			sb.WriteString("%%\n")
		}
		fmt.Fprintf(&sb, "VMUUID: 0c5f8a52-6a8e-4c1e-9b1f-%012d\nSiteName: FEDCLOUD-ALPHA\nCloudComputeService: alpha-nova\nMachineName: vm-%d\n"+
			"LocalUserId: 5b2a4c1e9f8d4e7a8c6b3d2e1f0a9b8c\nLocalGroupId: 9d8c7b6a5f4e4d3c2b1a0f9e8d7c6b5a\nFQAN: /vo.example.org/Role=NULL/Capability=NULL\n"+
			"Status: completed\nStartTime: %d\nEndTime: %d\nSuspendDuration: 0\nWallDuration: 3600\nCpuDuration: 7200\nCpuCount: 2\n"+
			"PublicIPCount: 1\nMemory: 4096\nDisk: 40\nBenchmarkType: HEPSPEC06\nBenchmark: 10.5\nImageId: b7e1c2d3-0000-4000-8000-00000000cafe\nCloudType: cASO/4.1.0 (OpenStack)\n",
			i, i, 1767225600+i, 1767229200+i)
	}
	data := []byte(sb.String())
	m := mapping(b, `
apel:
  provider: {field: SiteName, orgs: {FEDCLOUD-ALPHA: Org1MSP}}
  resource: {field: VMUUID, prefix: vm-}
  where: [{field: Status, in: [completed]}]
  metrics:
    - {metric: cpu_seconds, field: CpuDuration, from: s}
    - {metric: memory_gib_seconds, field: Memory, from: MiB, to: GiB, times: WallDuration}
`)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		recs, probs := Parse(FormatAPEL, "b.apel", data)
		p, err := m.Apply(FormatAPEL, recs, nil)
		if err != nil || len(probs) > 0 || len(p.Problem) > 0 || len(p.Usage) != 2*n {
			b.Fatalf("%v %v %v %d", err, probs, p.Problem, len(p.Usage))
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
}
