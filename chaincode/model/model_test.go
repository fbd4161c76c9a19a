package model

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"testing"
)

func TestRefusalWireForm(t *testing.T) {
	for _, r := range []*Refusal{
		{Code: CodeNotFound, Msg: "bill_id x:000001 names no bill"},
		{Code: CodeBadArgument, Msg: "records[2].end must be after records[2].start", At: &Element{Record: 2, Row: -1}},
		{Code: CodeConflict, Msg: "m", At: &Element{Record: 0, Row: 7, Metric: "cpu_seconds"}},
		{Code: CodeBadArgument, Msg: "odd metric", At: &Element{Record: 1, Row: -1, Metric: "a \"b\"] c"}},
		{Code: CodeInternal, Msg: ""},
	} {
		got, ok := DecodeRefusal(r.Error())
		if !ok || !reflect.DeepEqual(got, r) {
			t.Errorf("%q decoded as %+v (%v)", r.Error(), got, ok)
		}
	}
	for _, s := range []string{"", "plain message", "[] x", "[nope] x", "[not_found]x", "[not_found record=] x", "[not_found record=1 color=2] x", "[not_found"} {
		if r, ok := DecodeRefusal(s); ok {
			t.Errorf("%q decoded as %+v", s, r)
		}
	}
	if got := CodeOf(fmt.Errorf("wrapped: %w", Refuse(CodeDenied, "no"))); got != CodeDenied {
		t.Errorf("CodeOf through a wrap: %q", got)
	}
}

func TestUsageCodecRoundTrip(t *testing.T) {
	var recs []UsageRecord
	for i := 0; i < 4; i++ { // a table: four resources, one period, two metrics
		for _, m := range []string{"egress_gib", "cpu_seconds"} {
			recs = append(recs, UsageRecord{Resource: fmt.Sprintf("r%d", i), Metric: m, Quantity: int64(i * 10), Start: 100, End: 200})
		}
	}
	recs = append(recs,
		UsageRecord{Resource: "p", Metric: "b", Quantity: 1, Start: 1, End: 2}, // a period row, metrics not in order
		UsageRecord{Resource: "p", Metric: "a", Quantity: 2, Start: 1, End: 2},
		UsageRecord{ID: "agent-7", Resource: "q", Metric: "a", Quantity: 3, Start: 5, End: 9}, // a row with its ID
	)
	ub := EncodeUsageBatch(recs)
	items, err := DecodeUsageBatch(ub.Arg)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != len(recs) {
		t.Fatalf("%d items from %d records: %s", len(items), len(recs), ub.Arg)
	}
	for _, it := range items {
		if it.Err != nil {
			t.Fatalf("%+v", it.Err)
		}
		i := ub.Index(it.At)
		want := recs[i]
		if want.ID == "" {
			want.ID = DeriveUsageID(want)
		}
		if it.Record != want || it.Derived != (recs[i].ID == "") {
			t.Errorf("element %s is %+v, its record is %+v", it.At.Label(), it.Record, want)
		}
	}
}

func TestDecodeUsageBatchRefusals(t *testing.T) {
	for arg, at := range map[string]*Element{
		`[["r1","m",1,5,2]]`: {Record: 0, Row: -1},
		`[{"start":1,"end":2,"metrics":["a","b"],"rows":[["r1",1,2],["r2",1,-2]]}]`: {Record: 0, Row: 1, Metric: "b"},
		`[["r1",1,2,{"a":1,"b":"x"}]]`:                                              {Record: 0, Row: -1, Metric: "b"},
		`[{"start":1,"end":2,"metrics":["a"],"rows":[["r1",1],["r2"]]}]`:            {Record: 0, Row: 1},
		`[]`:   nil,
		`[1]`:  nil,
		`nope`: nil,
	} {
		items, err := DecodeUsageBatch(arg)
		if err == nil {
			for _, it := range items {
				if it.Err != nil {
					err = it.Err
					break
				}
			}
		}
		r, ok := err.(*Refusal)
		if !ok || r.Code != CodeBadArgument || !reflect.DeepEqual(r.At, at) {
			t.Errorf("%s: %#v, want at %+v", arg, err, at)
		}
	}
}

// TestBilledUsage: a bill's usage is its resource's records in its period,
// with the corrections the bill lists and no other, and a total past int64
// is an overflow.
func TestBilledUsage(t *testing.T) {
	b := &Bill{Resource: "r", Period: Period{Start: 0, End: 10}}
	recs := []UsageRecord{{Resource: "r", Metric: "m", Quantity: 1 << 62, End: 5}, {Resource: "r", Metric: "m", Quantity: 1 << 62, End: 6}}
	if _, err := BilledUsage(b, recs); CodeOf(err) != CodeConflict || !errors.Is(err, ErrUsageOverflow) {
		t.Fatalf("overflow: %v", err)
	}
	recs = []UsageRecord{
		{ID: "u-1", Resource: "r", Metric: "m", Quantity: 1 << 62, End: 5},
		{ID: "u-2", Resource: "r", Metric: "m", Quantity: 7, End: 11},                   // after the period
		{ID: "u-3", Resource: "q", Metric: "m", Quantity: 7, End: 6},                    // another resource
		{ID: "c-1", Resource: "r", Metric: "m", Quantity: -5, End: 5, Adjusts: "u-1"},   // in the bill
		{ID: "c-2", Resource: "r", Metric: "m", Quantity: -100, End: 5, Adjusts: "u-1"}, // written after it
		{ID: "c-3", Resource: "r", Metric: "n", Quantity: 3, End: 5, Adjusts: "u-4"},    // in the bill
		{ID: "u-4", Resource: "r", Metric: "n", Quantity: 0, End: 5},
	}
	b.Corrections = []string{"c-1", "c-3"}
	s, err := BilledUsage(b, recs)
	if err != nil || s["m"] != 1<<62-5 || s["n"] != 3 || len(s) != 2 {
		t.Fatalf("%v %v", s, err)
	}
}

func TestIDs(t *testing.T) {
	if BillID("ecs-1", 1) != "ecs-1:000001" || BillID("x", 1234567) != "x:1234567" {
		t.Fatal(BillID("ecs-1", 1))
	}
	u := UsageRecord{Resource: "r", Metric: "m", Start: 1, End: 2}
	if !IsDerivedForm(DeriveUsageID(u)) || IsDerivedForm("u-ABC") || IsDerivedForm("agent-7") {
		t.Fatal("IsDerivedForm")
	}
	if !ValidID("Org1MSP") || ValidID("") || ValidID("-x") || ValidID("a/b") || !ValidField("cpu_seconds") || ValidField("Cpu") {
		t.Fatal("ValidID/ValidField")
	}
}

// TestUsageAccExact: UsageAcc's totals do not depend on the order of the
// quantities, even when a partial sum passes int64 on the way; a total
// outside int64 is ErrUsageOverflow, either way round.
func TestUsageAccExact(t *testing.T) {
	const max, min = math.MaxInt64, math.MinInt64
	for _, c := range []struct {
		qs      []int64
		want    int64
		overflt bool
	}{
		{[]int64{1, 2, 3}, 6, false},
		{[]int64{max, 5, -5}, max, false},            // passes max, comes back
		{[]int64{-max, -max, max, max, 7}, 7, false}, // passes min, comes back
		{[]int64{max, max, -max}, max, false},        // a raise before the void
		{[]int64{max, 1}, 0, true},                   // over
		{[]int64{min, -1}, 0, true},                  // under
		{[]int64{min, max, max, -max, -max}, min, false},
	} {
		rev := slices.Clone(c.qs)
		slices.Reverse(rev)
		for _, order := range [][]int64{c.qs, rev} {
			var a UsageAcc
			for _, q := range order {
				a.Add("m", q)
			}
			sums, err := a.Sums("r")
			if c.overflt {
				if !errors.Is(err, ErrUsageOverflow) || CodeOf(err) != CodeConflict {
					t.Errorf("%v: sums %v, err %v; want an overflow", order, sums, err)
				}
				continue
			}
			if err != nil || sums["m"] != c.want {
				t.Errorf("%v: sums %v (%v), want %d", order, sums, err, c.want)
			}
		}
	}
}
