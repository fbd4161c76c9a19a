package chaincode

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fedmeter/fedmeter/host"
)

// BenchmarkReleaseAndBill times one ResourceRelease transaction through the
// contract router on the in-memory stub: load the resource, the active rule,
// the price book, the quota and the usage records, build the input, run the
// rule, store the bill, its two index entries, the quota and the resource.
// "wasm" runs testdata/ecs_hourly.wasm with package host; "native" runs the
// same formula in Go (nativePricer). The goal is wasm < 1.5 x native.
// Request, activation and usage are set up outside the timer.
//
//	go test -run '^$' -bench ReleaseAndBill -benchmem ./chaincode/
func BenchmarkReleaseAndBill(b *testing.B) {
	code, err := os.ReadFile(filepath.Join("testdata", "ecs_hourly.wasm"))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("wasm", func(b *testing.B) { benchRelease(b, code) })
	b.Run("native", func(b *testing.B) { benchRelease(b, code, WithPricer(nativePricer{})) })
}

func benchRelease(b *testing.B, code []byte, opts ...Option) {
	e := benchEnv(b, code, opts...)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		id := e.benchResource(i)
		b.StartTimer()
		e.release(id)
	}
}

// benchEnv is a ledger with the rule active and one release done, so that
// compiling the rule is not timed.
func benchEnv(b *testing.B, code []byte, opts ...Option) *env {
	e := newEnv(b, opts...)
	e.initConsortium()
	e.market()
	e.activeRule("ecs", "1.0.0", code)
	e.release(e.benchResource(-1))
	return e
}

// benchResource makes an active resource held for 10 hours with two usage
// records.
func (e *env) benchResource(i int) string {
	id := fmt.Sprintf("r%d", i)
	e.activeResource(id)
	start := e.now.Unix()
	e.advance(10 * time.Hour)
	e.ok("org1.agent", "UsageSubmit", js([]map[string]any{
		{"id": id + "-u1", "resource": id, "metric": "egress_gib", "quantity": 3, "start": start, "end": start + 3600},
		{"id": id + "-u2", "resource": id, "metric": "egress_gib", "quantity": 4, "start": start + 3600, "end": start + 7200},
	}))
	return id
}

func (e *env) release(id string) {
	if _, _, err := e.submit("org2.user", "ResourceRelease", id); err != nil {
		e.tb.Fatal(err)
	}
}

// BenchmarkReleaseAndBillRatio alternates a Wasm and a native release in
// one loop, so that load on the machine hits both alike, and reports each
// one's time per release and their ratio (the goal: wasm/native < 1.5).
func BenchmarkReleaseAndBillRatio(b *testing.B) {
	code, err := os.ReadFile(filepath.Join("testdata", "ecs_hourly.wasm"))
	if err != nil {
		b.Fatal(err)
	}
	w := benchEnv(b, code)
	n := benchEnv(b, code, WithPricer(nativePricer{}))
	var tw, tn time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		wid, nid := w.benchResource(i), n.benchResource(i)
		s := time.Now()
		w.release(wid)
		m := time.Now()
		n.release(nid)
		tn += time.Since(m)
		tw += m.Sub(s)
	}
	b.ReportMetric(float64(tw.Nanoseconds())/float64(b.N), "wasm-ns/release")
	b.ReportMetric(float64(tn.Nanoseconds())/float64(b.N), "native-ns/release")
	b.ReportMetric(float64(tw)/float64(tn), "wasm/native")
}

// BenchmarkPricer times the rule call alone (input already built).
func BenchmarkPricer(b *testing.B) {
	code, err := os.ReadFile(filepath.Join("testdata", "ecs_hourly.wasm"))
	if err != nil {
		b.Fatal(err)
	}
	p, err := host.Prepare(code)
	if err != nil {
		b.Fatal(err)
	}
	rule := &Rule{Name: "ecs", Version: "1.0.0", Hash: hashOf(code), PreparedHash: hexOf(p.Hash[:])}
	r := &Resource{ID: "r1", Type: "ecs", Provider: org1, Consumer: org2,
		Spec: map[string]int64{"vcpu": 2, "memory_gib": 4, "system_disk_gib": 40, "public_ips": 1}, Attributes: map[string]string{"zone": "bj-1"}}
	price := &PriceEntry{Currency: "CNY", Scale: 2, UnitPrices: map[string]int64{"vcpu_hour": 12, "memory_gib_hour": 3, "disk_gib_hour": 1, "public_ip_hour": 5, "egress_gib": 80}}
	in, err := EncodeInput(r, price, map[string]int64{"vcpu": 10}, map[string]int64{"egress_gib": 7}, t0.Unix(), t0.Unix()+36000, "tx", t0.Unix())
	if err != nil {
		b.Fatal(err)
	}
	call := host.Call{Input: in, GasLimit: BillGasLimit, TxID: "tx"}
	load := func() ([]byte, error) { return code, nil }
	for _, c := range []struct {
		name string
		p    Pricer
	}{{"wasm", WasmPricer()}, {"native", nativePricer{}}} {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := c.p.Price(context.Background(), rule, load, call); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReleaseAndBillStandardECS is BenchmarkReleaseAndBill/wasm with the
// project's rules/ecs (a Go rule compiled to Wasm), when it is in the tree.
func BenchmarkReleaseAndBillStandardECS(b *testing.B) {
	code := buildStandardECS(b)
	e := newEnv(b)
	e.initConsortium()
	e.market()
	e.activeRule("ecs", "1.0.0", code)
	warm := func(i int) string {
		id := fmt.Sprintf("r%d", i)
		e.activeResource(id)
		e.advance(10 * time.Hour)
		return id
	}
	e.release(warm(-1))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		id := warm(i)
		b.StartTimer()
		e.release(id)
	}
}
