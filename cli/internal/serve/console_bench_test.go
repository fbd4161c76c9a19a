package serve

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/fedmeter/fedmeter/cli/client/embedded"
)

// consoleBenchBills is how many bills the console benchmark's ledger holds
// (building it takes three transactions a bill, so the benchmark stays
// small; raise it here to measure a bigger ledger).
const consoleBenchBills = 600

// BenchmarkConsolePages renders each console page as Org1's admin on a
// ledger of consoleBenchBills bills of Org1 to Org2 spread over a year:
//
//	go test -run '^$' -bench ConsolePages -benchtime 20x ./cli/internal/serve/
func BenchmarkConsolePages(b *testing.B) {
	ctx := context.Background()
	dir := filepath.Join(b.TempDir(), "ledger")
	var now atomic.Int64
	now.Store(day.Unix())
	clock := func() time.Time { return time.Unix(now.Load(), 0).UTC() }
	if _, err := embedded.Init(ctx, dir, embedded.InitOptions{Clock: clock, NoSync: true}); err != nil {
		b.Fatal(err)
	}
	led, err := embedded.Open(dir, embedded.Options{Clock: clock, NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	as := func(who string) *client.Client {
		v, err := led.As(who)
		if err != nil {
			b.Fatal(err)
		}
		return client.New(v)
	}
	org1, agent, org2, org2admin := as("Org1/Admin"), as("Org1/Agent1"), as("Org2/User1"), as("Org2/Admin")
	code := ecsModule(b)
	steps := []func() error{
		func() error {
			_, err := org1.SetPrice(ctx, "ecs", client.Prices{Currency: "CNY", Scale: 2, UnitPrices: map[string]int64{
				"vcpu_hour": 12, "memory_gib_hour": 3, "disk_gib_hour": 1, "public_ip_hour": 5, "egress_gib": 80}}, "")
			return err
		},
		func() error {
			_, err := org1.SetQuota(ctx, "Org2MSP", map[string]int64{"max_days": 365, "vcpu": 100000, "memory_gib": 100000, "system_disk_gib": 10000000, "public_ips": 100000})
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
			b.Fatalf("setup step %d: %v", i, err)
		}
	}
	step := int64(365*24*3600) / consoleBenchBills
	for i := 0; i < consoleBenchBills; i++ {
		id := "ecs-" + strconv.Itoa(i)
		now.Store(day.Unix() + int64(i)*step)
		if _, err := org2.RequestResource(ctx, client.ResourceRequest{ID: id, Provider: "Org1MSP", Type: "ecs", Days: 30,
			Spec: map[string]int64{"vcpu": 2, "memory_gib": 4, "system_disk_gib": 40, "public_ips": 1}}); err != nil {
			b.Fatal(err)
		}
		if _, err := agent.ActivateResource(ctx, id); err != nil {
			b.Fatal(err)
		}
		now.Store(day.Unix() + int64(i)*step + step/2)
		if _, err := org2.ReleaseResource(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
	led.Close()
	srv, err := New(ctx, Options{Dir: dir, Clock: clock, NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	tok, _, err := CreateToken(srv.TokenFile(), "Org1/Admin", "Org1MSP", "bench")
	if err != nil {
		b.Fatal(err)
	}
	for _, page := range []string{"/", "/bills", "/bills/ecs-0:000001", "/usage?resource=ecs-0", "/quotas", "/prices", "/rules", "/rules/ecs@1.0.0", "/ledger"} {
		b.Run(page, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				req := httptest.NewRequest("GET", page, nil)
				req.AddCookie(&http.Cookie{Name: sessionCookie, Value: tok})
				w := httptest.NewRecorder()
				srv.ServeHTTP(w, req)
				if w.Code != 200 {
					b.Fatalf("%s: %d\n%s", page, w.Code, w.Body.String())
				}
			}
		})
	}
}
