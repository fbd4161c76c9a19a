package client

import (
	"context"

	gw "github.com/hyperledger/fabric-gateway/pkg/client"
)

var _ EventSource = (*Gateway)(nil)

// Events follows the chaincode's events through the gateway's event
// service (ChaincodeEvents), from start's block. Fabric numbers events by
// block; an event's index is its place among the chaincode's events of
// that block, which every peer delivers in the block's order, so a
// position read once names the same event later.
//
// Only this profile's channel is followed, and the peer delivers only
// valid transactions' events. Not tested against a running Fabric network
// by this package's tests (numberEvents, the numbering, is).
func (g *Gateway) Events(ctx context.Context, start *EventPos, fn func(Event) error) error {
	var opts []gw.ChaincodeEventsOption
	if start != nil {
		opts = append(opts, gw.WithStartBlock(start.Block))
	}
	ch, err := g.gw.GetNetwork(g.prof.Channel).ChaincodeEvents(ctx, g.prof.Chaincode, opts...)
	if err != nil {
		return g.wrap("ChaincodeEvents", err)
	}
	return numberEvents(ctx, ch, start, fn, g.prof.Channel)
}

// numberEvents gives the gateway's events their positions, skips those
// before start and calls fn with the others, until ctx ends or the
// stream does.
func numberEvents(ctx context.Context, ch <-chan *gw.ChaincodeEvent, start *EventPos, fn func(Event) error, channel string) error {
	var block uint64
	var index uint32
	first := true
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev, ok := <-ch:
			if !ok {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return Errorf(KindLedger, "the gateway's event stream of channel %s ended", channel)
			}
			if first || ev.BlockNumber != block {
				block, index, first = ev.BlockNumber, 0, false
			} else {
				index++
			}
			pos := EventPos{Block: block, Index: index}
			if start != nil && pos.Less(*start) {
				continue
			}
			if err := fn(Event{Pos: pos, TxID: ev.TransactionID, Name: ev.EventName, Payload: ev.Payload}); err != nil {
				return err
			}
		}
	}
}
