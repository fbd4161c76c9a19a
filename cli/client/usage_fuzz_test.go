package client_test

import (
	"bytes"
	"testing"

	"github.com/fedmeter/fedmeter/cli/client"
)

// FuzzReadUsage: a usage file (the metering agent's output, or anything a user
// pipes in) never makes ReadUsage panic, and every record it accepts is one
// the contract would take: an ID, a non-negative quantity, end after start,
// and no ID twice.
//
//	go test -run '^$' -fuzz FuzzReadUsage -fuzztime 60s ./cli/client/
func FuzzReadUsage(f *testing.F) {
	f.Add([]byte(`{"id":"u1","resource":"ecs-1","metric":"egress_gib","quantity":3,"start":10,"end":20}`+"\n"), "jsonl")
	f.Add([]byte(`[{"resource":"ecs-1","metric":"cpu_seconds","quantity":1,"start":"2026-01-01T00:00:00Z","end":"2026-01-01T01:00:00Z"}]`), "jsonl")
	f.Add([]byte("id,resource,metric,quantity,start,end\nu1,ecs-1,egress_gib,3,10,20\n"), "csv")
	f.Add([]byte("resource,metric,quantity,start,end\necs-1,egress_gib,-3,10,20\n"), "")
	f.Fuzz(func(t *testing.T, data []byte, format string) {
		uf, err := client.ReadUsage(bytes.NewReader(data), "fuzz", format)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, r := range uf.Records {
			if r.ID == "" || r.Quantity < 0 || r.End <= r.Start || r.Resource == "" || r.Metric == "" {
				t.Fatalf("accepted a record the contract refuses: %+v", r)
			}
			if seen[r.ID] {
				t.Fatalf("accepted ID %q twice", r.ID)
			}
			seen[r.ID] = true
		}
	})
}
