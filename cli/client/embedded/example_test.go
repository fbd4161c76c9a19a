package embedded_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/fedmeter/fedmeter/cli/client/embedded"
	"github.com/fedmeter/fedmeter/cli/client/verify"
)

// An app (here, Org1's metering agent and billing report) submits usage and
// reads bills through the client package, without shelling out. The same
// code runs against Fabric with the backend of client.Dial(ctx, "org1.yaml").
func Example() {
	ctx := context.Background()
	dir, cleanup := exampleLedger() // fedmeter init, prices, a quota, an active server, the ECS rule
	defer cleanup()
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

	// The metering agent submits aggregated usage; a rerun changes nothing.
	agent, err := embedded.Open(dir, embedded.Options{As: "Org1/Agent1", At: day.Add(20 * time.Hour)})
	if err != nil {
		log.Fatal(err)
	}
	records := []client.UsageRecord{
		{Resource: "ecs-1", Metric: "egress_gib", Quantity: 3, Start: day.Unix(), End: day.Add(10 * time.Hour).Unix()},
		{Resource: "ecs-1", Metric: "egress_gib", Quantity: 2, Start: day.Add(10 * time.Hour).Unix(), End: day.Add(20 * time.Hour).Unix()},
	}
	for i := 0; i < 2; i++ {
		rep, err := client.New(agent).SubmitUsage(ctx, records, client.UsageOptions{})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("usage: %d accepted, %d duplicates\n", rep.Accepted, rep.Duplicates)
	}
	agent.Close()

	// The consumer releases the server after 47.5 hours: the ledger bills it.
	org2, err := embedded.Open(dir, embedded.Options{As: "Org2/User1", At: day.Add(47*time.Hour + 30*time.Minute)})
	if err != nil {
		log.Fatal(err)
	}
	rel, err := client.New(org2).ReleaseResource(ctx, "ecs-1")
	org2.Close()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("bill %s: %s %s\n", rel.Bill.ID, client.FormatMoney(rel.Bill.Amount, rel.Bill.Scale), rel.Bill.Currency)

	// The provider lists its bills and checks one offline.
	org1, err := embedded.Open(dir, embedded.Options{As: "Org1/Admin"})
	if err != nil {
		log.Fatal(err)
	}
	defer org1.Close()
	c := client.New(org1)
	bills, err := c.Bills(ctx, client.BillFilter{Role: "provider"})
	if err != nil {
		log.Fatal(err)
	}
	for _, b := range bills {
		fmt.Printf("%s to %s: %s %s\n", b.ID, b.Consumer, client.FormatMoney(b.Amount, b.Scale), b.Currency)
	}
	v, err := verify.Bill(ctx, c, bills[0].ID, verify.Options{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("verified offline:", v.OK)
	// Output:
	// usage: 2 accepted, 0 duplicates
	// usage: 0 accepted, 2 duplicates
	// bill ecs-1:000001: 42.88 CNY
	// ecs-1:000001 to Org2MSP: 42.88 CNY
	// verified offline: true
}

// exampleLedger sets the scene of Example: a ledger with the seed's orgs,
// Org1's ECS prices and quota for Org2, Org2's server ecs-1 active since
// 2026-01-01, and the hourly ECS test rule approved and active.
func exampleLedger() (string, func()) {
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "fedmeter-example-")
	if err != nil {
		log.Fatal(err)
	}
	dir := filepath.Join(tmp, "ledger")
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := embedded.Init(ctx, dir, embedded.InitOptions{Clock: func() time.Time { return day }}); err != nil {
		log.Fatal(err)
	}
	e, err := embedded.Open(dir, embedded.Options{Clock: func() time.Time { return day }})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	as := func(who string) *client.Client {
		v, err := e.As(who)
		if err != nil {
			log.Fatal(err)
		}
		return client.New(v)
	}
	code, err := os.ReadFile(filepath.Join("..", "..", "..", "chaincode", "testdata", "ecs_hourly.wasm"))
	if err != nil {
		log.Fatal(err)
	}
	steps := []func() error{
		func() error {
			_, err := as("Org1/Admin").SetPrice(ctx, "ecs", client.Prices{Currency: "CNY", Scale: 2, UnitPrices: map[string]int64{
				"vcpu_hour": 12, "memory_gib_hour": 3, "disk_gib_hour": 1, "public_ip_hour": 5, "egress_gib": 80}}, "")
			return err
		},
		func() error {
			_, err := as("Org1/Admin").SetQuota(ctx, "Org2MSP", map[string]int64{"max_days": 365, "vcpu": 10, "memory_gib": 40, "system_disk_gib": 40, "public_ips": 2})
			return err
		},
		func() error {
			_, err := as("Org2/User1").RequestResource(ctx, client.ResourceRequest{ID: "ecs-1", Provider: "Org1MSP", Type: "ecs", Days: 30,
				Spec: map[string]int64{"vcpu": 2, "memory_gib": 4, "system_disk_gib": 40, "public_ips": 1}})
			return err
		},
		func() error { _, err := as("Org1/Agent1").ActivateResource(ctx, "ecs-1"); return err },
		func() error {
			_, err := as("Org1/Admin").UploadRule(ctx, client.RuleMeta{Name: "ecs", Version: "1.0.0", Types: []string{"ecs"}, Author: "example"}, code)
			return err
		},
		func() error { _, _, err := as("Org1/Admin").VoteRule(ctx, "ecs@1.0.0", "approve"); return err },
		func() error { _, _, err := as("Org2/Admin").VoteRule(ctx, "ecs@1.0.0", "approve"); return err },
		func() error { _, err := as("Org1/Admin").ActivateRule(ctx, "ecs", "ecs@1.0.0", ""); return err },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			log.Fatal(err)
		}
	}
	return dir, func() { os.RemoveAll(tmp) }
}

// EncodeUsageBatch is the UsageSubmit argument a metering agent's records
// travel as: the metrics of a resource over one period as one period row,
// IDs left for the contract to derive; a record with a chosen ID as a row
// of its own.
func ExampleEncodeUsageBatch() {
	const h = 1767225600 // 2026-01-01T00:00:00Z
	fmt.Println(client.EncodeUsageBatch([]client.UsageRecord{
		// Two resources, the same metrics over one period: a period table.
		{Resource: "ecs-1", Metric: "cpu_seconds", Quantity: 3600, Start: h, End: h + 3600},
		{Resource: "ecs-1", Metric: "egress_gib", Quantity: 2, Start: h, End: h + 3600},
		{Resource: "ecs-2", Metric: "cpu_seconds", Quantity: 1800, Start: h, End: h + 3600},
		{Resource: "ecs-2", Metric: "egress_gib", Quantity: 0, Start: h, End: h + 3600},
		// One resource's metrics over the next period: a period row.
		{Resource: "ecs-1", Metric: "cpu_seconds", Quantity: 3000, Start: h + 3600, End: h + 7200},
		{Resource: "ecs-1", Metric: "egress_gib", Quantity: 1, Start: h + 3600, End: h + 7200},
		// A record with an ID of the agent's choosing: a row.
		{ID: "agent-7", Resource: "ecs-2", Metric: "egress_gib", Quantity: 1, Start: h + 3600, End: h + 7200},
	}))
	// Output:
	// [{"start":1767225600,"end":1767229200,"metrics":["cpu_seconds","egress_gib"],"rows":[["ecs-1",3600,2],["ecs-2",1800,0]]},["ecs-1",1767229200,1767232800,{"cpu_seconds":3000,"egress_gib":1}],["ecs-2","egress_gib",1,1767229200,1767232800,"agent-7"]]
}
