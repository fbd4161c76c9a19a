// Package client is the layer under the fedmeter command, for apps that
// submit usage and read bills without shelling out: one Backend interface
// that runs the fedmeter contract's transactions, two implementations of it
// (Embedded, the local single-machine ledger, and Gateway, a Fabric network
// reached through fabric-gateway with a YAML connection profile), and Client,
// typed helpers on top of any Backend.
//
//	b, err := client.Open(ctx, client.Options{Profile: "org1.yaml"}) // or {Data: ".fedmeter", As: "Org1/Agent1"}
//	if err != nil { ... }
//	defer b.Close()
//	c := client.New(b)
//	rep, err := c.SubmitUsage(ctx, records, client.UsageOptions{})
//	bills, err := c.Bills(ctx, client.BillFilter{Role: "provider"})
//
// Every error is an *Error: one sentence naming the field at fault, a Kind
// (the fedmeter command's exit code) and a hint. The contract's transactions
// and their arguments are documented in chaincode/README.md.
package client

import (
	"context"
	"time"
)

// Backend runs the fedmeter contract's transactions as one identity.
// Arguments and results are the contract's: strings in, a JSON document out.
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

// Options selects and configures a backend for Open.
type Options struct {
	// Profile is a connection profile (YAML, see Profile): use the Gateway
	// backend. When empty, the embedded ledger in Data is used.
	Profile string
	// Data is the embedded ledger's directory (made by fedmeter init).
	Data string
	// As is the embedded identity, "Org/User" (e.g. "Org1/Admin");
	// empty means the data directory's default identity.
	As string
	// At, when not zero, is the transaction time of every transaction on
	// the embedded ledger (demos, tests, replaying a story). It cannot go
	// back before the ledger's last transaction.
	At time.Time
	// Wait is how long the embedded ledger waits for another process that
	// is writing to it (default 2s; negative: not at all); then KindBusy.
	Wait time.Duration
}

// Open opens the backend that o selects.
func Open(ctx context.Context, o Options) (Backend, error) {
	if o.Profile != "" {
		if o.As != "" {
			return nil, Errorf(KindInvalid, "--as selects an identity of the embedded ledger, but a connection profile (%s) is in use", o.Profile).
				WithHint("with a profile the identity is the profile's mspID, certPath and keyPath; drop --as or use another profile")
		}
		if !o.At.IsZero() {
			return nil, Errorf(KindInvalid, "--at sets the transaction time of the embedded ledger only; Fabric peers use their own clock").
				WithHint("drop --at when using --profile")
		}
		p, err := LoadProfile(o.Profile)
		if err != nil {
			return nil, err
		}
		return DialGateway(ctx, p)
	}
	eo := EmbeddedOptions{As: o.As, Wait: o.Wait}
	if !o.At.IsZero() {
		at := o.At
		eo.Clock = func() time.Time { return at }
	}
	e, err := OpenEmbedded(o.Data, eo)
	if err != nil {
		return nil, err
	}
	if !o.At.IsZero() {
		last, err := e.LastTxTime()
		if err != nil {
			e.Close()
			return nil, err
		}
		if o.At.Before(last.Truncate(time.Second)) {
			e.Close()
			return nil, Errorf(KindInvalid, "--at %s is before the ledger's last transaction (%s); time cannot go backwards",
				o.At.UTC().Format(time.RFC3339), last.UTC().Format(time.RFC3339)).
				WithHint("give a time at or after %s, or drop --at to use the clock", last.UTC().Format(time.RFC3339))
		}
	}
	return e, nil
}
