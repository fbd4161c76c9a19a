package client_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/fedmeter/fedmeter/chaincode"
	"github.com/fedmeter/fedmeter/cli/client"
)

func TestReadUsage(t *testing.T) {
	for _, tc := range []struct {
		name, file, format, data string
		n, derived, repeated     int
		err                      string // substring of the error, "" for success
	}{
		{"jsonl", "u.jsonl", "", `{"id":"u-1","resource":"r-1","metric":"egress_gib","quantity":3,"start":10,"end":20}
# a comment

{"resource":"r-1","metric":"egress_gib","quantity":4,"start":"1970-01-01T00:00:20Z","end":"30"}`, 2, 1, 0, ""},
		{"array", "u.json", "", `[{"id":"u-1","resource":"r-1","metric":"m","quantity":3,"start":10,"end":20},{"id":"u-2","resource":"r-1","metric":"m","quantity":0,"start":20,"end":30}]`, 2, 0, 0, ""},
		{"csv", "u.csv", "", "id,resource,metric,quantity,start,end\nu-1,r-1,egress_gib,3,10,20\nu-2,r-1,egress_gib,4,2026-01-01T00:00:00Z,2026-01-01T01:00:00Z\n", 2, 0, 0, ""},
		{"csv without id, columns in any order", "u.csv", "", "END,start,quantity,metric,resource\n20,10,3,m,r-1\n", 1, 1, 0, ""},
		{"sniffed csv on stdin", "stdin", "", "resource,metric,quantity,start,end\nr-1,m,3,10,20\n", 1, 1, 0, ""},
		{"sniffed json on stdin", "stdin", "", ` {"resource":"r-1","metric":"m","quantity":3,"start":10,"end":20}`, 1, 1, 0, ""},
		{"a repeated line is dropped", "u.csv", "", "id,resource,metric,quantity,start,end\nu-1,r-1,m,3,10,20\nu-1,r-1,m,3,10,20\n", 1, 0, 1, ""},
		{"forced format", "u.txt", "csv", "resource,metric,quantity,start,end\nr-1,m,3,10,20\n", 1, 1, 0, ""},

		{"bad format", "u", "xml", "x", 0, 0, 0, `format "xml" is not valid`},
		{"empty", "u.csv", "", "", 0, 0, 0, "holds no usage records"},
		{"not json", "u.jsonl", "", "{\"resource\":\"r-1\",\"metric\":\"m\",\"quantity\":1,\"start\":1,\"end\":2}\n{oops}\n", 0, 0, 0, "u.jsonl line 2: not a JSON usage record"},
		{"unknown field", "u.jsonl", "", `{"resource":"r-1","metric":"m","qty":3,"start":1,"end":2}`, 0, 0, 0, `line 1: not a JSON usage record: unknown field "qty"`},
		{"two values on a line", "u.jsonl", "", `{"resource":"r-1","metric":"m","quantity":3,"start":1,"end":2} {}`, 0, 0, 0, "more than one JSON value"},
		{"missing quantity", "u.jsonl", "", `{"resource":"r-1","metric":"m","start":1,"end":2}`, 0, 0, 0, "line 1: quantity is required"},
		{"fractional quantity", "u.csv", "", "resource,metric,quantity,start,end\nr-1,m,1.5,1,2\n", 0, 0, 0, "u.csv line 2: quantity must be a non-negative integer, got 1.5"},
		{"negative quantity", "u.csv", "", "resource,metric,quantity,start,end\nr-1,m,-1,1,2\n", 0, 0, 0, "quantity must not be negative"},
		{"bad time", "u.csv", "", "resource,metric,quantity,start,end\nr-1,m,1,yesterday,2\n", 0, 0, 0, `start must be Unix seconds or an RFC 3339 time, got "yesterday"`},
		{"end before start", "u.csv", "", "resource,metric,quantity,start,end\nr-1,m,1,5,5\n", 0, 0, 0, "end 5 must be after start 5"},
		{"bad resource", "u.csv", "", "resource,metric,quantity,start,end\nr/1,m,1,1,2\n", 0, 0, 0, `resource "r/1" is not a resource ID`},
		{"bad metric", "u.csv", "", "resource,metric,quantity,start,end\nr-1,Egress,1,1,2\n", 0, 0, 0, `metric "Egress" is not valid`},
		{"bad id", "u.csv", "", "id,resource,metric,quantity,start,end\nu 1,r-1,m,1,1,2\n", 0, 0, 0, `id "u 1" is not valid`},
		{"reused id", "u.csv", "", "id,resource,metric,quantity,start,end\nu-1,r-1,m,1,1,2\nu-1,r-1,m,2,1,2\n", 0, 0, 0, "u.csv line 3: id u-1 was already used at u.csv line 2"},
		{"unknown column", "u.csv", "", "resource,metric,qty,start,end\n", 0, 0, 0, `column "qty" is not a usage field`},
		{"missing column", "u.csv", "", "resource,metric,start,end\n", 0, 0, 0, "the header has no quantity column"},
		{"short row", "u.csv", "", "resource,metric,quantity,start,end\nr-1,m,1,1\n", 0, 0, 0, "u.csv line 2: 4 fields, but the header names 5"},
		{"array record", "u.json", "", `[{"resource":"r-1","metric":"m","quantity":1,"start":1,"end":2},{"resource":"r-1","metric":"m","quantity":1,"start":3,"end":2}]`, 0, 0, 0, "u.json record 2: end 2 must be after start 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := client.ReadUsage(strings.NewReader(tc.data), tc.file, tc.format)
			if tc.err != "" {
				var ce *client.Error
				if !errors.As(err, &ce) || ce.Kind != client.KindInvalid || !strings.Contains(ce.Msg, tc.err) {
					t.Fatalf("got %v; want an input error containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Records) != tc.n || f.Derived != tc.derived || f.Repeated != tc.repeated {
				t.Fatalf("got %d records (%d derived, %d repeated): %+v", len(f.Records), f.Derived, f.Repeated, f.Records)
			}
			for _, r := range f.Records {
				if r.ID == "" || r.End <= r.Start {
					t.Fatalf("record %+v", r)
				}
			}
		})
	}
}

func TestDeriveUsageID(t *testing.T) {
	a := client.UsageRecord{Resource: "r-1", Metric: "m", Quantity: 3, Start: 10, End: 20}
	b := a
	b.Quantity = 4
	c := a
	c.End = 21
	if client.DeriveUsageID(a) != client.DeriveUsageID(b) {
		t.Fatal("the quantity must not change the derived ID (a correction is refused, not added)")
	}
	if client.DeriveUsageID(a) == client.DeriveUsageID(c) {
		t.Fatal("another period must get another ID")
	}
	if id := client.DeriveUsageID(a); len(id) != 42 || !strings.HasPrefix(id, "u-") {
		t.Fatalf("ID %q", id)
	}
}

func TestFormatMoney(t *testing.T) {
	for _, tc := range []struct {
		amount int64
		scale  int
		want   string
	}{
		{4904, 2, "49.04"}, {5, 2, "0.05"}, {0, 2, "0.00"}, {-150, 2, "-1.50"}, {7, 0, "7"}, {1, 3, "0.001"},
		{-9223372036854775808, 2, "-92233720368547758.08"},
	} {
		if got := client.FormatMoney(tc.amount, tc.scale); got != tc.want {
			t.Errorf("FormatMoney(%d, %d) = %s, want %s", tc.amount, tc.scale, got, tc.want)
		}
	}
}

// TestEncodeUsageBatch: period tables for resources with the same metrics
// over one period, period rows for a resource's metrics over one period,
// rows otherwise, derived IDs left out, strings valid JSON (the contract
// reading them back: TestSubmitUsageTableError, TestSubmitUsagePeriodRowError).
func TestEncodeUsageBatch(t *testing.T) {
	rec := func(id, res, metric string, q, start, end int64) chaincode.UsageRecord {
		return chaincode.UsageRecord{ID: id, Resource: res, Metric: metric, Quantity: q, Start: start, End: end}
	}
	derived := rec("", "ecs-1", "cpu_seconds", 60, 10, 20)
	derived.ID = client.DeriveUsageID(derived)
	for _, c := range []struct {
		name string
		recs []chaincode.UsageRecord
		want string
	}{
		{"single", []chaincode.UsageRecord{derived, rec(`a"b`, "ecs-2", "egress_gib", 3, 10, 20)},
			`[["ecs-1","cpu_seconds",60,10,20],["ecs-2","egress_gib",3,10,20,"a\"b"]]`},
		{"period", []chaincode.UsageRecord{derived, rec("", "ecs-1", "egress_gib", 2, 10, 20), rec("", "ecs-2", "cpu_seconds", 5, 10, 20)},
			`[["ecs-1",10,20,{"cpu_seconds":60,"egress_gib":2}],["ecs-2","cpu_seconds",5,10,20]]`},
		{"breaks", []chaincode.UsageRecord{ // a chosen ID, another period, a repeated metric
			rec("", "r", "a", 1, 1, 2), rec("x-1", "r", "b", 1, 1, 2),
			rec("", "r", "a", 1, 1, 2), rec("", "r", "b", 1, 1, 3),
			rec("", "r", "a", 1, 1, 3), rec("", "r", "a", 2, 1, 3)},
			`[["r","a",1,1,2],["r","b",1,1,2,"x-1"],["r","a",1,1,2],["r",1,3,{"b":1,"a":1}],["r","a",2,1,3]]`},
		{"table", []chaincode.UsageRecord{ // runs of the same period and metrics, then one that differs in each way
			rec("", "r1", "a", 1, 1, 2), rec("", "r1", "b", 2, 1, 2),
			rec("", "r2", "a", 3, 1, 2), rec("", "r2", "b", 4, 1, 2),
			rec("", "r3", "b", 5, 1, 2), rec("", "r3", "a", 6, 1, 2), // metrics in another order
			rec("", "r4", "a", 7, 1, 2), rec("", "r4", "b", 8, 1, 2), rec("", "r4", "c", 9, 1, 2), // a longer run
			rec("", "r5", "a", 1, 1, 3), rec("", "r6", "a", 2, 1, 3), rec("", "r7", "a", 3, 1, 3), // one metric each
			rec("", "r8", "a", 4, 2, 3)}, // another period
			`[{"start":1,"end":2,"metrics":["a","b"],"rows":[["r1",1,2],["r2",3,4]]},["r3",1,2,{"b":5,"a":6}],["r4",1,2,{"a":7,"b":8,"c":9}],` +
				`{"start":1,"end":3,"metrics":["a"],"rows":[["r5",1],["r6",2],["r7",3]]},["r8","a",4,2,3]]`},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := client.EncodeUsageBatch(c.recs)
			if got != c.want {
				t.Fatalf("EncodeUsageBatch = %s, want %s", got, c.want)
			}
			var rows []any
			if err := json.Unmarshal([]byte(got), &rows); err != nil {
				t.Fatalf("not JSON: %s: %v", got, err)
			}
		})
	}
}
