package host

import (
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
			b, err := decodeOutput([]byte(tt.out), ProfileV1)
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
	for i := 0; i <= ProfileV1.MaxLines; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(`{"item":"x","amount":0}`)
	}
	sb.WriteString("]}")
	if _, err := decodeOutput([]byte(sb.String()), ProfileV1); !errors.Is(err, ErrBadOutput) {
		t.Fatalf("%d lines: err = %v, want ErrBadOutput", ProfileV1.MaxLines+1, err)
	}
}
