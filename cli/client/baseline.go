package client

import (
	"context"
	"os"

	"github.com/fedmeter/fedmeter/network/embedded"
	"github.com/fedmeter/fedmeter/network/fabric/putget/contract"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// OpenBaseline opens a backend for the trivial Put/Get contract that
// fedmeter's transactions are measured against (fedmeter bench), beside b
// and as b's identity:
//
//   - on a Gateway, the same peer, channel and identity with the chaincode
//     swapped for chaincode (network/fabric deploys one named putget:
//     Put(key, value) writes one key, Get(key) reads it);
//   - on the embedded ledger, a fresh ledger in a temporary folder, with the
//     same durability, running the same contract (network/fabric/putget/contract) under the name chaincode; it is
//     removed on Close.
func OpenBaseline(ctx context.Context, b Backend, chaincode string) (Backend, error) {
	switch x := b.(type) {
	case *Gateway:
		p := *x.prof
		p.Chaincode = chaincode
		return DialGateway(ctx, &p)
	case *Embedded:
		dir, err := os.MkdirTemp("", "fedmeter-baseline-")
		if err != nil {
			return nil, Errorf(KindInternal, "a folder for the baseline ledger cannot be made: %v", errText(err))
		}
		cc, err := contractapi.NewChaincode(&contract.PutGet{})
		if err != nil {
			os.RemoveAll(dir)
			return nil, Errorf(KindInternal, "the baseline contract could not be loaded: %v", errText(err))
		}
		led, err := embedded.Open(dir, cc, embedded.Options{ChannelID: x.cfg.Channel, ChaincodeName: chaincode, NoSync: x.noSync})
		if err != nil {
			os.RemoveAll(dir)
			return nil, Errorf(KindLedger, "the baseline ledger cannot be opened: %v", errText(err))
		}
		return &tempEmbedded{Embedded: &Embedded{dir: dir, cfg: x.cfg, h: &ledgerHandle{dir: dir, cfg: x.cfg, noSync: x.noSync, led: led}, owner: true, who: x.who, id: x.id, noSync: x.noSync}}, nil
	}
	return nil, Errorf(KindInvalid, "the baseline contract cannot be reached from a %T backend", b)
}

// tempEmbedded is an embedded ledger in a temporary folder, removed on Close.
type tempEmbedded struct{ *Embedded }

func (t *tempEmbedded) Close() error {
	err := t.Embedded.Close()
	if rerr := os.RemoveAll(t.dir); err == nil {
		err = rerr
	}
	return err
}
