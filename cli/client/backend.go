// Package client is what an app imports to submit usage and read bills on
// a fedmeter ledger without shelling out: one Backend interface that runs
// the fedmeter contract's transactions, its Fabric implementation (Gateway:
// a peer's gateway service reached through fabric-gateway, with a YAML
// connection profile), and Client, typed helpers on top of any Backend.
//
//	b, err := client.Dial(ctx, "org1.yaml") // LoadProfile + DialGateway
//	if err != nil { ... }
//	defer b.Close()
//	c := client.New(b)
//	rep, err := c.SubmitUsage(ctx, records, client.UsageOptions{})
//	bills, err := c.Bills(ctx, client.BillFilter{Role: "provider"})
//
// The package needs fabric-gateway, its protos and gRPC, and the contract's
// model (chaincode/model); it links neither the contract nor the rule
// engine. Other backends are packages of their own that return a Backend:
// cli/client/embedded (the single-machine ledger, which runs the contract
// in-process), and the offline bill verifier is cli/client/verify.
//
// Every error is an *Error: one sentence naming the field at fault, a Kind
// (the fedmeter command's exit code), for contract refusals the contract's
// Code, and, where one helps, a hint. The contract's transactions and their
// arguments are documented in chaincode/README.md.
package client

import (
	"context"
)

// Backend runs the fedmeter contract's transactions as one identity.
// Arguments and results are the contract's: strings in, a JSON document out.
//
// A Backend of another package reports the contract's refusals with
// Refusal, so that they carry the contract's code and Kind.
type Backend interface {
	// Submit runs a transaction that writes, and returns once it is
	// committed.
	Submit(ctx context.Context, fn string, args ...string) ([]byte, error)
	// Evaluate runs a query: nothing is written.
	Evaluate(ctx context.Context, fn string, args ...string) ([]byte, error)
	// MSPID is the MSP ID of the identity the backend acts as.
	MSPID() string
	// Close releases the ledger or the connection.
	Close() error
}

// Dial loads the connection profile in file (see Profile) and connects to
// its peer's gateway: LoadProfile, then DialGateway.
func Dial(ctx context.Context, file string) (*Gateway, error) {
	p, err := LoadProfile(file)
	if err != nil {
		return nil, err
	}
	return DialGateway(ctx, p)
}
