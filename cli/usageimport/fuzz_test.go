package usageimport

import (
	"github.com/fedmeter/fedmeter/chaincode/model"
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
