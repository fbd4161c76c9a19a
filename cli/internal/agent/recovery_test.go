package agent

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"testing"

	"github.com/fedmeter/fedmeter/chaincode/model"
)

// TestRecoveryEquivalence plays the crash the agent's start-up handles: a
// close wrote its spool file (up to H) but the agent died before the
// checkpoint after it. Resuming from the older checkpoint, closing to H
// (the spool has those periods) and reading on from the checkpoint's
// position must give, for every later period, the records an agent that
// never stopped gives — for sums and for held integrals alike.
func TestRecoveryEquivalence(t *testing.T) {
	cfg, err := ParseConfig([]byte(`period: 1m
lateness: 10s
metrics:
  - {sample: a, metric: cpu_seconds, aggregate: sum}
  - {sample: b, metric: mem_seconds, aggregate: integral, max_gap: 90s}
  - {sample: c, metric: temp_max, aggregate: max}
`))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(7))
	var ss []Sample
	for sec := int64(0); sec < 1200; sec += 1 + rng.Int63n(20) {
		for _, r := range []string{"r1", "r2"} {
			rule := rng.Intn(3)
			jitter := int64(0)
			if rule != 1 {
				jitter = rng.Int63n(8) // out of order, within the lateness
			}
			ss = append(ss, Sample{Resource: r, Rule: rule, Time: (sec - jitter) * 1000, Value: rng.Int63n(100)})
		}
	}
	// step runs samples [from, to) through a, closing as the agent does.
	type closeAt struct {
		index int
		to    int64
	}
	step := func(a *Aggregator, from, to int, closes *[]closeAt, out *[]model.UsageRecord) {
		for i := from; i < to; i++ {
			a.Add(ss[i])
			if c := a.Closable(0); c > a.ClosedTo {
				r, _ := a.Close(c)
				*out = append(*out, r...)
				if closes != nil {
					*closes = append(*closes, closeAt{i + 1, c})
				}
			}
		}
	}
	var want []model.UsageRecord
	var closes []closeAt
	orig := NewAggregator(cfg)
	step(orig, 0, len(ss), &closes, &want)
	r, _ := orig.Close(orig.OpenEnd())
	want = append(want, r...)
	if len(closes) < 10 {
		t.Fatalf("only %d closes", len(closes))
	}
	for trial := 0; trial < 40; trial++ {
		c := closes[1+rng.Intn(len(closes)-1)]
		// the last checkpoint before the close: some samples earlier
		j := c.index - 1 - rng.Intn(min(c.index, 30))
		a := NewAggregator(cfg)
		var before []model.UsageRecord
		step(a, 0, j, nil, &before)
		data, _ := json.Marshal(a.checkpoint(nil))
		var cp checkpoint
		json.Unmarshal(data, &cp)
		b := NewAggregator(cfg)
		if err := b.restore(&cp); err != nil {
			t.Fatal(err)
		}
		var got []model.UsageRecord
		for _, rec := range want {
			if rec.End*1000 <= c.to {
				got = append(got, rec) // in the spool, or on the ledger
			}
		}
		b.Close(c.to) // start-up: the spool's periods are closed
		step(b, j, len(ss), nil, &got)
		r, _ := b.Close(b.OpenEnd())
		got = append(got, r...)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("trial %d: resumed at sample %d with the spool closed to %d:\ngot  %v\nwant %v", trial, j, c.to, got, want)
		}
	}
}
