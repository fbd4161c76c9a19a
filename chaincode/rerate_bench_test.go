package chaincode

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkRerate times one BillRerate over 100 bills (the most one call
// takes) on the in-memory ledger with the Wasm rules: "adjust" issues 100
// adjustments (the typo rule's bills re-rated by the fix), "unchanged" is
// the same call again, which recomputes the 100 bills and issues nothing.
func BenchmarkRerate(b *testing.B) {
	setup := func(b *testing.B) (*env, string, string) {
		e := newEnv(b)
		e.initConsortium()
		e.ok("org1.admin", "PriceSet", "ecs", ecsPrices, "")
		e.ok("org1.admin", "QuotaSet", org2, `{"max_days":365,"vcpu":1000,"memory_gib":1000,"system_disk_gib":10000,"public_ips":1000}`)
		e.activeRule("ecs", "1.0.0", wasmFile(b, "ecs_typo.wasm"))
		from := unix(e.now)
		for i := range maxRerateBills {
			id := fmt.Sprintf("b%d", i)
			e.hold(id)
			e.advance(time.Hour)
			e.release(id)
		}
		to := unix(e.now.Add(time.Second))
		e.advance(time.Minute)
		e.activeRule("ecs", "1.0.1", wasmFile(b, "ecs_hourly.wasm"))
		e.advance(time.Minute)
		return e, from, to
	}
	b.Run("adjust", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			e, from, to := setup(b)
			b.StartTimer()
			e.ok("org1.admin", "BillRerate", "ecs", "", from, to, "fix")
		}
		b.ReportMetric(maxRerateBills, "bills/op")
	})
	b.Run("unchanged", func(b *testing.B) {
		e, from, to := setup(b)
		e.ok("org1.admin", "BillRerate", "ecs", "", from, to, "fix")
		for b.Loop() {
			e.ok("org1.admin", "BillRerate", "ecs", "", from, to, "again")
		}
		b.ReportMetric(maxRerateBills, "bills/op")
	})
}

// BenchmarkReleaseAllocation is BenchmarkReleaseAndBill's native release
// without an allocation and with one that every bill draws on: the cost of
// reading and writing allocation/<provider>/<consumer>.
func BenchmarkReleaseAllocation(b *testing.B) {
	for _, withAlloc := range []bool{false, true} {
		name := "none"
		if withAlloc {
			name = "drawing"
		}
		b.Run(name, func(b *testing.B) {
			e := benchEnv(b, wasmFile(b, "ecs_hourly.wasm"), WithPricer(nativePricer{}))
			if withAlloc {
				e.ok("org1.admin", "AllocationGrant", grantArgs("bench", 1<<62, e.now, e.now.Add(100*365*24*time.Hour), false)...)
			}
			i := 0
			for b.Loop() {
				b.StopTimer()
				id := e.benchResource(i)
				i++
				b.StartTimer()
				e.release(id)
			}
		})
	}
}
