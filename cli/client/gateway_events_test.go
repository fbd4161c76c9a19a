package client

import (
	"context"
	"strings"
	"testing"

	gw "github.com/hyperledger/fabric-gateway/pkg/client"
)

func TestNumberEvents(t *testing.T) {
	evs := []*gw.ChaincodeEvent{
		{BlockNumber: 5, TransactionID: "a", EventName: "RuleVoted"},
		{BlockNumber: 5, TransactionID: "b", EventName: "BillIssued"},
		{BlockNumber: 5, TransactionID: "c", EventName: "BillIssued"},
		{BlockNumber: 7, TransactionID: "d", EventName: "RuleDecided"},
		{BlockNumber: 8, TransactionID: "e", EventName: "BillIssued"},
		{BlockNumber: 8, TransactionID: "f", EventName: "BillIssued"},
	}
	run := func(start *EventPos) string {
		ch := make(chan *gw.ChaincodeEvent, len(evs))
		for _, e := range evs {
			ch <- e
		}
		close(ch)
		var got []string
		err := numberEvents(context.Background(), ch, start, func(e Event) error {
			got = append(got, e.Pos.String()+"="+e.TxID)
			return nil
		}, "ch")
		if KindOf(err) != KindLedger {
			t.Fatalf("the stream's end: %v", err)
		}
		return strings.Join(got, " ")
	}
	if got := run(nil); got != "5.0=a 5.1=b 5.2=c 7.0=d 8.0=e 8.1=f" {
		t.Fatalf("from now: %s", got)
	}
	// Resuming after 5.1: the gateway starts at block 5; 5.0 and 5.1 are
	// skipped.
	after := EventPos{5, 1}.Next()
	if got := run(&after); got != "5.2=c 7.0=d 8.0=e 8.1=f" {
		t.Fatalf("after 5.1: %s", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := numberEvents(ctx, make(chan *gw.ChaincodeEvent), nil, func(Event) error { return nil }, "ch"); err != context.Canceled {
		t.Fatalf("cancelled: %v", err)
	}
}
