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
