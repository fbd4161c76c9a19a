package chaincode

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fedmeter/fedmeter/rules/build"
)

// BenchmarkEmbeddedReleaseAndBill is the embedded ledger's billing throughput
// with the real contract and a real rule: concurrent ResourceRelease
// transactions (each builds the input, runs the Wasm rule, writes the bill and
// its indexes) committed durably (fsync on), as `fedmeter` runs them. It
// reports transactions per second and per-transaction p50/p99 latency. The
// goal for issue 5 is >= 2,000 billing tx/s on a 2-core machine.
//
//	go test -run '^$' -bench EmbeddedReleaseAndBill -benchtime 2000x ./chaincode/
func BenchmarkEmbeddedReleaseAndBill(b *testing.B) {
	wat, err := os.ReadFile(filepath.Join("testdata", "ecs_hourly.wasm"))
	if err != nil {
		b.Fatal(err)
	}
	rules := []struct {
		name string
		code func(b *testing.B) []byte
	}{
		{"wat-ecs-hourly", func(*testing.B) []byte { return wat }},
		{"go-rules-ecs", buildStandardECS},
	}
	for _, r := range rules {
		for _, clients := range []int{1, 32} {
			b.Run(fmt.Sprintf("%s/clients=%d", r.name, clients), func(b *testing.B) {
				benchEmbeddedRelease(b, r.code(b), clients)
			})
		}
	}
}

func benchEmbeddedRelease(b *testing.B, code []byte, clients int) {
	e := newEmbeddedEnvSync(b, true)
	e.initConsortium()
	e.ok("org1.admin", "PriceSet", "ecs", ecsPrices, "")
	e.ok("org1.admin", "QuotaSet", org2, `{"max_days":365,"vcpu":1000000000,"memory_gib":1000000000,"system_disk_gib":1000000000,"data_disk_gib":1000000000,"public_ips":1000000000}`)
	e.activeRule("ecs", "1.0.0", code)
	ids := make([]string, b.N+1)
	for i := range ids {
		ids[i] = fmt.Sprintf("r%d", i)
		e.activeResource(ids[i])
	}
	e.advance(10 * time.Hour)
	e.release(ids[b.N]) // compile and initialize the rule outside the timer

	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				t0 := time.Now()
				if _, err := e.led.Submit(e.id("org2.user"), "ResourceRelease", ids[i]); err != nil {
					b.Error(err)
					return
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "tx/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-us")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-us")
}

// buildStandardECS builds rules/ecs reproducibly, once per test binary.
var buildStandardECS = func() func(b *testing.B) []byte {
	var once sync.Once
	var code []byte
	var err error
	return func(b *testing.B) []byte {
		once.Do(func() {
			dir, _ := filepath.Abs(filepath.Join("..", "rules", "ecs"))
			out := filepath.Join(os.TempDir(), fmt.Sprintf("fedmeter-bench-ecs-%d.wasm", os.Getpid()))
			defer os.Remove(out)
			if _, err = build.Rule(context.Background(), dir, out); err == nil {
				code, err = os.ReadFile(out)
			}
		})
		if err != nil {
			b.Skipf("rules/ecs does not build: %v", err)
		}
		return code
	}
}()

// BenchmarkEmbeddedUsageSubmit is the embedded ledger's usage throughput with
// the real contract: UsageSubmit transactions of 1,000 records each (every
// record validated, deduplicated by ID and stored), committed durably. It
// reports records per second. The goal for issue 5 is >= 50,000 records/s.
// ids=derived is what a metering agent sends: cpu_seconds and egress_gib of
// 500 resources over one period, IDs left to the contract (one key per
// resource and period); ids=chosen is 1,000 records of one resource over
// 1,000 periods with IDs of the agent's (a marker and a key per record).
//
//	go test -run '^$' -bench EmbeddedUsageSubmit -benchtime 50x ./chaincode/
func BenchmarkEmbeddedUsageSubmit(b *testing.B) {
	for _, ids := range []string{"derived", "chosen"} {
		for _, clients := range []int{1, 4} {
			b.Run(fmt.Sprintf("ids=%s/batch=1000/clients=%d", ids, clients), func(b *testing.B) {
				e := newEmbeddedEnvSync(b, true)
				e.initConsortium()
				e.market()
				if ids == "derived" {
					e.agentResources(500)
				} else {
					e.activeResource("r0")
				}
				start := e.now.Unix()
				e.advance(10 * time.Hour)
				batches := make([]string, b.N)
				for i := range batches {
					if ids == "derived" {
						batches[i] = agentTable(500, start+int64(i), start+int64(i)+1)
						continue
					}
					recs := make([]map[string]any, 1000)
					for j := range recs {
						recs[j] = map[string]any{"id": fmt.Sprintf("u%d-%d", i, j), "resource": "r0", "metric": "egress_gib",
							"quantity": 1, "start": start + int64(j), "end": start + int64(j) + 1}
					}
					batches[i] = js(recs)
				}
				var next atomic.Int64
				var wg sync.WaitGroup
				b.ResetTimer()
				t0 := time.Now()
				for c := 0; c < clients; c++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							i := int(next.Add(1)) - 1
							if i >= b.N {
								return
							}
							if _, err := e.led.Submit(e.id("org1.agent"), "UsageSubmit", batches[i]); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				b.ReportMetric(float64(b.N*1000)/time.Since(t0).Seconds(), "records/s")
			})
		}
	}
}

// BenchmarkEmbeddedUsageLedgerSize is usage ingestion as the ledger fills
// (issue 21): the rate of UsageSubmit batches of 1,000 records (4 clients,
// fsync on) with 0.1M and 1M records already on the ledger, and 10M with
// FEDMETER_BENCH_10M=1. Each kind of ID has one ledger, filled once and
// grown from size to size (the fill is not timed: 16 clients of 1,000-record
// batches, group-committed). A batch is what an agent or an importer sends
// for one period: cpu_seconds and egress_gib of 500 resources, periods
// advancing batch after batch. ids=derived leaves the IDs to the contract;
// ids=chosen carries IDs of the sender's, random-looking (as accounting
// records' UUIDs are), the worst order for an index of IDs.
//
// It reports the median of five rounds (records/s), the slowest and the
// fastest, and the CPU time per record. FEDMETER_BENCH_FILLLOG=1 logs the
// fill's rate; FEDMETER_BENCH_SIZES=0.1,1,3 measures at other sizes
// (millions of records, ascending).
//
//	go test -run '^$' -bench EmbeddedUsageLedgerSize -benchtime 50x -timeout 2h ./chaincode/
//	FEDMETER_BENCH_10M=1 go test -run '^$' -bench EmbeddedUsageLedgerSize -benchtime 50x -timeout 4h ./chaincode/
func BenchmarkEmbeddedUsageLedgerSize(b *testing.B) {
	sizes := []int{100_000, 1_000_000}
	if os.Getenv("FEDMETER_BENCH_10M") == "1" {
		sizes = append(sizes, 10_000_000)
	}
	if v := os.Getenv("FEDMETER_BENCH_SIZES"); v != "" {
		sizes = nil
		for _, f := range strings.Split(v, ",") {
			m, err := strconv.ParseFloat(f, 64)
			if err != nil || m <= 0 {
				b.Fatalf("FEDMETER_BENCH_SIZES=%s: want millions of records, comma-separated (0.1,1,3)", v)
			}
			sizes = append(sizes, int(m*1e6))
		}
	}
	for _, ids := range []string{"derived", "chosen"} {
		var f *usageFill
		for _, n := range sizes {
			b.Run(fmt.Sprintf("ids=%s/ledger=%gM", ids, float64(n)/1e6), func(sub *testing.B) {
				if f == nil {
					f = newUsageFill(b, ids == "chosen") // the ledger outlives the sub-benchmark
				}
				b := sub
				f.run(b, n, 16, false) // fill, untimed
				// b.N batches in usageRounds rounds: the median round's
				// rate, and the slowest and fastest; and the process's CPU
				// time per record (on a shared machine, steadier than the
				// rate).
				b.ResetTimer()
				var rates, cpus []float64
				for r := range usageRounds {
					n := b.N*(r+1)/usageRounds - b.N*r/usageRounds
					if n == 0 {
						continue
					}
					cpu0 := cpuTime()
					elapsed := f.run(b, f.records+n*1000, 4, true)
					rates = append(rates, float64(n*1000)/elapsed.Seconds())
					cpus = append(cpus, float64((cpuTime()-cpu0).Microseconds())/float64(n*1000))
				}
				slices.Sort(rates)
				slices.Sort(cpus)
				b.ReportMetric(rates[len(rates)/2], "records/s")
				b.ReportMetric(rates[0], "min-records/s")
				b.ReportMetric(rates[len(rates)-1], "max-records/s")
				b.ReportMetric(cpus[len(cpus)/2], "cpu-µs/record")
			})
		}
	}
}

// usageFill is a ledger being filled with usage batches, for
// BenchmarkEmbeddedUsageLedgerSize.
type usageFill struct {
	e       *env
	chosen  bool
	start   int64 // the first period's start
	batches int   // batches submitted so far
	records int   // records on the ledger
}

const fillResources = 500

// usageRounds is how many rounds BenchmarkEmbeddedUsageLedgerSize splits
// its measured batches into.
const usageRounds = 5

// fillPeriod is the length of a batch's period: five minutes, so that 10M
// records (10,000 batches) are about a month of a 500-resource site's
// usage, as an agent reports it.
const fillPeriod = 300

func newUsageFill(b *testing.B, chosen bool) *usageFill {
	e := newEmbeddedEnvSync(b, true)
	e.initConsortium()
	e.market()
	e.ok("org1.admin", "QuotaSet", org2, `{"max_days":365,"vcpu":1000000,"memory_gib":1000000,"system_disk_gib":10000000,"public_ips":1000000}`)
	for i := range fillResources {
		e.ok("org2.user", "ResourceRequest", fmt.Sprintf("res-%d", i), org1, "ecs", ecsSpec, "365", `{"zone":"bj-1"}`)
		e.ok("org1.agent", "ResourceActivate", fmt.Sprintf("res-%d", i))
	}
	f := &usageFill{e: e, chosen: chosen, start: e.now.Unix()}
	// 20,000 periods (20M records, 69 days) fit before now and before the
	// allocations expire.
	e.advance(20000 * fillPeriod * time.Second)
	return f
}

// batch is the i-th batch: every resource's cpu_seconds and egress_gib over
// the i-th period.
func (f *usageFill) batch(i int) string {
	start, end := f.start+int64(i)*fillPeriod, f.start+int64(i+1)*fillPeriod
	if !f.chosen {
		return agentTable(fillResources, start, end)
	}
	var sb strings.Builder
	sb.WriteByte('[')
	for r := range fillResources {
		for m, metric := range []string{"cpu_seconds", "egress_gib"} {
			if r > 0 || m > 0 {
				sb.WriteByte(',')
			}
			id := sha256.Sum256(fmt.Appendf(nil, "%d/%d/%d", i, r, m))
			fmt.Fprintf(&sb, `["res-%d","%s",%d,%d,%d,"rec-%s"]`, r, metric, int64(r)+start, start, end, hex.EncodeToString(id[:16]))
		}
	}
	sb.WriteByte(']')
	return sb.String()
}

// run submits batches from clients goroutines until the ledger holds
// target records, and returns the time they took. Timed, the batches are
// encoded before the timer runs.
func (f *usageFill) run(b *testing.B, target, clients int, timed bool) time.Duration {
	n := (target - f.records + 999) / 1000
	if n <= 0 {
		return 0
	}
	b.StopTimer()
	first := f.batches
	batch := f.batch
	if timed {
		pre := make([]string, n)
		for i := range pre {
			pre[i] = f.batch(first + i)
		}
		batch = func(i int) string { return pre[i-first] }
		b.StartTimer()
	}
	t0 := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if _, err := f.e.led.Submit(f.e.id("org1.agent"), "UsageSubmit", batch(first+i)); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(t0)
	if os.Getenv("FEDMETER_BENCH_FILLLOG") != "" {
		b.Logf("%d batches to %d records: %.0f records/s", n, target, float64(n*1000)/elapsed.Seconds())
	}
	if !timed {
		b.StartTimer()
	}
	f.batches += n
	f.records += n * 1000
	return elapsed
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
