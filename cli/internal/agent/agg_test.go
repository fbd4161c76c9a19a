package agent

import (
	"fmt"
	"strings"
	"testing"

	"github.com/fedmeter/fedmeter/chaincode/model"
)

const gib = 1 << 30

// s is a sample of rule 0 of resource r at second sec with value v (in
// the rule's scaled units).
func smp(r string, sec, v int64) Sample { return Sample{Resource: r, Time: sec * 1000, Value: v} }

func mustConfig(t testing.TB, rule string) *Config {
	t.Helper()
	c, err := ParseConfig([]byte("period: 1m\nlateness: 10s\nmetrics:\n  - " + rule + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestAggregate checks each aggregate against numbers worked out by hand.
func TestAggregate(t *testing.T) {
	for _, c := range []struct {
		name    string
		rule    string
		samples []Sample
		closeTo int64    // seconds
		want    []string // "resource start quantity"
		probs   []string
	}{
		{name: "sum: 1+2+3 in the first minute, 4 in the second",
			rule:    "{sample: x, metric: cpu_seconds, aggregate: sum}",
			samples: []Sample{smp("r1", 0, 1), smp("r1", 10, 2), smp("r1", 59, 3), smp("r1", 60, 4)},
			closeTo: 120, want: []string{"r1 0 6", "r1 60 4"}},
		{name: "sum of two resources, one period closed",
			rule:    "{sample: x, metric: cpu_seconds, aggregate: sum}",
			samples: []Sample{smp("r2", 5, 7), smp("r1", 6, 1), smp("r2", 70, 100)},
			closeTo: 60, want: []string{"r1 0 1", "r2 0 7"}},
		{name: "max of 5 2 9 4 is 9",
			rule:    "{sample: x, metric: m, aggregate: max}",
			samples: []Sample{smp("r", 10, 5), smp("r", 30, 2), smp("r", 20, 9), smp("r", 50, 4)},
			closeTo: 60, want: []string{"r 0 9"}},
		{name: "min of 5 2 9 4 is 2",
			rule:    "{sample: x, metric: m, aggregate: min}",
			samples: []Sample{smp("r", 10, 5), smp("r", 30, 2), smp("r", 20, 9), smp("r", 50, 4)},
			closeTo: 60, want: []string{"r 0 2"}},
		{name: "avg of 5 2 9 4 is 20/4 = 5",
			rule:    "{sample: x, metric: m, aggregate: avg}",
			samples: []Sample{smp("r", 10, 5), smp("r", 30, 2), smp("r", 20, 9), smp("r", 50, 4)},
			closeTo: 60, want: []string{"r 0 5"}},
		{name: "avg of 1 and 2 is 1.5, rounded half away from zero to 2",
			rule:    "{sample: x, metric: m, aggregate: avg}",
			samples: []Sample{smp("r", 1, 1), smp("r", 2, 2)},
			closeTo: 60, want: []string{"r 0 2"}},
		{name: "avg of 1 1 2 is 1.33 → 1",
			rule:    "{sample: x, metric: m, aggregate: avg}",
			samples: []Sample{smp("r", 1, 1), smp("r", 2, 1), smp("r", 3, 2)},
			closeTo: 60, want: []string{"r 0 1"}},
		{name: "latest is the value of the latest time, not the last read",
			rule:    "{sample: x, metric: m, aggregate: latest}",
			samples: []Sample{smp("r", 10, 5), smp("r", 50, 4), smp("r", 20, 9)},
			closeTo: 60, want: []string{"r 0 4"}},
		{name: "scale 2: 1.25 + 2.50 = 3.75, in hundredths 375",
			rule:    "{sample: x, metric: m, aggregate: sum, scale: 2}",
			samples: []Sample{smp("r", 1, 125), smp("r", 2, 250)},
			closeTo: 60, want: []string{"r 0 375"}},
		{name: "scale 2, divide 100: 3.75 → 4",
			rule:    "{sample: x, metric: m, aggregate: sum, scale: 2, divide: 100}",
			samples: []Sample{smp("r", 1, 125), smp("r", 2, 250)},
			closeTo: 60, want: []string{"r 0 4"}},
		{name: "divide: 0.5 GiB + 1 GiB = 1.5 GiB → 2",
			rule:    "{sample: x, metric: egress_gib, aggregate: sum, divide: 1073741824}",
			samples: []Sample{smp("r", 1, gib/2), smp("r", 2, gib)},
			closeTo: 60, want: []string{"r 0 2"}},
		{name: "divide: 1.25 GiB → 1",
			rule:    "{sample: x, metric: egress_gib, aggregate: sum, divide: 1073741824}",
			samples: []Sample{smp("r", 1, gib/4), smp("r", 2, gib)},
			closeTo: 60, want: []string{"r 0 1"}},
		{name: "integral: 2 GiB for 30 s then 4 GiB for 30 s = 180 GiB-s; 4 GiB held 30 s more = 120",
			rule:    "{sample: x, metric: memory_gib_seconds, aggregate: integral, divide: 1073741824}",
			samples: []Sample{smp("r", 0, 2*gib), smp("r", 30, 4*gib), smp("r", 90, 0)},
			closeTo: 120, want: []string{"r 0 180", "r 60 120"}},
		{name: "integral held across a closed period into the next, only up to the period's end",
			rule:    "{sample: x, metric: memory_gib_seconds, aggregate: integral, divide: 1073741824}",
			samples: []Sample{smp("r", 50, 6*gib)},
			closeTo: 60, want: []string{"r 0 60"}},
		{name: "integral: max_gap 10s stops a silent series: 1×10 + 1×10",
			rule:    "{sample: x, metric: m, aggregate: integral, max_gap: 10s}",
			samples: []Sample{smp("r", 0, 1), smp("r", 30, 1)},
			closeTo: 60, want: []string{"r 0 20"}},
		{name: "integral per 1m: 3 units for 40 s = 2 unit-minutes",
			rule:    "{sample: x, metric: m, aggregate: integral, per: 1m}",
			samples: []Sample{smp("r", 0, 3), smp("r", 40, 0)},
			closeTo: 60, want: []string{"r 0 2"}},
		{name: "integral: a value held through a whole period with no sample gives a record",
			rule:    "{sample: x, metric: m, aggregate: integral, max_gap: 5m}",
			samples: []Sample{smp("r", 30, 2), smp("r", 150, 0)},
			closeTo: 180, want: []string{"r 0 60", "r 60 120", "r 120 60"}},
		{name: "offset: max of -18.2 and -15.5 °C, offset 100, scale 1 = 84.5 → 845",
			rule:    "{sample: x, metric: m, aggregate: max, scale: 1, offset: 100}",
			samples: []Sample{smp("r", 1, -182), smp("r", 2, -155)},
			closeTo: 60, want: []string{"r 0 845"}},
		{name: "offset: avg of -18.2 and -15.5 °C in kelvin (scale 2) = 256.3 → 256",
			rule:    "{sample: x, metric: m, aggregate: avg, scale: 2, offset: 273.15, divide: 100}",
			samples: []Sample{smp("r", 1, -1820), smp("r", 2, -1550)},
			closeTo: 60, want: []string{"r 0 256"}},
		{name: "a negative sum is a problem, not a record",
			rule:    "{sample: x, metric: m, aggregate: sum}",
			samples: []Sample{smp("r", 1, -5), smp("r", 2, 3)},
			closeTo: 60, probs: []string{"r 0 the sum is negative (-2)"}},
		{name: "an invalid resource ID is a problem",
			rule:    "{sample: x, metric: m, aggregate: sum}",
			samples: []Sample{smp("has space", 1, 1)},
			closeTo: 60, probs: []string{"has space 0 resource \"has space\" is not a resource ID"}},
		{name: "sums past int64 are exact in 128 bits; the quantity is refused",
			rule:    "{sample: x, metric: m, aggregate: sum}",
			samples: []Sample{smp("r", 1, 1<<62), smp("r", 2, 1<<62), smp("r", 3, 1<<62)},
			closeTo: 60, probs: []string{"r 0 the sum does not fit an int64"}},
		{name: "sums past int64 come back: 2^62 × 3 − 2^62 × 2 = 2^62",
			rule:    "{sample: x, metric: m, aggregate: sum}",
			samples: []Sample{smp("r", 1, 1<<62), smp("r", 2, 1<<62), smp("r", 3, 1<<62), smp("r", 4, -(1 << 62)), smp("r", 5, -(1 << 62))},
			closeTo: 60, want: []string{fmt.Sprintf("r 0 %d", int64(1)<<62)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := NewAggregator(mustConfig(t, c.rule))
			for _, s := range c.samples {
				a.Add(s)
			}
			recs, probs := a.Close(c.closeTo * 1000)
			var got []string
			for _, r := range recs {
				got = append(got, fmt.Sprintf("%s %d %d", r.Resource, r.Start, r.Quantity))
				if r.End-r.Start != 60 {
					t.Errorf("%+v: not a one-minute period", r)
				}
				if r.ID != model.DeriveUsageID(model.UsageRecord{Resource: r.Resource, Metric: r.Metric, Start: r.Start, End: r.End}) {
					t.Errorf("%+v: the ID is not the derived one", r)
				}
			}
			if strings.Join(got, "; ") != strings.Join(c.want, "; ") {
				t.Errorf("records: got %q, want %q", got, c.want)
			}
			var gotP []string
			for _, p := range probs {
				gotP = append(gotP, fmt.Sprintf("%s %d %s", p.Resource, p.Start, p.Reason))
			}
			if len(gotP) != len(c.probs) {
				t.Fatalf("problems: got %q, want %q", gotP, c.probs)
			}
			for i := range gotP {
				if !strings.HasPrefix(gotP[i], c.probs[i]) {
					t.Errorf("problem %d: got %q, want %q...", i, gotP[i], c.probs[i])
				}
			}
		})
	}
}

// TestWatermark: a period closes once a sample lateness past its end is
// seen; a sample for a closed period is late and dropped.
func TestWatermark(t *testing.T) {
	a := NewAggregator(mustConfig(t, "{sample: x, metric: m, aggregate: sum}")) // period 1m, lateness 10s
	a.Add(smp("r", 5, 1))
	a.Add(smp("r", 69, 2))
	if got := a.Closable(0); got != a.ClosedTo {
		t.Fatalf("closable at max event 69 s: %d, want nothing (period 0-60 waits until 70 s)", got)
	}
	a.Add(smp("r", 70, 3))
	if got := a.Closable(0); got != 60000 {
		t.Fatalf("closable at max event 70 s: %d, want 60000", got)
	}
	recs, _ := a.Close(60000)
	if len(recs) != 1 || recs[0].Quantity != 1 {
		t.Fatalf("closed: %+v", recs)
	}
	a.Add(smp("r", 59, 100)) // late
	a.Add(smp("r", 60, 4))   // on time: the open period
	if a.Stats.Late != 1 {
		t.Fatalf("late: %d, want 1", a.Stats.Late)
	}
	recs, _ = a.Close(a.OpenEnd())
	if len(recs) != 1 || recs[0].Quantity != 2+3+4 {
		t.Fatalf("second period: %+v, want 9", recs)
	}
	if r, _ := a.Close(a.OpenEnd()); r != nil {
		t.Fatalf("closing again gave %+v", r)
	}
}

// TestWallClock: with clock: wall, a quiet stream's period closes by the
// wall clock.
func TestWallClock(t *testing.T) {
	c, err := ParseConfig([]byte("period: 1m\nlateness: 10s\nclock: wall\nmetrics: [{sample: x, metric: m, aggregate: sum}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	a := NewAggregator(c)
	a.Add(smp("r", 5, 1))
	if got := a.Closable(69_000); got != a.ClosedTo {
		t.Fatalf("closable at 69 s: %d", got)
	}
	if got := a.Closable(70_000); got != 60_000 {
		t.Fatalf("closable at 70 s: %d, want 60000", got)
	}
}

// TestCheckpointRoundTrip: an aggregator restored from its checkpoint
// closes to the same records as the original.
func TestCheckpointRoundTrip(t *testing.T) {
	cfg := mustConfig(t, "{sample: x, metric: m, aggregate: integral, divide: 3}")
	a := NewAggregator(cfg)
	for i := int64(0); i < 50; i++ {
		a.Add(smp(fmt.Sprint("r", i%3), i*7, i*i))
	}
	a.Close(120_000)
	cp := a.checkpoint(nil)
	b := NewAggregator(cfg)
	data := mustJSON(t, cp)
	var cp2 checkpoint
	unmarshal(t, data, &cp2)
	if err := b.restore(&cp2); err != nil {
		t.Fatal(err)
	}
	for _, x := range []*Aggregator{a, b} {
		x.Add(smp("r1", 400, 5))
	}
	ra, _ := a.Close(a.OpenEnd())
	rb, _ := b.Close(b.OpenEnd())
	if fmt.Sprint(ra) != fmt.Sprint(rb) || len(ra) == 0 {
		t.Fatalf("restored: %v\noriginal: %v", rb, ra)
	}
	cfg2 := mustConfig(t, "{sample: x, metric: other, aggregate: sum}")
	if err := NewAggregator(cfg2).restore(&cp2); err == nil {
		t.Fatal("a checkpoint of other rules was restored")
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"metrics: [{sample: x, aggregate: sum}]", "period is required"},
		{"period: 1500ms\nmetrics: [{sample: x, aggregate: sum}]", "not a whole number of seconds"},
		{"period: 1h\nmetrics: [{sample: x}]", "aggregate is required"},
		{"period: 1h\nmetrics: [{sample: x, aggregate: median}]", `aggregate "median" is not valid`},
		{"period: 1h\nmetrics: [{sample: x, aggregate: sum, metric: Bad}]", "is not a ledger metric name"},
		{"period: 1h\nmetrics: [{sample: x, aggregate: sum, metric: m}, {sample: y, aggregate: max, metric: m}]", "also produced by metrics[0]"},
		{"period: 1h\nperoid: 2h\nmetrics: [{sample: x, aggregate: sum}]", "field peroid not found"},
		{"period: 1h\nclock: lunar\nmetrics: [{sample: x, aggregate: sum}]", `clock "lunar"`},
		{"period: soon\nmetrics: [{sample: x, aggregate: sum}]", "not a duration"},
		{"period: 1h\nmetrics: [{sample: x, aggregate: sum, scale: 12}]", "scale 12"},
		{"period: 1h\nmetrics: []", "metrics is empty"},
		{"period: 1h\nmetrics: [{sample: x, aggregate: sum, offset: 5}]", "offset applies to max, min, avg and latest"},
		{"period: 1h\nmetrics: [{sample: x, aggregate: max, offset: warm}]", `offset "warm" is not a decimal number`},
	} {
		_, err := ParseConfig([]byte(c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.yaml, err, c.want)
		}
	}
}
