package fabric_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/fedmeter/fedmeter/cli/client"
)

// gatewayEvents reads channelall's events through client.Gateway.Events
// (what fedmeter serve's event stream and webhooks use on Fabric) after
// cliStory: from the first block, in ledger order, the story's consortium,
// rule and bill events; and resuming from a position gives the event after
// it.
func gatewayEvents(t *testing.T, n *itNet) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	g, err := client.Dial(ctx, filepath.Join(n.dir, "profiles", "channelall", "org1.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	done := errors.New("enough")
	read := func(start *client.EventPos, until func(client.Event) bool) []client.Event {
		t.Helper()
		var got []client.Event
		err := g.Events(ctx, start, func(e client.Event) error {
			got = append(got, e)
			if until(e) {
				return done
			}
			return nil
		})
		if err != done {
			t.Fatalf("events from %v: %v after %d", start, err, len(got))
		}
		return got
	}
	evs := read(&client.EventPos{}, func(e client.Event) bool { return e.Name == "BillIssued" })
	seen := map[string]bool{}
	for i, e := range evs {
		if i > 0 && !evs[i-1].Pos.Less(e.Pos) {
			t.Fatalf("event %d at %v after %v", i, e.Pos, evs[i-1].Pos)
		}
		if e.TxID == "" || len(e.Payload) == 0 {
			t.Fatalf("event %d: %+v", i, e)
		}
		seen[e.Name] = true
	}
	for _, name := range []string{"ConsortiumInitialized", "RuleProposed", "RuleVoted", "RuleDecided", "RuleActivated", "BillIssued"} {
		if !seen[name] {
			t.Errorf("no %s event before the first bill; got %v", name, seen)
		}
	}
	if len(evs) < 2 {
		t.Fatalf("%d events", len(evs))
	}
	next := evs[0].Pos.Next()
	if r := read(&next, func(client.Event) bool { return true }); r[0].Pos != evs[1].Pos || r[0].TxID != evs[1].TxID {
		t.Fatalf("resuming after %v: %v %s, want %v %s", evs[0].Pos, r[0].Pos, r[0].Name, evs[1].Pos, evs[1].Name)
	}
	t.Logf("%d events up to the first bill; resuming after %v gives %v", len(evs), evs[0].Pos, evs[1].Pos)
}
