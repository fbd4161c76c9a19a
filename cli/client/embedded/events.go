package embedded

import (
	"context"
	"encoding/json"
	"time"

	"github.com/fedmeter/fedmeter/cli/client"
	ledger "github.com/fedmeter/fedmeter/network/embedded"
)

var _ client.EventSource = (*Backend)(nil)

// EventPoll is how often Events looks for blocks that another process
// committed; this process's own Submits wake it at once.
var EventPoll = time.Second

// Events reads the events of the ledger's blocks from start (one
// transaction per block: an event's index is always 0) and then follows
// new blocks. Events of every transaction are returned, whoever the
// backend acts as: the caller decides who may see them.
func (e *Backend) Events(ctx context.Context, start *client.EventPos, fn func(client.Event) error) error {
	var next uint64
	if start != nil {
		next = start.Block
		if start.Index > 0 {
			next++ // the block's one event is index 0
		}
	} else {
		h, err := e.height()
		if err != nil {
			return err
		}
		next = h
	}
	tick := time.NewTicker(EventPoll)
	defer tick.Stop()
	for {
		wake := e.h.waitChange()
		h, err := e.height()
		if err != nil {
			return err
		}
		for ; next < h; next++ {
			var blk *ledger.Block
			if err := e.h.read(func(l *ledger.Ledger) (err error) {
				blk, err = l.Block(next)
				return err
			}); err != nil {
				return client.Errorf(client.KindLedger, "block %d of the ledger in %s cannot be read: %v", next, e.dir, errText(err))
			}
			for i, ev := range blk.Events {
				payload := json.RawMessage(ev.Payload)
				if !json.Valid(payload) {
					payload, _ = json.Marshal(string(ev.Payload))
				}
				if err := fn(client.Event{Pos: client.EventPos{Block: blk.Number, Index: uint32(i)}, TxID: blk.TxID,
					Name: ev.Name, Payload: payload, Time: blk.Timestamp.UTC()}); err != nil {
					return err
				}
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
		case <-tick.C:
		}
	}
}

func (e *Backend) height() (uint64, error) {
	var h uint64
	err := e.h.read(func(l *ledger.Ledger) (err error) {
		h, _, err = l.Height()
		return err
	})
	if err != nil {
		return 0, client.Errorf(client.KindLedger, "the height of the ledger in %s cannot be read: %v", e.dir, errText(err))
	}
	return h, nil
}

// waitChange is a channel closed after the next write of this process.
func (h *ledgerHandle) waitChange() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.changed == nil {
		h.changed = make(chan struct{})
	}
	return h.changed
}
