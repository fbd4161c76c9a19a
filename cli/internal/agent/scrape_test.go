package agent

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/fedmeter/fedmeter/chaincode/model"
	"github.com/fedmeter/fedmeter/cli/client"
)

// TestScrape: the agent scrapes an OpenMetrics endpoint whose samples
// carry their own times (one minute apart per scrape), integrates the
// memory gauge, and submits each closed minute: 2 GiB held a minute is 120
// GiB-seconds.
func TestScrape(t *testing.T) {
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		n++
		ts := 1767229200 + int64(n-1)*60
		mu.Unlock()
		w.Header().Set("Content-Type", "application/openmetrics-text; version=1.0.0; charset=utf-8")
		fmt.Fprintf(w, "# TYPE mem_bytes gauge\nmem_bytes{instance=\"ecs-1\"} 2147483648 %d\nmem_bytes{instance=\"\"} 5 %d\nother 1 %d\n# EOF\n", ts, ts, ts)
	}))
	defer srv.Close()
	cfg, err := ParseConfig([]byte(`period: 1m
labels: {resource: instance}
metrics:
  - {sample: mem_bytes, metric: memory_gib_seconds, aggregate: integral, divide: 1073741824, max_gap: 2m}
`))
	if err != nil {
		t.Fatal(err)
	}
	led := &fakeLedger{recs: map[string]model.UsageRecord{}}
	m := &Metrics{}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // hang guard
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Config: cfg, StateDir: t.TempDir(), Scrape: []string{srv.URL}, ScrapeInterval: time.Millisecond,
			Open: func(context.Context) (client.Backend, error) { return led, nil }, Poll: time.Millisecond, Metrics: m, RetryMin: time.Millisecond})
	}()
	for {
		led.mu.Lock()
		got := len(led.recs)
		led.mu.Unlock()
		if got >= 3 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("Run returned: %v", err)
		case <-ctx.Done():
			t.Fatal("no records")
		case <-time.After(5 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, r := range led.recs {
		if r.Resource != "ecs-1" || r.Metric != "memory_gib_seconds" || r.Quantity != 120 || r.End-r.Start != 60 {
			t.Errorf("record %+v, want ecs-1 memory_gib_seconds 120 over a minute", r)
		}
	}
	if m.SamplesInvalid.Load() == 0 || m.SamplesIgnored.Load() == 0 {
		t.Errorf("the sample without a resource and the unnamed series were not counted: invalid %d, ignored %d", m.SamplesInvalid.Load(), m.SamplesIgnored.Load())
	}
}
