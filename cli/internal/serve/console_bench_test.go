package serve

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fedmeter/fedmeter/chaincode/model"
	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/fedmeter/fedmeter/cli/client/embedded"
)

// The console benchmark's ledger: bills of Org1 to Org2 whose periods end
// across the year before the ledger's clock, each resource with the same
// number of usage records. FEDMETER_BENCH_BIG=1 makes it the issue's
// 100,000 bills and 1,000,000 records (minutes to build); the default is
// small so that `go test -bench .` stays quick. FEDMETER_BENCH_LEDGER=DIR
// keeps the ledger in DIR and reuses it on the next run (delete DIR after
// changing the size).
func benchLedgerSize() (bills, recordsPerBill int) {
	if os.Getenv("FEDMETER_BENCH_BIG") != "" {
		return 100_000, 10
	}
	return 2_000, 10
}

// benchChunks is how many points in time the ledger's bills are issued
// at: each chunk's resources are requested, activated, used for an hour
// and released together.
const benchChunks = 50

// benchYear is the span the bills' period ends cover, ending at the
// ledger's final clock (benchLedgerEnd).
const benchYear = int64(365 * 24 * 3600)

func benchLedgerEnd() time.Time { return day.Add(time.Duration(benchYear) * time.Second) }

// benchLedger returns the folder of a ledger built as described above
// (built once per run, or reused from FEDMETER_BENCH_LEDGER).
func benchLedger(b *testing.B) string {
	b.Helper()
	bills, per := benchLedgerSize()
	dir := os.Getenv("FEDMETER_BENCH_LEDGER")
	if dir == "" {
		dir = filepath.Join(b.TempDir(), "ledger")
	} else if _, err := os.Stat(filepath.Join(dir, "bench-built")); err == nil {
		return dir
	}
	t0 := time.Now()
	if err := buildBenchLedger(dir, bills, per); err != nil {
		b.Fatal(err)
	}
	b.Logf("built a ledger of %d bills and %d usage records in %v", bills, bills*per, time.Since(t0).Round(time.Second))
	if err := os.WriteFile(filepath.Join(dir, "bench-built"), []byte(fmt.Sprintf("%d %d\n", bills, per)), 0o644); err != nil {
		b.Fatal(err)
	}
	return dir
}

// buildBenchLedger builds the ledger with the real contract and rule, in
// bulk: resources requested a hundred a transaction, usage in batches of
// model.MaxUsageBatch records with derived IDs, activations and releases
// from parallel clients (the embedded ledger commits queued transactions
// together), no fsync.
func buildBenchLedger(dir string, bills, per int) error {
	ctx := context.Background()
	var now atomic.Int64
	now.Store(day.Unix())
	clock := func() time.Time { return time.Unix(now.Load(), 0).UTC() }
	if _, err := embedded.Init(ctx, dir, embedded.InitOptions{Clock: clock, NoSync: true}); err != nil {
		return err
	}
	led, err := embedded.Open(dir, embedded.Options{Clock: clock, NoSync: true})
	if err != nil {
		return err
	}
	defer led.Close()
	as := func(who string) (*client.Client, error) {
		v, err := led.As(who)
		if err != nil {
			return nil, err
		}
		return client.New(v), nil
	}
	var org1, agent, org2, org2admin *client.Client
	for _, p := range []struct {
		c   **client.Client
		who string
	}{{&org1, "Org1/Admin"}, {&agent, "Org1/Agent1"}, {&org2, "Org2/User1"}, {&org2admin, "Org2/Admin"}} {
		if *p.c, err = as(p.who); err != nil {
			return err
		}
	}
	code, err := os.ReadFile(filepath.Join("..", "..", "..", "chaincode", "testdata", "ecs_hourly.wasm"))
	if err != nil {
		return err
	}
	steps := []func() error{
		func() error {
			_, err := org1.SetPrice(ctx, "ecs", client.Prices{Currency: "CNY", Scale: 2, UnitPrices: map[string]int64{
				"vcpu_hour": 12, "memory_gib_hour": 3, "disk_gib_hour": 1, "public_ip_hour": 5, "egress_gib": 80}}, "")
			return err
		},
		func() error {
			_, err := org1.SetQuota(ctx, "Org2MSP", map[string]int64{"max_days": 365, "vcpu": 1 << 40, "memory_gib": 1 << 40, "system_disk_gib": 1 << 40, "public_ips": 1 << 40})
			return err
		},
		func() error {
			_, err := org1.UploadRule(ctx, client.RuleMeta{Name: "ecs", Version: "1.0.0", Types: []string{"ecs"}, Author: "bench"}, code)
			return err
		},
		func() error { _, _, err := org1.VoteRule(ctx, "ecs@1.0.0", "approve"); return err },
		func() error { _, _, err := org2admin.VoteRule(ctx, "ecs@1.0.0", "approve"); return err },
		func() error { _, err := org1.ActivateRule(ctx, "ecs", "ecs@1.0.0", ""); return err },
	}
	for i, s := range steps {
		if err := s(); err != nil {
			return fmt.Errorf("setup step %d: %w", i, err)
		}
	}
	chunk := (bills + benchChunks - 1) / benchChunks
	step := benchYear / benchChunks
	for c, first := 0, 0; first < bills; c, first = c+1, first+chunk {
		n := min(chunk, bills-first)
		ids := make([]string, n)
		for i := range ids {
			ids[i] = "ecs-" + strconv.Itoa(first+i)
		}
		t := day.Unix() + int64(c)*step
		now.Store(t)
		req := client.ResourceRequest{Provider: "Org1MSP", Type: "ecs", Days: 30,
			Spec: map[string]int64{"vcpu": 2, "memory_gib": 4, "system_disk_gib": 40, "public_ips": 1}}
		if err := parallel(n/client.MaxRequestBatch+1, func(i int) error {
			lo, hi := i*client.MaxRequestBatch, min((i+1)*client.MaxRequestBatch, n)
			if lo >= hi {
				return nil
			}
			_, err := org2.RequestResources(ctx, req, ids[lo:hi])
			return err
		}); err != nil {
			return fmt.Errorf("request: %w", err)
		}
		if err := parallel(n, func(i int) error { _, err := agent.ActivateResource(ctx, ids[i]); return err }); err != nil {
			return fmt.Errorf("activate: %w", err)
		}
		now.Store(t + 3600)
		recs := make([]model.UsageRecord, 0, n*per)
		for _, id := range ids {
			for k := 0; k < per; k++ {
				d := int64(3600 / per)
				recs = append(recs, model.UsageRecord{Resource: id, Metric: "egress_gib", Quantity: 1, Start: t + int64(k)*d, End: t + int64(k+1)*d})
			}
		}
		batches := (len(recs) + model.MaxUsageBatch - 1) / model.MaxUsageBatch
		if err := parallel(batches, func(i int) error {
			lo, hi := i*model.MaxUsageBatch, min((i+1)*model.MaxUsageBatch, len(recs))
			rep, err := agent.SubmitUsage(ctx, recs[lo:hi], client.UsageOptions{BatchSize: model.MaxUsageBatch})
			if err == nil && rep.Accepted != hi-lo {
				err = fmt.Errorf("%d of %d records accepted", rep.Accepted, hi-lo)
			}
			return err
		}); err != nil {
			return fmt.Errorf("usage: %w", err)
		}
		if err := parallel(n, func(i int) error {
			r, err := org2.ReleaseResource(ctx, ids[i])
			if err == nil && r.Bill == nil {
				err = fmt.Errorf("release of %s issued no bill", ids[i])
			}
			return err
		}); err != nil {
			return fmt.Errorf("release: %w", err)
		}
	}
	now.Store(benchLedgerEnd().Unix())
	return nil
}

// parallel runs f(0..n-1) on 16 goroutines and returns the first error.
func parallel(n int, f func(i int) error) error {
	var next atomic.Int64
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// BenchmarkConsolePages reads each console page, and the API's bill list,
// on the benchmark's ledger (see benchLedgerSize), as Org1's admin (the
// provider: receivable) and, for the overview and the bills, as Org2's
// user (the consumer: payable), and reports each one's p50 and p99 (goal:
// p99 <= 100 ms at 100,000 bills):
//
//	go test -run '^$' -bench ConsolePages -benchtime 50x ./cli/internal/serve/
//	FEDMETER_BENCH_BIG=1 FEDMETER_BENCH_LEDGER=/some/dir go test -run '^$' -bench ConsolePages -benchtime 50x -timeout 2h ./cli/internal/serve/
func BenchmarkConsolePages(b *testing.B) {
	ctx := context.Background()
	dir := benchLedger(b)
	end := benchLedgerEnd()
	srv, err := New(ctx, Options{Dir: dir, Clock: func() time.Time { return end }, NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	tokens := map[string]string{}
	for _, who := range []string{"Org1/Admin", "Org2/User1"} {
		tok, _, err := CreateToken(srv.TokenFile(), who, who[:4]+"MSP", "bench")
		if err != nil {
			b.Fatal(err)
		}
		tokens[who] = tok
	}
	for _, c := range []struct{ who, page string }{
		{"Org1/Admin", "/"},
		{"Org1/Admin", "/bills"},
		{"Org1/Admin", "/bills/ecs-0:000001"},
		{"Org1/Admin", "/usage"},
		{"Org1/Admin", "/usage?resource=ecs-0"},
		{"Org1/Admin", "/quotas"},
		{"Org1/Admin", "/prices"},
		{"Org1/Admin", "/rules"},
		{"Org1/Admin", "/rules/ecs@1.0.0"},
		{"Org1/Admin", "/ledger"},
		{"Org1/Admin", "/api/v1/bills"},
		{"Org1/Admin", "/api/v1/bills?page_size=100"},
		{"Org2/User1", "/"},
		{"Org2/User1", "/bills"},
		{"Org2/User1", "/api/v1/bills"},
	} {
		b.Run(c.who+c.page, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			for i := 0; i < b.N; i++ {
				req := httptest.NewRequest("GET", c.page, nil)
				req.AddCookie(&http.Cookie{Name: sessionCookie, Value: tokens[c.who]})
				req.Header.Set("Authorization", "Bearer "+tokens[c.who])
				w := httptest.NewRecorder()
				t0 := time.Now()
				srv.ServeHTTP(w, req)
				lat = append(lat, time.Since(t0))
				if w.Code != 200 {
					b.Fatalf("%s: %d\n%s", c.page, w.Code, w.Body.String())
				}
			}
			reportLatency(b, lat)
		})
	}
}

// reportLatency reports the p50 and p99 of lat in milliseconds.
func reportLatency(b *testing.B, lat []time.Duration) {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	q := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
}
