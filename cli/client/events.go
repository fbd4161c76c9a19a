package client

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Event is one chaincode event of the fedmeter contract as committed: a
// bill issued, a rule proposed, voted, decided, activated or revoked, a
// consortium proposal opened, voted or decided (chaincode/README.md lists
// the events and their payloads). A transaction sets at most one.
type Event struct {
	// Pos is where the event is on the ledger: stable across restarts
	// and the same for every reader of the ledger.
	Pos EventPos
	// TxID is the transaction that set the event.
	TxID string
	// Name is the contract's name of the event (BillIssued, RuleVoted, ...).
	Name string
	// Payload is the event's JSON document.
	Payload json.RawMessage
	// Time is the transaction's time where the backend knows it (the
	// embedded ledger); zero on Fabric, whose event stream does not carry it.
	Time time.Time
}

// EventPos is the position of an event on the ledger: the block's number
// and the event's index among the events of that block (on the embedded
// ledger, one transaction per block, always 0). Positions order events as
// they were committed.
type EventPos struct {
	Block uint64
	Index uint32
}

// String is "BLOCK.INDEX", what ParseEventPos reads.
func (p EventPos) String() string { return fmt.Sprintf("%d.%d", p.Block, p.Index) }

// Less reports whether p comes before q.
func (p EventPos) Less(q EventPos) bool {
	return p.Block < q.Block || p.Block == q.Block && p.Index < q.Index
}

// Next is the first position after p.
func (p EventPos) Next() EventPos { return EventPos{p.Block, p.Index + 1} }

// ParseEventPos reads "BLOCK.INDEX" (or "BLOCK", index 0).
func ParseEventPos(s string) (EventPos, error) {
	b, i, hasIndex := strings.Cut(s, ".")
	block, err := strconv.ParseUint(b, 10, 64)
	if err != nil || b == "" || b[0] == '+' {
		return EventPos{}, Errorf(KindInvalid, "%q is not an event position: it must be BLOCK.INDEX, as an event's id", s)
	}
	var index uint64
	if hasIndex {
		index, err = strconv.ParseUint(i, 10, 32)
		if err != nil || i == "" || i[0] == '+' {
			return EventPos{}, Errorf(KindInvalid, "%q is not an event position: it must be BLOCK.INDEX, as an event's id", s)
		}
	}
	return EventPos{Block: block, Index: uint32(index)}, nil
}

// EventSource is a Backend that can replay and follow the contract's
// events: the embedded ledger (cli/client/embedded) and Gateway.
type EventSource interface {
	// Events calls fn with each event at or after start, in ledger order,
	// and then with each one committed later, until ctx ends (it returns
	// ctx's error), fn returns an error (returned as is) or the backend
	// fails. A nil start means the events committed from now on.
	Events(ctx context.Context, start *EventPos, fn func(Event) error) error
}
