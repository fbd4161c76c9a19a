// Command gwonly is the smallest app of the fedmeter client: it submits a
// usage record and lists the provider's bills over Fabric, through package
// client alone. It is here to be measured, not run: `go list -deps` of it
// is what an app that uses only the gateway backend links (cli/README.md,
// "The client package, for apps"), and docs/architecture.md's table holds
// it, with cli/client, to no contract, rule engine or bbolt.
//
//	go run ./cli/client/internal/gwonly org1-agent.yaml
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/fedmeter/fedmeter/cli/client"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gwonly PROFILE")
		os.Exit(2)
	}
	ctx := context.Background()
	b, err := client.Dial(ctx, os.Args[1])
	if err != nil {
		fail(err)
	}
	defer b.Close()
	c := client.New(b)
	end := time.Now().Truncate(time.Hour)
	rep, err := c.SubmitUsage(ctx, []client.UsageRecord{
		{Resource: "ecs-1", Metric: "egress_gib", Quantity: 1, Start: end.Add(-time.Hour).Unix(), End: end.Unix()},
	}, client.UsageOptions{})
	if err != nil {
		fail(err)
	}
	fmt.Printf("%d accepted, %d duplicates\n", rep.Accepted, rep.Duplicates)
	bills, err := c.Bills(ctx, client.BillFilter{Role: "provider"})
	if err != nil {
		fail(err)
	}
	for _, bl := range bills {
		fmt.Println(bl.ID, client.FormatMoney(bl.Amount, bl.Scale), bl.Currency)
	}
}

func fail(err error) {
	var e *client.Error
	if errors.As(err, &e) && e.Hint != "" {
		fmt.Fprintf(os.Stderr, "%v (%s)\nhint: %s\n", err, e.Kind, e.Hint)
	} else {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(int(client.KindOf(err)))
}
