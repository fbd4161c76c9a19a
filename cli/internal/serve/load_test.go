package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fedmeter/fedmeter/chaincode/model"
	"github.com/fedmeter/fedmeter/cli/client"
)

// The load test: 64 clients over loopback against a server on the
// embedded ledger, each going round a cycle of 6 requests: request a
// resource (the consumer), activate it (the provider's agent), submit a
// batch of 20 usage records (the agent), list the consumer's bills,
// release the resource (a bill), read that bill. BenchmarkServeLoad runs
// b.N cycles; TestServeLoad runs for $FEDMETER_LOAD (e.g. 60s) and then
// checks every acknowledged record and bill on the ledger and the
// ledger's integrity. docs/benchmarks.md has numbers.

const (
	loadClients = 64
	loadRecords = 20 // usage records per batch
)

type loadStats struct {
	mu         sync.Mutex
	latencies  []time.Duration
	requests   int
	serverErrs int      // 5xx
	unexpected []string // any other status than the one expected
	cycles     int
	bills      map[string]string // bill ID -> resource ID
	resources  []string          // released, with loadRecords records each
}

func (st *loadStats) add(lat []time.Duration, bills map[string]string, res []string, bad []string, s5 int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.latencies = append(st.latencies, lat...)
	st.requests += len(lat)
	st.serverErrs += s5
	st.unexpected = append(st.unexpected, bad...)
	for k, v := range bills {
		st.bills[k] = v
	}
	st.resources = append(st.resources, res...)
	st.cycles += len(res)
}

func (st *loadStats) percentile(p float64) time.Duration {
	if len(st.latencies) == 0 {
		return 0
	}
	sort.Slice(st.latencies, func(i, j int) bool { return st.latencies[i] < st.latencies[j] })
	i := int(p * float64(len(st.latencies)-1))
	return st.latencies[i]
}

// loadEnv is a server with a quota large enough for every client's
// resources at once.
func loadEnv(tb testing.TB) *env {
	e := newEnvWith(tb, nil)
	c, err := e.srv.clientFor(Token{As: "Org1/Admin", MSPID: "Org1MSP"})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := c.SetQuota(context.Background(), "Org2MSP", map[string]int64{"max_days": 365, "vcpu": 1 << 20, "memory_gib": 1 << 20, "system_disk_gib": 1 << 30, "public_ips": 1 << 20}); err != nil {
		tb.Fatal(err)
	}
	return e
}

// runLoad runs the clients until more returns false (called before each
// cycle, with the cycle's number).
func runLoad(tb testing.TB, e *env, more func(n int64) bool) (*loadStats, time.Duration) {
	hc := &http.Client{Transport: &http.Transport{MaxIdleConns: 2 * loadClients, MaxIdleConnsPerHost: 2 * loadClients}, Timeout: time.Minute}
	defer hc.CloseIdleConnections()
	st := &loadStats{bills: map[string]string{}}
	var counter atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for cl := 0; cl < loadClients; cl++ {
		wg.Add(1)
		go func(cl int) {
			defer wg.Done()
			var lat []time.Duration
			var bad []string
			s5 := 0
			bills := map[string]string{}
			var released []string
			do := func(who, method, path, ctype string, body []byte, wantStatus int, out any) bool {
				req, _ := http.NewRequest(method, e.ts.URL+path, bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+e.tokens[who])
				if ctype != "" {
					req.Header.Set("Content-Type", ctype)
				}
				t0 := time.Now()
				res, err := hc.Do(req)
				if err != nil {
					bad = append(bad, fmt.Sprintf("%s %s: %v", method, path, err))
					return false
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				lat = append(lat, time.Since(t0))
				if res.StatusCode >= 500 {
					s5++
				}
				if res.StatusCode != wantStatus {
					bad = append(bad, fmt.Sprintf("%s %s: %d %s", method, path, res.StatusCode, firstLine(string(b))))
					return false
				}
				if out != nil {
					if err := json.Unmarshal(b, out); err != nil {
						bad = append(bad, fmt.Sprintf("%s %s: %v", method, path, err))
						return false
					}
				}
				return true
			}
			for {
				n := counter.Add(1)
				if !more(n) {
					break
				}
				id := fmt.Sprintf("ld-%d-%d", cl, n)
				rb, _ := json.Marshal(ecsRequest(id))
				if !do("Org2/User1", "POST", "/api/v1/resources", "application/json", rb, 201, nil) {
					break
				}
				var res model.Resource
				if !do("Org1/Agent1", "POST", "/api/v1/resources/"+id+"/activate", "", nil, 200, &res) || res.Activated == nil {
					break
				}
				act := res.Activated.Time
				e.now.Add(3600) // an hour of use, for this client and any other
				var recs []string
				for i := 0; i < loadRecords; i++ {
					recs = append(recs, fmt.Sprintf(`{"resource":%q,"metric":"egress_gib","quantity":1,"start":%d,"end":%d}`, id, act+int64(i)*60, act+int64(i+1)*60))
				}
				var rep client.UsageReport
				if !do("Org1/Agent1", "POST", "/api/v1/usage", "application/json", []byte("["+strings.Join(recs, ",")+"]"), 200, &rep) {
					break
				}
				if rep.Accepted != loadRecords {
					bad = append(bad, fmt.Sprintf("usage of %s: %d accepted, want %d", id, rep.Accepted, loadRecords))
					break
				}
				if !do("Org2/User1", "GET", "/api/v1/bills?role=consumer&page_size=20", "", nil, 200, nil) {
					break
				}
				var rel client.Release
				if !do("Org2/User1", "POST", "/api/v1/resources/"+id+"/release", "", nil, 200, &rel) || rel.Bill == nil {
					bad = append(bad, "release of "+id+" made no bill")
					break
				}
				if !do("Org2/User1", "GET", "/api/v1/bills/"+rel.Bill.ID, "", nil, 200, nil) {
					break
				}
				bills[rel.Bill.ID] = id
				released = append(released, id)
			}
			st.add(lat, bills, released, bad, s5)
		}(cl)
	}
	wg.Wait()
	return st, time.Since(start)
}

func report(tb testing.TB, st *loadStats, d time.Duration) (rps float64, p50, p99 time.Duration) {
	rps = float64(st.requests) / d.Seconds()
	p50, p99 = st.percentile(0.50), st.percentile(0.99)
	tb.Logf("%d clients, %d cycles, %d requests in %v: %.0f requests/s, p50 %v, p99 %v, %d 5xx, %d unexpected",
		loadClients, st.cycles, st.requests, d.Round(time.Millisecond), rps, p50.Round(10*time.Microsecond), p99.Round(10*time.Microsecond), st.serverErrs, len(st.unexpected))
	return
}

func BenchmarkServeLoad(b *testing.B) {
	e := loadEnv(b)
	b.ResetTimer()
	st, d := runLoad(b, e, func(n int64) bool { return n <= int64(b.N) })
	b.StopTimer()
	rps, p50, p99 := report(b, st, d)
	if st.serverErrs > 0 || len(st.unexpected) > 0 {
		b.Fatalf("%d 5xx, unexpected: %q", st.serverErrs, st.unexpected[:min(5, len(st.unexpected))])
	}
	b.ReportMetric(rps, "req/s")
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(0, "ns/op")
}

// TestServeLoad is the load test for a while ($FEDMETER_LOAD, e.g. 60s):
// no 5xx, no unexpected answer, every acknowledged record and bill on the
// ledger afterwards, and the ledger verifies.
func TestServeLoad(t *testing.T) {
	v := os.Getenv("FEDMETER_LOAD")
	if v == "" {
		t.Skip("set FEDMETER_LOAD=60s to run the load test for that long")
	}
	dur, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("FEDMETER_LOAD=%q: %v", v, err)
	}
	e := loadEnv(t)
	end := time.Now().Add(dur)
	st, d := runLoad(t, e, func(int64) bool { return time.Now().Before(end) })
	report(t, st, d)
	if st.serverErrs > 0 || len(st.unexpected) > 0 {
		t.Fatalf("%d 5xx, %d unexpected answers: %q", st.serverErrs, len(st.unexpected), st.unexpected[:min(5, len(st.unexpected))])
	}
	c, err := e.srv.clientFor(Token{As: "Org2/User1", MSPID: "Org2MSP"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for id, res := range st.bills {
		b, err := c.Bill(ctx, id)
		if err != nil || b.Resource != res {
			t.Fatalf("acknowledged bill %s: %v %+v", id, err, b)
		}
	}
	for _, res := range st.resources {
		r := e.get("Org2/User1", "/api/v1/resources/"+res+"/usage?page_size=100")
		var p Page[client.UsageRecord]
		r.json(t, &p)
		if len(p.Items) != loadRecords {
			t.Fatalf("resource %s: %d usage records on the ledger, %d acknowledged", res, len(p.Items), loadRecords)
		}
	}
	if err := e.srv.emb.Ledger().Verify(); err != nil {
		t.Fatalf("ledger verify: %v", err)
	}
}
