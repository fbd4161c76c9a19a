package host

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestDecodeOutput(t *testing.T) {
	tests := []struct {
		name string
		out  string
		want error  // sentinel
		msg  string // substring of the error
		bill *Bill
	}{
		{"bill", `{"total":300,"currency":"CNY","scale":2,"lines":[{"item":"a","amount":100},{"item":"b","quantity":2,"unit":"h","unit_price":100,"amount":200}]}`,
			nil, "", &Bill{Total: 300, Currency: "CNY", Scale: 2, Lines: []Line{{Item: "a", Amount: 100}, {Item: "b", Quantity: 2, Unit: "h", UnitPrice: 100, Amount: 200}}}},
		{"zero bill", `{"total":0,"currency":"EUR","scale":0,"lines":[]}`, nil, "", &Bill{Currency: "EUR", Lines: []Line{}}},
		{"discount line", `{"total":50,"currency":"CNY","scale":2,"lines":[{"item":"a","amount":100},{"item":"discount","amount":-50}]}`,
			nil, "", &Bill{Total: 50, Currency: "CNY", Scale: 2, Lines: []Line{{Item: "a", Amount: 100}, {Item: "discount", Amount: -50}}}},
		{"rule error", `{"error":{"code":"missing_price","message":"no price for vcpu_hour"}}`, ErrRule, "missing_price", nil},
		{"error without code", `{"error":{"message":"x"}}`, ErrBadOutput, "without a code", nil},
		{"error and bill", `{"total":1,"error":{"code":"x"}}`, ErrBadOutput, "both", nil},
		{"not json", `hello`, ErrBadOutput, "not a valid output", nil},
		{"empty", ``, ErrBadOutput, "not a valid output", nil},
		{"trailing data", `{"total":0,"currency":"CNY","scale":2,"lines":[]} {}`, ErrBadOutput, "after the output", nil},
		{"unknown field", `{"total":0,"currency":"CNY","scale":2,"lines":[],"tip":1}`, ErrBadOutput, "unknown field", nil},
		{"float total", `{"total":1.5,"currency":"CNY","scale":2,"lines":[]}`, ErrBadOutput, "", nil},
		{"exponent amount", `{"total":100,"currency":"CNY","scale":2,"lines":[{"item":"a","amount":1e2}]}`, ErrBadOutput, "", nil},
		{"int64 overflow", `{"total":9223372036854775808,"currency":"CNY","scale":2,"lines":[]}`, ErrBadOutput, "", nil},
		{"sum overflow", `{"total":1,"currency":"CNY","scale":2,"lines":[{"item":"a","amount":9223372036854775807},{"item":"b","amount":9223372036854775807}]}`, ErrBadOutput, "overflow", nil},
		{"sum mismatch", `{"total":301,"currency":"CNY","scale":2,"lines":[{"item":"a","amount":300}]}`, ErrBadOutput, "sum to 300", nil},
		{"negative total", `{"total":-1,"currency":"CNY","scale":2,"lines":[{"item":"a","amount":-1}]}`, ErrBadOutput, "negative", nil},
		{"missing total", `{"currency":"CNY","scale":2,"lines":[]}`, ErrBadOutput, "missing total", nil},
		{"lower-case currency", `{"total":0,"currency":"cny","scale":2,"lines":[]}`, ErrBadOutput, "currency", nil},
		{"long currency", `{"total":0,"currency":"ABCDEFGHI","scale":2,"lines":[]}`, ErrBadOutput, "currency", nil},
		{"scale 19", `{"total":0,"currency":"CNY","scale":19,"lines":[]}`, ErrBadOutput, "scale", nil},
		{"missing scale", `{"total":0,"currency":"CNY","lines":[]}`, ErrBadOutput, "scale", nil},
		{"line without item", `{"total":1,"currency":"CNY","scale":2,"lines":[{"amount":1}]}`, ErrBadOutput, "no item", nil},
		{"line without amount", `{"total":0,"currency":"CNY","scale":2,"lines":[{"item":"a"}]}`, ErrBadOutput, "no amount", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := decodeOutput([]byte(tt.out), ProfileV1())
			if tt.want == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if b.Total != tt.bill.Total || b.Currency != tt.bill.Currency || b.Scale != tt.bill.Scale || len(b.Lines) != len(tt.bill.Lines) {
					t.Fatalf("got %+v, want %+v", b, tt.bill)
				}
				for i := range b.Lines {
					if b.Lines[i] != tt.bill.Lines[i] {
						t.Fatalf("line %d: got %+v, want %+v", i, b.Lines[i], tt.bill.Lines[i])
					}
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("error %q does not mention %q", err, tt.msg)
			}
		})
	}
}

func TestMaxLines(t *testing.T) {
	var sb strings.Builder
	sb.WriteString(`{"total":0,"currency":"CNY","scale":2,"lines":[`)
	for i := 0; i <= ProfileV1().MaxLines; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(`{"item":"x","amount":0}`)
	}
	sb.WriteString("]}")
	if _, err := decodeOutput([]byte(sb.String()), ProfileV1()); !errors.Is(err, ErrBadOutput) {
		t.Fatalf("%d lines: err = %v, want ErrBadOutput", ProfileV1().MaxLines+1, err)
	}
}

func TestDecodeOutputStrictness(t *testing.T) {
	tests := []struct{ name, out, msg string }{
		{"duplicate key", `{"total":0,"total":0,"currency":"CNY","scale":2,"lines":[]}`, "duplicate"},
		{"null total", `{"total":null,"currency":"CNY","scale":2,"lines":[]}`, "want an integer"},
		{"leading zero", `{"total":01,"currency":"CNY","scale":2,"lines":[]}`, "leading zero"},
		{"plus sign", `{"total":+1,"currency":"CNY","scale":2,"lines":[]}`, "want an integer"},
		{"invalid utf-8", "{\"total\":0,\"currency\":\"CNY\",\"scale\":2,\"lines\":[],\"error\":{\"code\":\"\xff\"}}", "UTF-8"},
		{"unpaired surrogate", `{"error":{"code":"x\ud800"}}`, "surrogate"},
		{"control char", "{\"error\":{\"code\":\"a\nb\"}}", "control character"},
		{"unterminated", `{"error":{"code":"abc`, "unterminated"},
		{"trailing comma", `{"total":0,}`, "want a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeOutput([]byte(tt.out), ProfileV1())
			if !errors.Is(err, ErrBadOutput) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err = %v, want ErrBadOutput mentioning %q", err, tt.msg)
			}
		})
	}
	// Escapes decode as JSON says.
	_, err := decodeOutput([]byte(`{"error":{"code":"a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00","message":"m"}}`), ProfileV1())
	var re *RuleError
	if !errors.As(err, &re) || re.Code != "a\"\\/\b\f\n\r\t\u00e9\U0001F600" {
		t.Fatalf("escapes: err = %v, code %q", err, re)
	}
}

// referenceDecode is the output check written with encoding/json: the oracle
// for FuzzDecodeOutput.
func referenceDecode(out []byte) (*Bill, bool) {
	var w struct {
		Total    *int64     `json:"total"`
		Currency *string    `json:"currency"`
		Scale    *int       `json:"scale"`
		Lines    []Line     `json:"lines"`
		Error    *RuleError `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.DisallowUnknownFields()
	if dec.Decode(&w) != nil || dec.More() {
		return nil, false
	}
	if w.Error != nil || w.Total == nil || w.Currency == nil || w.Scale == nil {
		return nil, false
	}
	return &Bill{Total: *w.Total, Currency: *w.Currency, Scale: *w.Scale, Lines: w.Lines}, true
}

// FuzzDecodeOutput: the strict parser never panics, and every bill it accepts
// encoding/json reads the same way.
//
//	go test -run '^$' -fuzz FuzzDecodeOutput -fuzztime 60s ./host/
func FuzzDecodeOutput(f *testing.F) {
	f.Add([]byte(`{"total":300,"currency":"CNY","scale":2,"lines":[{"item":"a","amount":100},{"item":"b","quantity":2,"unit":"h","unit_price":100,"amount":200}]}`))
	f.Add([]byte(`{"error":{"code":"missing_price","message":"no price for vcpu_hour"}}`))
	f.Add([]byte(` { "total" : 0 , "currency" : "EUR" , "scale" : 0 , "lines" : [ ] } `))
	f.Fuzz(func(t *testing.T, out []byte) {
		got, err := decodeOutput(out, ProfileV1())
		if err != nil {
			if !errors.Is(err, ErrBadOutput) && !errors.Is(err, ErrRule) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		want, ok := referenceDecode(out)
		if !ok {
			t.Fatalf("accepted %q, which encoding/json refuses", out)
		}
		if got.Total != want.Total || got.Currency != want.Currency || got.Scale != want.Scale || len(got.Lines) != len(want.Lines) {
			t.Fatalf("got %+v, encoding/json %+v", got, want)
		}
		for i := range got.Lines {
			if got.Lines[i] != want.Lines[i] {
				t.Fatalf("line %d: got %+v, encoding/json %+v", i, got.Lines[i], want.Lines[i])
			}
		}
	})
}

func BenchmarkDecodeOutput(b *testing.B) {
	out := []byte(`{"total":4344,"currency":"CNY","scale":2,"lines":[{"item":"vcpu","quantity":172800,"unit":"vcpu_second","amount":576},{"item":"memory","quantity":345600,"unit":"gib_second","amount":288},{"item":"system_disk","quantity":3456000,"unit":"gib_second","amount":960},{"item":"data_disk","quantity":8640000,"unit":"gib_second","amount":2400},{"item":"public_ip","quantity":86400,"unit":"ip_second","amount":120}]}`)
	for i := 0; i < b.N; i++ {
		if _, err := decodeOutput(out, ProfileV1()); err != nil {
			b.Fatal(err)
		}
	}
}
