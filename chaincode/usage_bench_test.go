package chaincode

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkUsageSubmit times one UsageSubmit of 500 records shaped as a
// metering agent sends them (cpu_seconds and egress_gib of 250 resources
// over one period, IDs derived) through the router on the in-memory stub:
// the contract's own cost per record, without the ledger's.
//
//	go test -run '^$' -bench UsageSubmit -benchmem ./chaincode/
func BenchmarkUsageSubmit(b *testing.B) {
	const resources = 250
	e := newEnv(b)
	e.initConsortium()
	e.market()
	e.ok("org1.admin", "QuotaSet", org2, `{"max_days":365,"vcpu":1000000,"memory_gib":1000000,"system_disk_gib":10000000,"public_ips":1000000}`)
	for i := range resources {
		e.activeResource(fmt.Sprintf("res-%d", i))
	}
	base := e.now.Unix()
	e.advance(100000 * time.Second)
	batches := make([]string, b.N)
	for n := range batches {
		recs := make([]map[string]any, 0, 2*resources)
		for i := range resources {
			for _, m := range []string{"cpu_seconds", "egress_gib"} {
				recs = append(recs, map[string]any{"resource": fmt.Sprintf("res-%d", i), "metric": m, "quantity": n + i,
					"start": base + int64(n), "end": base + int64(n) + 1})
			}
		}
		batches[n] = js(recs)
	}
	b.ResetTimer()
	for n := range batches {
		if _, _, err := e.submit("org1.agent", "UsageSubmit", batches[n]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*2*resources), "µs/record")
}
