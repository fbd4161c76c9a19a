package chaincode

import (
	"encoding/json"
	"testing"
)

// FuzzDecodeBillIndex: whatever the bytes, decodeBillIndex agrees with
// encoding/json (the same value, or both refuse), and the hand-read form
// is what the contract writes.
func FuzzDecodeBillIndex(f *testing.F) {
	for _, ix := range []billIndex{{"CNY", 2, 1000}, {"EUR", 0, -5}, {"", 0, 0}, {"USD", 18, 9223372036854775807}} {
		b, _ := json.Marshal(ix)
		f.Add(b)
	}
	for _, s := range []string{`{"currency":"CNY","scale":2,"amount":01}`, `{"currency":"CNY","scale":2,"amount":1e3}`,
		`{"currency":"C\u004eY","scale":2,"amount":1}`, `{"amount":1,"currency":"CNY","scale":2}`, `{"currency":"CNY","scale":2,"amount":-0}`,
		`{"currency":"CNY","scale":2,"amount":9223372036854775808}`, `{"currency":"CNY","scale":2,"amount":1} `, `{"currency":"CNY","scale":2,"amount":}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		var want billIndex
		wantErr := json.Unmarshal(v, &want)
		got, err := decodeBillIndex(v)
		if (err == nil) != (wantErr == nil) || (err == nil && got != want) {
			t.Fatalf("%q: decoded %+v, %v; encoding/json %+v, %v", v, got, err, want, wantErr)
		}
		if ix, ok := fastBillIndex(v); ok {
			b, _ := json.Marshal(ix)
			if string(b) != string(v) {
				t.Fatalf("%q read by hand, but the contract would write %s", v, b)
			}
		}
	})
}

// The contract's own index values take the hand-read path.
func TestBillIndexFastPath(t *testing.T) {
	for _, ix := range []billIndex{{"CNY", 2, 1000}, {"EUR", 0, -5}, {"USD", 18, -9223372036854775808}} {
		b, _ := json.Marshal(ix)
		if got, ok := fastBillIndex(b); !ok || got != ix {
			t.Fatalf("%s: fast path %+v, %v", b, got, ok)
		}
	}
}
