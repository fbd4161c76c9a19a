package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/fedmeter/fedmeter/chaincode/model"
	"github.com/fedmeter/fedmeter/cli/client"
)

// usageBenchResources, usageBenchRequests and usageBenchRecords shape a
// round of BenchmarkUsageAPIvsClient: each path sends usageBenchRequests
// batches of usageBenchRecords records spread over usageBenchResources
// active resources.
const (
	usageBenchResources = 20
	usageBenchRequests  = 10
	usageBenchRecords   = 1000
)

// BenchmarkUsageAPIvsClient sends the same kind of usage batches (new
// records each time, derived IDs) to one embedded ledger, no fsync, two
// ways in each round: POST /api/v1/usage over loopback HTTP (JSON encoded
// by the caller, decoded and submitted by the server), and cli/client's
// SubmitUsage on an embedded backend of the same ledger (the one the
// server itself uses). Both submit 500 records a transaction, one batch
// at a time. The order alternates between rounds (b.N rounds); it reports
// each path's median records/s and the median and lowest of the rounds'
// API/client ratios (goal: API >= 0.8x the client):
//
//	go test -run '^$' -bench UsageAPIvsClient -benchtime 9x ./cli/internal/serve/
func BenchmarkUsageAPIvsClient(b *testing.B) {
	ctx := context.Background()
	e := loadEnv(b)
	cons, err := e.srv.clientFor(Token{As: "Org2/User1", MSPID: "Org2MSP"})
	if err != nil {
		b.Fatal(err)
	}
	agent, err := e.srv.clientFor(Token{As: "Org1/Agent1", MSPID: "Org1MSP"})
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]string, usageBenchResources)
	for i := range ids {
		ids[i] = fmt.Sprintf("ub-%d", i)
		if _, err := cons.RequestResource(ctx, client.ResourceRequest{ID: ids[i], Provider: "Org1MSP", Type: "ecs", Days: 30,
			Spec: map[string]int64{"vcpu": 2, "memory_gib": 4, "system_disk_gib": 40, "public_ips": 1}}); err != nil {
			b.Fatal(err)
		}
		if _, err := agent.ActivateResource(ctx, ids[i]); err != nil {
			b.Fatal(err)
		}
	}
	act := e.now.Load()
	e.now.Store(act + 29*24*3600) // every record below ends before now
	slot := int64(0)              // each record a minute of its own
	batch := func() []model.UsageRecord {
		recs := make([]model.UsageRecord, usageBenchRecords)
		for i := range recs {
			s := act + (slot+int64(i/usageBenchResources))*60
			recs[i] = model.UsageRecord{Resource: ids[i%usageBenchResources], Metric: "egress_gib", Quantity: 1, Start: s, End: s + 60}
		}
		slot += usageBenchRecords / usageBenchResources
		return recs
	}
	hc := &http.Client{Timeout: time.Minute}
	defer hc.CloseIdleConnections()
	viaAPI := func(recs []model.UsageRecord) error {
		body, err := json.Marshal(recs)
		if err != nil {
			return err
		}
		req, err := http.NewRequest("POST", e.ts.URL+"/api/v1/usage", bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+e.tokens["Org1/Agent1"])
		res, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		out, _ := io.ReadAll(res.Body)
		var rep client.UsageReport
		if res.StatusCode != 200 || json.Unmarshal(out, &rep) != nil || rep.Accepted != len(recs) {
			return fmt.Errorf("API: %d %s", res.StatusCode, out)
		}
		return nil
	}
	viaClient := func(recs []model.UsageRecord) error {
		rep, err := agent.SubmitUsage(ctx, recs, client.UsageOptions{})
		if err == nil && rep.Accepted != len(recs) {
			err = fmt.Errorf("client: %d of %d accepted", rep.Accepted, len(recs))
		}
		return err
	}
	paths := []struct {
		name string
		send func([]model.UsageRecord) error
		rate []float64
	}{{name: "api", send: viaAPI}, {name: "client", send: viaClient}}
	var ratios []float64
	b.ResetTimer()
	for r := 0; r < b.N; r++ {
		rate := [2]float64{}
		for k := 0; k < 2; k++ {
			p := (r + k) % 2 // alternate which path goes first
			batches := make([][]model.UsageRecord, usageBenchRequests)
			for i := range batches {
				batches[i] = batch()
			}
			t0 := time.Now()
			for _, recs := range batches {
				if err := paths[p].send(recs); err != nil {
					b.Fatal(err)
				}
			}
			rate[p] = float64(usageBenchRequests*usageBenchRecords) / time.Since(t0).Seconds()
			paths[p].rate = append(paths[p].rate, rate[p])
		}
		ratios = append(ratios, rate[0]/rate[1])
	}
	b.StopTimer()
	for _, p := range paths {
		b.ReportMetric(median(p.rate), p.name+"-rec/s")
	}
	b.ReportMetric(median(ratios), "api/client")
	sort.Float64s(ratios)
	b.ReportMetric(ratios[0], "api/client-min")
	b.ReportMetric(0, "ns/op")
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}
