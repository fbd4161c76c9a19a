package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/fedmeter/fedmeter/chaincode/model"
	"github.com/fedmeter/fedmeter/cli/client"
)

// An app reaches Fabric with a connection profile: client.Dial reads it and
// connects to the peer's gateway (gRPC connects lazily, so an unreachable
// peer shows on the first transaction). Every failure is a *client.Error
// with a Kind to act on; here the profile is missing.
func ExampleDial() {
	ctx := context.Background()
	b, err := client.Dial(ctx, filepath.Join(os.TempDir(), "no-such-dir", "org1.yaml"))
	if err != nil {
		var e *client.Error
		if errors.As(err, &e) {
			fmt.Println("kind:", e.Kind, "exit:", e.ExitCode())
			fmt.Println("hint:", e.Hint)
		}
		return
	}
	defer b.Close()
	c := client.New(b)
	bills, _ := c.Bills(ctx, client.BillFilter{Role: "provider"})
	fmt.Println(len(bills))
	// Output:
	// kind: not_found exit: 2
	// hint: a connection profile is a YAML file; cli/README.md shows one
}

// answers is a Backend that answers from a table, as a test double for an
// app: Client works over any Backend. A refusal is in the contract's wire
// form, which client.RefusalError turns into a *client.Error.
type answers map[string]string

func (a answers) Submit(ctx context.Context, fn string, args ...string) ([]byte, error) {
	return a.Evaluate(ctx, fn, args...)
}

func (a answers) Evaluate(_ context.Context, fn string, _ ...string) ([]byte, error) {
	if out, ok := a[fn]; ok {
		return []byte(out), nil
	}
	return nil, client.RefusalError(fn, model.Refuse(model.CodeNotMember, "Org9MSP is not a member of the consortium").Error(), "tx1", nil)
}

func (answers) MSPID() string { return "Org1MSP" }
func (answers) Close() error  { return nil }

// The Client's typed helpers decode the contract's results into the model's
// types (aliased in package client) and follow list pages to the end; a
// contract refusal carries the contract's code, which tells refusals of
// one Kind apart without reading their wording.
func ExampleClient() {
	ctx := context.Background()
	page, _ := json.Marshal(model.Page[client.Bill]{Items: []client.Bill{
		{ID: "ecs-1:000001", Amount: 4904, Scale: 2, Currency: "CNY", Period: client.Period{Start: 1767225600, End: 1767396600}},
	}, Count: 1})
	c := client.New(answers{"BillListByProvider": string(page)})

	bills, err := c.Bills(ctx, client.BillFilter{Role: "provider"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, b := range bills {
		fmt.Println(b.ID, client.FormatMoney(b.Amount, b.Scale), b.Currency, time.Unix(b.Period.End, 0).UTC().Format("2006-01-02 15:04"))
	}

	_, err = c.Consortium(ctx)
	var e *client.Error
	if errors.As(err, &e) {
		fmt.Printf("%s refused: %s (kind %s, code %s)\n", e.Op, e.Msg, e.Kind, e.Code)
	}
	// Output:
	// ecs-1:000001 49.04 CNY 2026-01-02 23:30
	// ConsortiumGet refused: Org9MSP is not a member of the consortium (kind denied, code not_member)
}

// BillsSeq reads an org's bills a page at a time as the loop asks for
// them: a report over 100,000 bills holds one page, and a loop that stops
// early reads no further. Without a role, the bills the org issued and
// those it received arrive merged by period end.
func ExampleClient_BillsSeq() {
	ctx := context.Background()
	issued, _ := json.Marshal(model.Page[client.Bill]{Items: []client.Bill{
		{ID: "ecs-1:000001", Provider: "Org1MSP", Consumer: "Org2MSP", Amount: 4904, Scale: 2, Currency: "CNY", Period: client.Period{Start: 1767225600, End: 1767396600}},
	}, Count: 1})
	received, _ := json.Marshal(model.Page[client.Bill]{Items: []client.Bill{
		{ID: "gpu-7:000001", Provider: "Org3MSP", Consumer: "Org1MSP", Amount: 120000, Scale: 2, Currency: "CNY", Period: client.Period{Start: 1767225600, End: 1767312000}},
	}, Count: 1})
	c := client.New(answers{"BillListByProvider": string(issued), "BillListByConsumer": string(received)})

	for b, err := range c.BillsSeq(ctx, client.BillFilter{}) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(b.ID, b.Provider, "->", b.Consumer, client.FormatMoney(b.Amount, b.Scale), b.Currency)
	}
	// Output:
	// gpu-7:000001 Org3MSP -> Org1MSP 1200.00 CNY
	// ecs-1:000001 Org1MSP -> Org2MSP 49.04 CNY
}
