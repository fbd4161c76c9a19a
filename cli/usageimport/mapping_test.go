package usageimport

import (
	"github.com/fedmeter/fedmeter/chaincode/model"
	"math/big"
	"strings"
	"testing"
)

func TestLoadMappingErrors(t *testing.T) {
	base := "apel:\n  resource: {field: VMUUID}\n  metrics: [{metric: cpu_seconds, field: CpuDuration, from: s}]\n"
	for _, c := range []struct{ name, yml, want string }{
		{"empty", "", "the mapping is empty"},
		{"no format", "version: 1\n", "has no section for any format"},
		{"unknown key", base + "  colour: blue\n", "field colour not found"},
		{"unknown format", "slurm: {}\n", "field slurm not found"},
		{"bad yaml", "apel: [\n", "line"},
		{"version", "version: 2\n" + base, "version 2 is not one"},
		{"no resource field", "apel:\n  metrics: [{metric: x, field: y}]\n", "apel.resource.field: name the field"},
		{"no metrics", "apel:\n  resource: {field: VMUUID}\n", "apel.metrics: name at least one metric"},
		{"bad metric name", "apel:\n  resource: {field: VMUUID}\n  metrics: [{metric: CPU, field: y}]\n", `apel.metrics[1].metric: "CPU" is not a metric name`},
		{"metric twice", "apel:\n  resource: {field: VMUUID}\n  metrics: [{metric: x, field: y}, {metric: x, field: z}]\n", "apel.metrics[2].metric: x appears twice"},
		{"no field", "apel:\n  resource: {field: VMUUID}\n  metrics: [{metric: x}]\n", "apel.metrics[1].field: name the field"},
		{"unknown unit", "apel:\n  resource: {field: VMUUID}\n  metrics: [{metric: x, field: y, from: fortnights}]\n", `apel.metrics[1].from: unit "fortnights" is not known`},
		{"units that do not convert", "apel:\n  resource: {field: VMUUID}\n  metrics: [{metric: x, field: y, from: s, to: GiB}]\n", "apel.metrics[1]: s is a time and GiB a data size: they do not convert"},
		{"bad round", "apel:\n  resource: {field: VMUUID}\n  metrics: [{metric: x, field: y, round: sideways}]\n", `apel.metrics[1].round: "sideways" is not nearest, up or down`},
		{"bad ids", "apel:\n  ids: random\n  resource: {field: VMUUID}\n  metrics: [{metric: x, field: y}]\n", `apel.ids: "random" is not derived or source`},
		{"ids and attribute", "apel:\n  resource: {field: VMUUID, attribute: uuid, ids: {a: b}}\n  metrics: [{metric: x, field: y}]\n", "apel.resource: give ids or attribute, not both"},
		{"bad resource id", "apel:\n  resource: {field: VMUUID, ids: {a: 'no/slash'}}\n  metrics: [{metric: x, field: y}]\n", `apel.resource.ids: "a" maps to "no/slash", which is not a resource ID`},
		{"cloudevents needs a period", "cloudevents:\n  resource: {field: data.vm}\n  metrics: [{metric: x, field: data.y}]\n", "cloudevents.start/end: name the fields"},
		{"orgs without field", "apel:\n  provider: {orgs: {a: Org1MSP}}\n  resource: {field: VMUUID}\n  metrics: [{metric: x, field: y}]\n", "apel.provider: orgs needs a field"},
		{"times itself", "apel:\n  resource: {field: VMUUID}\n  metrics: [{metric: x, field: y, times: y}]\n", "apel.metrics[1].times: y times itself"},
		{"where without values", "apel:\n  resource: {field: VMUUID}\n  metrics: [{metric: x, field: y}]\n  where: [{field: Status}]\n", "apel.where[1]: give field and in"},
		{"metric where without values", "apel:\n  resource: {field: VMUUID}\n  metrics: [{metric: x, field: y, where: [{field: Status}]}]\n", "apel.metrics[1].where[1]: give field and in"},
		{"ip without interval", "apel-ip:\n  resource: {field: LocalGroup}\n  where: [{field: IPVersion, in: [4]}]\n  metrics: [{metric: x, field: IPCount, times: period}]\n", "apel-ip.interval: an apel-ip record counts IPs at an instant"},
		{"bad interval", "apel-ip:\n  interval: soon\n  resource: {field: LocalGroup}\n  metrics: [{metric: x, field: IPCount}]\n", `apel-ip.interval: "soon" is not a duration`},
		{"zero interval", "apel-ip:\n  interval: 0s\n  resource: {field: LocalGroup}\n  metrics: [{metric: x, field: IPCount}]\n", `apel-ip.interval: "0s" is not a positive duration`},
		{"fractional interval", "apel-ip:\n  interval: 1500ms\n  resource: {field: LocalGroup}\n  metrics: [{metric: x, field: IPCount}]\n", `"1500ms" is not whole seconds`},
		{"interval and start", "apel:\n  interval: 1h\n  start: StartTime\n  resource: {field: VMUUID}\n  metrics: [{metric: x, field: y}]\n", "apel.interval: start and interval both"},
		// IPv4 and IPv6 counts of one project and instant into one metric: refused
		{"ip versions mixed", "apel-ip:\n  interval: 1h\n  resource: {field: LocalGroup}\n  metrics: [{metric: x, field: IPCount, times: period}]\n", "apel-ip.metrics[1]: x would add the IPv4 and the IPv6 counts"},
		{"ip versions both kept", "apel-ip:\n  interval: 1h\n  resource: {field: LocalGroup}\n  metrics: [{metric: x, field: IPCount, where: [{field: IPVersion, in: [4, 6]}]}]\n", "apel-ip.metrics[1]: x would add"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadMapping([]byte(c.yml))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
	m, err := LoadMapping([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if r := m.Rule(FormatAPEL); r.IDs != "derived" || r.Start != "StartTime" || r.End != "EndTime" || r.Metrics[0].Round != "nearest" || r.Metrics[0].To != "s" {
		t.Fatalf("defaults not applied: %+v", r)
	}
	// One version for the whole section, or one per metric, is accepted.
	for _, yml := range []string{
		"apel-ip:\n  interval: 3600\n  resource: {field: LocalGroup}\n  where: [{field: IPVersion, in: ['4']}]\n  metrics: [{metric: x, field: IPCount, times: period}]\n",
		"apel-ip:\n  interval: 1h\n  resource: {field: LocalGroup}\n  where: [{field: IPVersion, in: [4, 6]}]\n  metrics: [{metric: x, field: IPCount, where: [{field: IPVersion, in: [6]}]}]\n",
	} {
		m, err := LoadMapping([]byte(yml))
		if err != nil {
			t.Fatalf("%s: %v", yml, err)
		}
		if r := m.Rule(FormatAPELIP); r.interval != 3600 || r.End != "MeasurementTime" || r.Start != "" {
			t.Fatalf("apel-ip defaults not applied: %+v", r)
		}
	}
	if _, err := m.Apply(FormatStAR, nil, nil); err == nil || !strings.Contains(err.Error(), "no star section") {
		t.Fatalf("Apply of a format the mapping lacks: %v", err)
	}
}

func TestQuantities(t *testing.T) {
	for _, c := range []struct {
		raw, from, to, round string
		want                 int64
		err                  string
	}{
		{"3600", "s", "h", "nearest", 1, ""},
		{"5400", "s", "h", "nearest", 2, ""}, // 1.5: half away from zero
		{"5399", "s", "h", "nearest", 1, ""},
		{"5399", "s", "h", "up", 2, ""},
		{"7199", "s", "h", "down", 1, ""},
		{"0.5", "s", "ms", "nearest", 500, ""},
		{"1.5e3", "s", "s", "nearest", 1500, ""},
		{"+7", "1", "1", "nearest", 7, ""},
		{"2 GiB", "MiB", "MiB", "nearest", 2048, ""},
		{"2GB", "MiB", "MiB", "nearest", 1907, ""},
		{"1 hours", "s", "s", "nearest", 3600, ""},
		{"PT1H30M", "s", "min", "nearest", 90, ""},
		{"P1DT0.5S", "s", "s", "down", 86400, ""},
		{"P2W", "s", "d", "nearest", 14, ""},
		{"9223372036854775807", "1", "1", "nearest", 9223372036854775807, ""},
		{"9223372036854775808", "1", "1", "nearest", 0, "more than a quantity holds"},
		{"9223372036854775807", "s", "ms", "nearest", 0, "more than a quantity holds"},
		{"1e30", "B", "B", "nearest", 0, "more than a quantity holds"},
		{"1e31", "B", "B", "nearest", 0, "beyond ±30"},
		{"1e999999999999", "B", "B", "nearest", 0, "out of range"},
		{"1e-31", "B", "B", "nearest", 0, "beyond ±30"},
		{"-1", "1", "1", "nearest", 0, "is negative"},
		{"", "1", "1", "nearest", 0, "is not a number"},
		{".", "1", "1", "nearest", 0, "is not a number"},
		{"1.2.3", "1", "1", "nearest", 0, "is not a number"},
		{"Inf", "1", "1", "nearest", 0, "is not a number"},
		{"0x10", "1", "1", "nearest", 0, "is not a number"},
		{"1e", "1", "1", "nearest", 0, ""}, // "e" is read as a unit, and refused by the caller
		{"P", "s", "s", "nearest", 0, "not an ISO 8601 duration"},
		{"PT", "s", "s", "nearest", 0, "not an ISO 8601 duration"},
		{"P1Y", "s", "s", "nearest", 0, "years or months"},
		{"PT1H1H", "s", "s", "nearest", 0, "H twice"},
		{"PT1.2.3S", "s", "s", "nearest", 0, "not an ISO 8601 duration"},
		{strings.Repeat("9", 41), "1", "1", "nearest", 0, "more than 40 significant digits"},
	} {
		q, unit, err := parseQuantity(c.raw)
		if err == nil {
			from := c.from
			if unit != "" {
				u, ok := lookupUnit(unit)
				if !ok {
					if c.err != "" || c.raw != "1e" {
						t.Errorf("%q: unit %q unknown", c.raw, unit)
					}
					continue
				}
				from = u.name
			}
			var n int64
			n, err = convert(q, from, c.to, c.round)
			if err == nil {
				if c.err != "" || n != c.want {
					t.Errorf("%q %s->%s %s = %d, want %d (error %q)", c.raw, c.from, c.to, c.round, n, c.want, c.err)
				}
				continue
			}
		}
		if c.err == "" || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%q: error %v, want %q", c.raw, err, c.err)
		}
	}
}

func TestTimes(t *testing.T) {
	for _, c := range []struct {
		s    string
		want int64
		err  string
	}{
		{"1767225600", 1767225600, ""},
		{"1767225600.75", 1767225600, ""},
		{"2026-01-01T00:00:00Z", 1767225600, ""},
		{"2026-01-01T01:00:00+01:00", 1767225600, ""},
		{"2026-01-01 00:00:00+00:00", 1767225600, ""},
		{"2026-01-01T00:00:00.5Z", 1767225600, ""},
		{"2026-01-01T00:00:00", 1767225600, ""},
		{"2026-01-01 00:00:00", 1767225600, ""},
		{"1969-12-31T23:59:59Z", 0, "before 1970"},
		{"99999999999999999999", 0, "too large"},
		{"tomorrow", 0, "is not a time"},
		{"-5", 0, "is not a time"},
	} {
		n, err := parseTime(c.s)
		if c.err == "" && (err != nil || n != c.want) {
			t.Errorf("%q = %d, %v; want %d", c.s, n, err, c.want)
		}
		if c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%q: error %v, want %q", c.s, err, c.err)
		}
	}
}

// TestSourceIDs: with ids: source, a record's IDs depend on its identity
// and metric only, so reading the file again, or in another order, gives
// the same IDs; and they never have the reserved derived form.
func TestSourceIDs(t *testing.T) {
	m := mapping(t, string(load(t, "mapping.yaml")))
	data := load(t, "storage.xml")
	recs, _ := Parse(FormatStAR, "a.xml", data)
	p1, _ := m.Apply(FormatStAR, recs, nil)
	rev := append([]Record(nil), recs...)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	p2, _ := m.Apply(FormatStAR, rev, nil)
	ids := map[string]bool{}
	for _, u := range p1.Usage {
		if !strings.HasPrefix(u.ID, "i-") || len(u.ID) != 42 || !model.ValidID(u.ID) {
			t.Fatalf("ID %q is not i- and 40 hex digits", u.ID)
		}
		ids[u.ID] = true
	}
	for _, u := range p2.Usage {
		if !ids[u.ID] {
			t.Fatalf("ID %s of the reversed file is not one of the first reading's", u.ID)
		}
	}
	if len(ids) != 3 {
		t.Fatalf("%d distinct IDs, want 3", len(ids))
	}
	// derived: no ID is sent
	recs, _ = Parse(FormatAPEL, "c.apel", load(t, "cloud.apel"))
	p, _ := m.Apply(FormatAPEL, recs, nil)
	for _, u := range p.Usage {
		if u.ID != "" {
			t.Fatalf("derived ids: usage carries ID %q", u.ID)
		}
	}
}

// TestResolver: resources looked up by attribute, with the provider check.
func TestResolver(t *testing.T) {
	m := mapping(t, `
apel:
  provider: {field: SiteName, orgs: {FEDCLOUD-ALPHA: Org1, FEDCLOUD-BETA: Org2MSP}}
  resource: {field: VMUUID, attribute: vmuuid}
  where: [{field: Status, in: [completed]}]
  metrics: [{metric: cpu_seconds, field: CpuDuration, from: s}]
`)
	recs, _ := Parse(FormatAPEL, "cloud.apel", load(t, "cloud.apel"))
	if _, err := m.Apply(FormatAPEL, recs, nil); err == nil || !strings.Contains(err.Error(), "needs the ledger") {
		t.Fatalf("no resolver: %v", err)
	}
	ledger := map[string][2]string{
		"0c5f8a52-6a8e-4c1e-9b1f-3a2d1e0f0a01": {"ecs-1", "Org1MSP"},
		"0c5f8a52-6a8e-4c1e-9b1f-3a2d1e0f0a03": {"ecs-3", "Org1MSP"}, // the mapping says Org2MSP
	}
	p, err := m.Apply(FormatAPEL, recs, func(provider, attr, value string) (string, string, error) {
		if attr != "vmuuid" {
			t.Fatalf("attribute %q", attr)
		}
		r, ok := ledger[value]
		if !ok {
			return "", "", errNoResource
		}
		return r[0], r[1], nil
	})
	if err != nil {
		t.Fatal(err)
	}
	same(t, "usage", usage(p), []string{"ecs-1 cpu_seconds 72000 1767225600 1767261600 Org1MSP"})
	var got []string
	for _, x := range p.Problem {
		got = append(got, x.Error())
	}
	same(t, "problems", got, []string{
		`cloud.apel line 29: unmapped: VMUUID "0c5f8a52-6a8e-4c1e-9b1f-3a2d1e0f0a02": no resource of the provider has it`,
		`cloud.apel line 56: unmapped: VMUUID "0c5f8a52-6a8e-4c1e-9b1f-3a2d1e0f0a03" is resource ecs-3 of Org1MSP, but the mapping gives the record to Org2MSP`,
	})
}

type errString string

func (e errString) Error() string { return string(e) }

const errNoResource = errString("no resource of the provider has it")

// TestDerivedDuplicates: two records of different identity that give the
// same resource, metric and period collide on the derived ID.
func TestDerivedDuplicates(t *testing.T) {
	m := mapping(t, `
cloudevents:
  resource: {field: data.vm}
  start: data.start
  end: data.end
  metrics: [{metric: cpu_seconds, field: data.cpu}]
`)
	data := []byte(`{"specversion":"1.0","id":"1","source":"/a","type":"u","data":{"vm":"vm-1","start":1,"end":2,"cpu":5}}
{"specversion":"1.0","id":"2","source":"/a","type":"u","data":{"vm":"vm-1","start":1,"end":2,"cpu":5}}
{"specversion":"1.0","id":"3","source":"/a","type":"u","data":{"vm":"vm-1","start":1,"end":2,"cpu":6}}
`)
	recs, probs := Parse(FormatCloudEvents, "e.jsonl", data)
	p, _ := m.Apply(FormatCloudEvents, recs, nil)
	var got []string
	for _, x := range append(probs, p.Problem...) {
		got = append(got, x.Error())
	}
	same(t, "problems", got, []string{
		"e.jsonl line 2 (event 2): duplicate: cpu_seconds of vm-1 over the same period as the record at e.jsonl line 1 (event 1), same quantity 5: skipped",
		"e.jsonl line 3 (event 3): conflict: cpu_seconds of vm-1 over the same period as the record at e.jsonl line 1 (event 1), but 6 instead of 5: one resource's metric is counted once per period",
	})
	if len(p.Usage) != 1 || p.Fatal() != 1 {
		t.Fatalf("usage %v, fatal %d", usage(p), p.Fatal())
	}
}

func TestParseHeaders(t *testing.T) {
	for _, c := range []struct{ format, data, want string }{
		{FormatAPEL, "", "the file is empty"},
		{FormatAPEL, "VMUUID: x\n", `does not start with the header line "APEL-cloud-message: v0.4"`},
		{FormatAPEL, "APEL-cloud-message: v0.9\n", `version "v0.9" is not one this import reads`},
		{FormatAPEL, "APEL-accelerator-message: v0.1\n", "not APEL-cloud-message"},
		{FormatAPEL, "APEL-cloud-message: v0.4\nSiteName: x\n", "the record has no VMUUID"},
		{FormatAPELAccelerator, "{}", `Type is ""`},
		{FormatStAR, "<a/>", "the root element <a> is not a star document"},
		{FormatStAR, "", "holds no XML element"},
		{FormatOGFUR, "<UsageRecords>" + strings.Repeat("<y>", 40), "nest deeper than 32"},
		{FormatCloudEvents, "", "holds no event"},
		{FormatCloudEvents, "[1]", "the event is not a JSON object"},
		{FormatCloudEvents, `{"specversion":"1.0","id":"1","source":"s","type":"t","data":` + strings.Repeat("[", 20) + strings.Repeat("]", 20) + "}", "nests deeper than 16"},
		{"slurm", "", `format "slurm" is not one of`},
	} {
		_, probs := Parse(c.format, "f", []byte(c.data))
		if len(probs) == 0 || !strings.Contains(probs[0].Error(), c.want) {
			t.Errorf("%s %q: problems %v, want %q", c.format, c.data, probs, c.want)
		}
	}
}

// TestFastQuantity holds the integer fast path to the exact path's
// results: for plain integers, each kind of multiplier, unit pairs whose
// ratio is an integer or its inverse, and each rounding, both give the same
// quantity; the fast path declines what it cannot do exactly (it then
// takes the exact path).
func TestFastQuantity(t *testing.T) {
	vals := []string{"0", "1", "7", "007", "511", "512", "513", "3600", "1073741823", "999999999999999999", "4611686018427387904", "1.5", " 3", "3s", "1e3", ""}
	taken := 0
	for _, units := range [][2]string{{"s", "s"}, {"h", "s"}, {"ms", "s"}, {"MiB", "GiB"}, {"B", "GiB"}, {"GB", "GiB"}, {"PiB", "B"}, {"1", "1"}} {
		for _, round := range []string{"nearest", "up", "down"} {
			for _, times := range []string{"", "period", "F"} {
				r := &Rule{Resource: ResourceMap{Field: "X"}, Metrics: []MetricMap{{Metric: "m", Field: "V", From: units[0], To: units[1], Round: round, Times: times}}}
				if err := r.check(FormatAPEL); err != nil {
					t.Fatal(err)
				}
				mm := &r.Metrics[0]
				for _, v := range vals {
					for _, fv := range []string{"2", "0", "3037000500", "x"} {
						rec := &Record{Fields: map[string]string{"V": v, "F": fv}}
						fast, ok := fastQuantity(rec, mm, v, 3600)
						if !ok {
							continue
						}
						taken++
						q, unit, err := parseQuantity(v)
						if err != nil || unit != "" {
							t.Fatalf("fast path took %q, which the exact path reads as %v %q", v, err, unit)
						}
						switch times {
						case "period":
							q.Mul(q, big.NewRat(3600, 1))
						case "F":
							f, _, _ := parseQuantity(fv)
							q.Mul(q, f)
						}
						slow, err := convert(q, mm.From, mm.To, round)
						if err != nil || slow != fast {
							t.Fatalf("%q %s->%s %s times %q (F=%q): fast %d, exact %d %v", v, units[0], units[1], round, times, fv, fast, slow, err)
						}
					}
				}
			}
		}
	}
	if taken < 500 {
		t.Fatalf("the fast path was taken %d times: it is not being tested", taken)
	}
	// A unit the record declares, and overflow, always take the exact path.
	for _, c := range []struct {
		mm  MetricMap
		rec *Record
	}{
		{MetricMap{Field: "V", From: "s", To: "s", num: 1, den: 1}, &Record{Fields: map[string]string{"V": "1"}, Units: map[string]string{"V": "h"}}},
		{MetricMap{Field: "V", From: "s", To: "s", Times: "period", num: 1, den: 1}, &Record{Fields: map[string]string{"V": "4611686018427387904"}}},
		{MetricMap{Field: "V", From: "PiB", To: "B", num: 1 << 50, den: 1}, &Record{Fields: map[string]string{"V": "8192"}}},
	} {
		if n, ok := fastQuantity(c.rec, &c.mm, c.rec.Fields["V"], 3600); ok {
			t.Fatalf("%+v took the fast path: %d", c.mm, n)
		}
	}
}
