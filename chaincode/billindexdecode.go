package chaincode

import (
	"encoding/json"
	"math"
)

// decodeBillIndex decodes a bill index value. Totals read one per bill
// (100,000 for a console's year of a big consortium), and encoding/json
// spent three quarters of such a read on them, so the exact form this
// contract writes (putJSON of billIndex: {"currency":"…","scale":N,
// "amount":N}) is read by hand; anything else (another field order,
// spaces, escapes, a number json reads differently) goes to
// encoding/json, so the result is always json.Unmarshal's
// (FuzzDecodeBillIndex holds the two together).
func decodeBillIndex(v []byte) (billIndex, error) {
	if ix, ok := fastBillIndex(v); ok {
		return ix, nil
	}
	var ix billIndex
	err := json.Unmarshal(v, &ix)
	return ix, err
}

// fastBillIndex parses v if it is exactly
// {"currency":"<letters or digits>","scale":<int>,"amount":<int>}.
// It reads the bytes in place: the currency is its one allocation.
func fastBillIndex(v []byte) (billIndex, bool) {
	var ix billIndex
	const p1, p2, p3 = `{"currency":"`, `","scale":`, `,"amount":`
	if !hasPrefix(v, p1) {
		return ix, false
	}
	v = v[len(p1):]
	i := 0
	for i < len(v) && (v[i] >= 'A' && v[i] <= 'Z' || v[i] >= 'a' && v[i] <= 'z' || v[i] >= '0' && v[i] <= '9') {
		i++
	}
	cur := v[:i]
	if v = v[i:]; !hasPrefix(v, p2) {
		return ix, false
	}
	scale, v, ok := readJSONInt(v[len(p2):])
	if !ok || scale != int64(int(scale)) || !hasPrefix(v, p3) {
		return ix, false
	}
	if ix.Amount, v, ok = readJSONInt(v[len(p3):]); !ok || len(v) != 1 || v[0] != '}' {
		return ix, false
	}
	ix.Currency, ix.Scale = string(cur), int(scale)
	return ix, true
}

func hasPrefix(v []byte, p string) bool { return len(v) >= len(p) && string(v[:len(p)]) == p }

// readJSONInt reads an integer as json.Marshal writes it (0, or
// -?[1-9][0-9]*) that fits an int64 at the start of v, and returns the
// rest.
func readJSONInt(v []byte) (int64, []byte, bool) {
	neg := len(v) > 0 && v[0] == '-'
	i := 0
	if neg {
		i++
	}
	d := i
	var n uint64
	for i < len(v) && v[i] >= '0' && v[i] <= '9' {
		if i-d >= 19 { // 20 digits and more overflow an int64
			return 0, v, false
		}
		n = n*10 + uint64(v[i]-'0')
		i++
	}
	if i == d || (v[d] == '0' && (i > d+1 || neg)) {
		return 0, v, false
	}
	switch {
	case !neg && n <= math.MaxInt64:
		return int64(n), v[i:], true
	case neg && n <= math.MaxInt64+1:
		return int64(-n), v[i:], true
	}
	return 0, v, false
}
