package usageimport_test

import (
	"fmt"

	"github.com/fedmeter/fedmeter/cli/usageimport"
)

// An APEL cloud record, as cASO writes it, mapped to CPU seconds and
// GiB-seconds of memory of the resource named by a table.
func Example() {
	data := []byte(`APEL-cloud-message: v0.4
VMUUID: 0c5f8a52-6a8e-4c1e-9b1f-3a2d1e0f0a01
SiteName: FEDCLOUD-ALPHA
Status: completed
StartTime: 1767225600
EndTime: 1767261600
WallDuration: 36000
CpuDuration: 72000
Memory: 4096
`)
	m, err := usageimport.LoadMapping([]byte(`
apel:
  provider: {field: SiteName, orgs: {FEDCLOUD-ALPHA: Org1MSP}}
  resource: {field: VMUUID, ids: {0c5f8a52-6a8e-4c1e-9b1f-3a2d1e0f0a01: ecs-1}}
  metrics:
    - {metric: cpu_seconds, field: CpuDuration, from: s}
    - {metric: memory_gib_seconds, field: Memory, from: MiB, to: GiB, times: WallDuration}
`))
	if err != nil {
		panic(err)
	}
	recs, probs := usageimport.Parse(usageimport.FormatAPEL, "cloud.apel", data)
	plan, err := m.Apply(usageimport.FormatAPEL, recs, nil)
	if err != nil {
		panic(err)
	}
	for _, u := range plan.Usage {
		fmt.Println(u.Resource, u.Metric, u.Quantity, u.Start, u.End, u.Provider, u.Where())
	}
	fmt.Println(len(probs)+len(plan.Problem), "problems")
	// Output:
	// ecs-1 cpu_seconds 72000 1767225600 1767261600 Org1MSP cloud.apel line 2
	// ecs-1 memory_gib_seconds 144000 1767225600 1767261600 Org1MSP cloud.apel line 2
	// 0 problems
}
