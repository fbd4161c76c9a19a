package chaincode

import (
	"fmt"
	"regexp"
	"strconv"
	"testing"

	"github.com/fedmeter/fedmeter/chaincode/model"
)

// intLiteral is isIntLiteral's specification.
var intLiteral = regexp.MustCompile(`^-?[0-9]+$`)

// FuzzArgs: the parsers of transaction arguments (untrusted bytes from any
// client) never panic, and what they accept keeps their promises.
//
//	go test -run '^$' -fuzz FuzzArgs -fuzztime 60s ./chaincode/
func FuzzArgs(f *testing.F) {
	for _, s := range []string{`{"vcpu":2,"memory_gib":4}`, `{"zone":"bj-1"}`, `["Org1MSP","Org2MSP"]`,
		`1767225600`, `2026-01-01T00:00:00Z`, `{"a":1e3}`, `{"a":-1}`, `{"a":9223372036854775808}`, ``, `null`, `{}`, `-`, `-0`, `0042`, `99999999999999999999`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if m, err := parseIntMap("f", s, true); err == nil {
			for k, v := range m {
				if v < 0 {
					t.Fatalf("parseIntMap accepted a negative value %s=%d from %q", k, v, s)
				}
			}
		}
		parseStringMap("f", s)
		if l, err := parseList("f", s); err == nil {
			if len(l) == 0 {
				t.Fatalf("parseList accepted an empty list from %q", s)
			}
			if u, err := uniqueSorted("f", l); err == nil {
				for i := 1; i < len(u); i++ {
					if u[i] <= u[i-1] {
						t.Fatalf("uniqueSorted returned %q from %q", u, s)
					}
				}
			}
		}
		if v, err := parseTime("f", s, 0); err == nil && v < 0 {
			t.Fatalf("parseTime accepted a time before 1970 from %q", s)
		}
		if v, err := parseInt("f", s, -5, 5); err == nil && (v < -5 || v > 5) {
			t.Fatalf("parseInt accepted %d outside [-5, 5] from %q", v, s)
		}
		parsePage(s)
		if isIntLiteral(s) != intLiteral.MatchString(s) {
			t.Fatalf("isIntLiteral(%q) = %v, the regexp says %v", s, isIntLiteral(s), !isIntLiteral(s))
		}
		if v, err := strconv.ParseInt(s, 10, 64); err == nil && pad(v) != fmt.Sprintf("%020d", v) {
			t.Fatalf("pad(%d) = %s, want %020d", v, pad(v), v)
		}
	})
}

// FuzzUsageArg: a UsageSubmit record (untrusted JSON) either fails to parse
// or is a valid record whose ID is its derived one exactly when it has the
// derived form, and that survives the storage layout: stored in its
// period's key and decoded back, it is the same record.
//
//	go test -run '^$' -fuzz FuzzUsageArg -fuzztime 60s ./chaincode/
func FuzzUsageArg(f *testing.F) {
	for _, s := range []string{
		`{"resource":"r1","metric":"cpu_seconds","quantity":5,"start":10,"end":20}`,
		`{"id":"agent-7","resource":"r1","metric":"egress_gib","quantity":0,"start":0,"end":1}`,
		`{"id":"u-0123456789abcdef0123456789abcdef01234567","resource":"r1","metric":"m","quantity":1,"start":1,"end":2}`,
		`{"resource":"r1","metric":"m","quantity":1.5,"start":1,"end":2}`, `{"resource":"r/1","metric":"m","quantity":1,"start":2,"end":1}`,
		`["r1","cpu_seconds",5,10,20]`, `["r1","m",1,1,2,"agent-7"]`, `["r1","m",1,1]`, `[1,"m",1,1,2]`,
		`["r1",10,20,{"cpu_seconds":5,"egress_gib":0}]`, `["r1",10,20,{}]`, `["r1",10,20,[1]]`, `["r1",20,10,{"m":1.5}]`,
		`{"start":10,"end":20,"metrics":["cpu_seconds","egress_gib"],"rows":[["r1",5,0],["r2",1,2]]}`,
		`{"start":10,"end":20,"metrics":["m","m"],"rows":[["r1",5,0]]}`, `{"start":10,"end":20,"metrics":[],"rows":[]}`,
		`{"start":10,"end":20,"metrics":["m"],"rows":[["r1"],[1,2]]}`, `{"resource":"r1","start":1,"end":2,"metrics":["m"],"rows":[["r1",1]]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		items, err := model.DecodeUsageBatch("[" + s + "]")
		if err != nil {
			if model.CodeOf(err) != model.CodeBadArgument {
				t.Fatalf("%q refused without the code bad_argument: %v", s, err)
			}
			return
		}
		for _, p := range items {
			if p.Err != nil {
				if model.CodeOf(p.Err) != model.CodeBadArgument || p.At.Record != 0 {
					t.Fatalf("%q: record refused as %v", s, p.Err)
				}
				continue
			}
			r := p.Record
			if r.End <= r.Start || r.Start < 0 || r.Quantity < 0 || checkID("id", r.ID) != nil || checkID("resource", r.Resource) != nil || checkField("metric", r.Metric) != nil {
				t.Fatalf("accepted an invalid record %+v from %q", r, s)
			}
			if p.Derived != (r.ID == DeriveUsageID(r)) || (!p.Derived && model.IsDerivedForm(r.ID)) || model.IsCorrectionForm(r.ID) {
				t.Fatalf("record %+v: derived %v, derives %s", r, p.Derived, DeriveUsageID(r))
			}
			k, e := usageKey(r.Resource, r.Start, r.End), usageEntry{Metric: r.Metric, Quantity: r.Quantity}
			if !p.Derived {
				k, e.ID = k+"/0123456789abcdef", r.ID
			}
			v := encodeEntries(k, []usageEntry{e})
			got, err := decodePeriod(k, v)
			if err != nil || len(got) != 1 || got[0] != r {
				t.Fatalf("stored as %s = %s, decoded %+v (%v), want %+v", k, v, got, err, r)
			}
		}
	})
}

// FuzzBillBookmark: checkBillBookmark (a bill list's bookmark comes from
// any client) never panics, and a bookmark it accepts is a position, 20
// digits, "/" and more, inside every stream's time range, so that each
// stream's next page starts inside it.
//
//	go test -run '^$' -fuzz FuzzBillBookmark -fuzztime 60s ./chaincode/
func FuzzBillBookmark(f *testing.F) {
	for _, s := range []string{"00000000001767229200/r1:000001", "00000000001767229200/", "0000000000176722920x/r1:000001",
		"bill-by-pair/Org1MSP/Org2MSP/00000000001767229200/r1:000001", "", "/", "00000000000000000000/\xff"} {
		f.Add(s, int64(0), int64(0))
		f.Add(s, int64(1767225600), int64(1767232800))
	}
	f.Fuzz(func(t *testing.T, bookmark string, from, to int64) {
		cons := &Consortium{Members: []string{"Org1MSP", "Org2MSP", "Org3MSP"}}
		tf, tt := "", ""
		if from > 0 {
			tf = strconv.FormatInt(from, 10)
		}
		if to > 0 {
			tt = strconv.FormatInt(to, 10)
		}
		streams, _, _, err := (&txn{}).billStreams(cons, "provider", "Org1MSP", tf, tt)
		if err != nil {
			return
		}
		if checkBillBookmark(bookmark, streams) != nil {
			return
		}
		if len(bookmark) < 22 || bookmark[20] != '/' {
			t.Fatalf("accepted %q, which is not a position", bookmark)
		}
		for _, s := range streams {
			if k := s.pfx + bookmark + "\x00"; k < s.start || k >= s.end {
				t.Fatalf("accepted %q outside stream [%q, %q)", bookmark, s.start, s.end)
			}
		}
	})
}
