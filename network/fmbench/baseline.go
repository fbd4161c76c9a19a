package main

import (
	"context"
	"os"

	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/fedmeter/fedmeter/cli/client/embedded"
	ledger "github.com/fedmeter/fedmeter/network/embedded"
	"github.com/fedmeter/fedmeter/network/fabric/putget/contract"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// openBaseline opens a backend for the trivial Put/Get contract that
// fedmeter's transactions are measured against, beside b and as b's
// identity:
//
//   - on a Gateway, the same peer, channel and identity with the chaincode
//     swapped for chaincode (network/fabric deploys one named putget:
//     Put(key, value) writes one key, Get(key) reads it);
//   - on the embedded ledger, a fresh ledger in a temporary folder, with the
//     same durability, running the same contract
//     (network/fabric/putget/contract) under the name chaincode; it is
//     removed on Close.
func openBaseline(ctx context.Context, b client.Backend, chaincode string) (client.Backend, error) {
	switch x := b.(type) {
	case *client.Gateway:
		p := *x.Profile()
		p.Chaincode = chaincode
		g, err := client.DialGateway(ctx, &p)
		if err != nil {
			return nil, err
		}
		return g, nil
	case *embedded.Backend:
		dir, err := os.MkdirTemp("", "fedmeter-baseline-")
		if err != nil {
			return nil, client.Errorf(client.KindInternal, "a folder for the baseline ledger cannot be made: %v", err)
		}
		cc, err := contractapi.NewChaincode(&contract.PutGet{})
		if err != nil {
			os.RemoveAll(dir)
			return nil, client.Errorf(client.KindInternal, "the baseline contract could not be loaded: %v", err)
		}
		led, err := ledger.Open(dir, cc, ledger.Options{ChannelID: x.Config().Channel, ChaincodeName: chaincode, NoSync: x.NoSync()})
		if err != nil {
			os.RemoveAll(dir)
			return nil, client.Errorf(client.KindLedger, "the baseline ledger cannot be opened: %v", err)
		}
		return &tempEmbedded{Backend: x.Over(dir, led), dir: dir}, nil
	}
	return nil, client.Errorf(client.KindInvalid, "the baseline contract cannot be reached from a %T backend", b)
}

// tempEmbedded is an embedded ledger in a temporary folder, removed on Close.
type tempEmbedded struct {
	*embedded.Backend
	dir string
}

func (t *tempEmbedded) Close() error {
	err := t.Backend.Close()
	if rerr := os.RemoveAll(t.dir); err == nil {
		err = rerr
	}
	return err
}
