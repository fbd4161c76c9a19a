package usageimport

import (
	"github.com/fedmeter/fedmeter/chaincode/model"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzParse checks, for any bytes, that a parser neither panics nor
// returns a record or problem without a place, and that whatever it
// returns maps without panicking.
func fuzzParse(f *testing.F, format string, seeds ...string) {
	for _, s := range seeds {
		b, err := os.ReadFile(filepath.Join("testdata", s))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	mb, err := os.ReadFile(filepath.Join("testdata", "mapping.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	m, err := LoadMapping(mb)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, probs := Parse(format, "f", data)
		for _, r := range recs {
			if r.Line < 1 || r.Identity == "" || r.File != "f" {
				t.Fatalf("record without a place or identity: %+v", r)
			}
			for k, v := range r.Fields {
				if !utf8.ValidString(k) || !utf8.ValidString(v) {
					t.Fatalf("field %q=%q is not UTF-8", k, v)
				}
			}
		}
		for _, p := range probs {
			if p.File != "f" || p.Kind == "" || p.Msg == "" {
				t.Fatalf("problem without a place or message: %+v", p)
			}
		}
		p, err := m.Apply(format, recs, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range p.Usage {
			if u.Quantity < 0 || u.End <= u.Start || !model.ValidID(u.Resource) || (u.ID != "" && !model.ValidID(u.ID)) || strings.HasPrefix(u.ID, "u-") {
				t.Fatalf("bad usage %+v", u)
			}
		}
	})
}

func FuzzParseAPEL(f *testing.F) { fuzzParse(f, FormatAPEL, "cloud.apel", "cloud-nasty.apel") }
func FuzzParseAPELAccelerator(f *testing.F) {
	fuzzParse(f, FormatAPELAccelerator, "accelerator.json", "accelerator.apel", "accelerator-nasty.json")
}
func FuzzParseAPELIP(f *testing.F) {
	fuzzParse(f, FormatAPELIP, "ip.json", "ip-nasty.json")
}
func FuzzParseStAR(f *testing.F) {
	fuzzParse(f, FormatStAR, "storage.xml", "storage-nasty.xml", "storage-latin1.xml")
}
func FuzzParseOGFUR(f *testing.F) { fuzzParse(f, FormatOGFUR, "ur.xml", "ur-nasty.xml") }
func FuzzParseCloudEvents(f *testing.F) {
	fuzzParse(f, FormatCloudEvents, "events-batch.json", "events.jsonl", "events-nasty.json")
}

// FuzzMapping: any mapping file loads or is refused, never panics; one
// that loads maps the cloud fixture without panicking.
func FuzzMapping(f *testing.F) {
	mb, _ := os.ReadFile(filepath.Join("testdata", "mapping.yaml"))
	f.Add(mb)
	recs, _ := Parse(FormatAPEL, "c", mustRead(f, "cloud.apel"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := LoadMapping(data)
		if err != nil || m.APEL == nil || m.APEL.Resource.Attribute != "" {
			return
		}
		if _, err := m.Apply(FormatAPEL, recs, nil); err != nil {
			t.Fatal(err)
		}
	})
}

func mustRead(f *testing.F, name string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// FuzzFastQuantity: whenever the integer fast path gives a quantity, the
// exact path (rationals) gives the same, for any value, multiplier, unit
// pair and rounding.
func FuzzFastQuantity(f *testing.F) {
	f.Add("3600", "2", uint8(0), uint8(0))
	f.Add("1073741823", "period", uint8(3), uint8(1))
	f.Add("999999999999999999", "9", uint8(6), uint8(2))
	pairs := [][2]string{{"s", "s"}, {"h", "s"}, {"ms", "s"}, {"MiB", "GiB"}, {"B", "GiB"}, {"GB", "GiB"}, {"PiB", "B"}, {"d", "min"}}
	rounds := []string{"nearest", "up", "down"}
	f.Fuzz(func(t *testing.T, v, times string, pair, round uint8) {
		p, rd := pairs[int(pair)%len(pairs)], rounds[int(round)%len(rounds)]
		mm := MetricMap{Metric: "m", Field: "V", From: p[0], To: p[1], Round: rd}
		if times == "period" {
			mm.Times = "period"
		} else if times != "" {
			mm.Times = "F"
		}
		r := &Rule{Resource: ResourceMap{Field: "X"}, Metrics: []MetricMap{mm}}
		if err := r.check(FormatAPEL); err != nil {
			t.Fatal(err)
		}
		rec := &Record{Fields: map[string]string{"V": v, "F": times}}
		fast, ok := fastQuantity(rec, &r.Metrics[0], v, 3600)
		if !ok {
			return
		}
		q, unit, err := parseQuantity(v)
		if err != nil || unit != "" {
			t.Fatalf("fast path took %q, which the exact path reads as %v %q", v, err, unit)
		}
		switch r.Metrics[0].Times {
		case "period":
			q.Mul(q, big.NewRat(3600, 1))
		case "F":
			m, mu, err := parseQuantity(times)
			if err != nil || mu != "" {
				t.Fatalf("fast path took multiplier %q: %v %q", times, err, mu)
			}
			q.Mul(q, m)
		}
		slow, err := convert(q, p[0], p[1], rd)
		if err != nil || slow != fast {
			t.Fatalf("%q %s->%s %s times %q: fast %d, exact %d %v", v, p[0], p[1], rd, times, fast, slow, err)
		}
	})
}
