package chaincode

import (
	"fmt"
	"strings"
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
	for _, form := range []string{"table", "period-rows", "objects"} {
		b.Run("form="+form, func(b *testing.B) {
			const resources = 250
			e := newEnv(b)
			e.initConsortium()
			e.market()
			e.agentResources(resources)
			base := e.now.Unix()
			e.advance(100000 * time.Second)
			batches := make([]string, b.N)
			for n := range batches {
				switch form {
				case "table":
					batches[n] = agentTable(resources, base+int64(n), base+int64(n)+1)
				case "objects":
					batches[n] = agentObjects(resources, base+int64(n), base+int64(n)+1)
				default:
					batches[n] = agentBatch(resources, base+int64(n), base+int64(n)+1)
				}
			}
			b.ResetTimer()
			for n := range batches {
				if _, _, err := e.submit("org1.agent", "UsageSubmit", batches[n]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*2*resources), "µs/record")
		})
	}
}

// agentResources makes n active resources, res-0 to res-<n-1>, under a
// quota that holds them.
func (e *env) agentResources(n int) {
	e.ok("org1.admin", "QuotaSet", org2, `{"max_days":365,"vcpu":1000000,"memory_gib":1000000,"system_disk_gib":10000000,"public_ips":1000000}`)
	for i := range n {
		e.activeResource(fmt.Sprintf("res-%d", i))
	}
}

// agentBatch is what a metering agent sends for the period (start, end]:
// cpu_seconds and egress_gib of res-0 to res-<n-1>, IDs left to the
// contract (2n records, one key per resource), as period rows.
func agentBatch(n int, start, end int64) string {
	var b strings.Builder
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		q := int64(i) + start
		fmt.Fprintf(&b, `["res-%d",%d,%d,{"cpu_seconds":%d,"egress_gib":%d}]`, i, start, end, q, q)
	}
	b.WriteByte(']')
	return b.String()
}

// agentTable is agentBatch's records as one period table (what the CLI
// sends).
func agentTable(n int, start, end int64) string {
	var b strings.Builder
	fmt.Fprintf(&b, `[{"start":%d,"end":%d,"metrics":["cpu_seconds","egress_gib"],"rows":[`, start, end)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		q := int64(i) + start
		fmt.Fprintf(&b, `["res-%d",%d,%d]`, i, q, q)
	}
	b.WriteString("]}]")
	return b.String()
}

// agentObjects is agentBatch's records as JSON objects.
func agentObjects(n int, start, end int64) string {
	recs := make([]map[string]any, 0, 2*n)
	for i := range n {
		for _, m := range []string{"cpu_seconds", "egress_gib"} {
			recs = append(recs, map[string]any{"resource": fmt.Sprintf("res-%d", i), "metric": m, "quantity": int64(i) + start, "start": start, "end": end})
		}
	}
	return js(recs)
}
