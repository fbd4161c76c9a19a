package rule

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

const seedInput = `{"abi":1,"currency":"CNY","period":{"end":1767312000,"start":1767225600},` +
	`"price":{"effective_from":1767225600,"unit_prices":{"memory_gib_hour":3,"vcpu_hour":12}},` +
	`"quota":{"memory_gib":40,"vcpu":10},"resource":{"attributes":{"zone":"bj-1"},"consumer":"Org2MSP",` +
	`"id":"res-1","provider":"Org1MSP","spec":{"memory_gib":4,"vcpu":2},"type":"ecs"},"scale":2,` +
	`"tx":{"id":"f1e2","time":1767312000},"usage":{"egress_bytes":1073741824}}`

func TestDecodeSeed(t *testing.T) {
	in, err := DecodeInput([]byte(seedInput))
	if err != nil {
		t.Fatal(err)
	}
	want := &Input{
		ABI: 1, Currency: "CNY", Scale: 2,
		Period: Period{Start: 1767225600, End: 1767312000},
		Price: PriceBook{EffectiveFrom: 1767225600,
			UnitPrices: Quantities{{"memory_gib_hour", 3}, {"vcpu_hour", 12}}},
		Quota: Quantities{{"memory_gib", 40}, {"vcpu", 10}},
		Resource: Resource{ID: "res-1", Type: "ecs", Provider: "Org1MSP", Consumer: "Org2MSP",
			Spec: Quantities{{"memory_gib", 4}, {"vcpu", 2}}, Attributes: Attributes{{"zone", "bj-1"}}},
		Tx:    Tx{ID: "f1e2", Time: 1767312000},
		Usage: Quantities{{"egress_bytes", 1073741824}},
	}
	if !reflect.DeepEqual(in, want) {
		t.Fatalf("decoded\n%+v\nwant\n%+v", in, want)
	}
	// The canonical encoding of the seed is the seed.
	if got := AppendInput(nil, in); string(got) != seedInput {
		t.Fatalf("AppendInput:\n%s\nwant\n%s", got, seedInput)
	}
}

const minimal = `"abi":1,"currency":"CNY","scale":2,"period":{"start":1,"end":2}`

func TestDecodeAccepts(t *testing.T) {
	tests := []struct {
		name, input string
		check       func(*Input) bool
	}{
		{"minimal", "{" + minimal + "}", func(in *Input) bool { return in.Period.End == 2 && in.Usage == nil }},
		{"white space", " \t\n{ \"abi\" : 1 , \"currency\":\"USD\", \"scale\" :0,\"period\":{ \"start\":1 ,\"end\":2 } }\r\n",
			func(in *Input) bool { return in.Currency == "USD" }},
		{"unknown fields skipped", `{"x":[1,2.5e-3,{"y":[true,false,null,"\"}"]}],` + minimal + `,"z":{},"w":[]}`,
			func(in *Input) bool { return in.ABI == 1 }},
		{"unsorted map sorted", `{` + minimal + `,"usage":{"b":2,"a":1,"c":3}}`,
			func(in *Input) bool {
				return reflect.DeepEqual(in.Usage, Quantities{{"a", 1}, {"b", 2}, {"c", 3}})
			}},
		{"escapes", `{` + minimal + `,"resource":{"id":"a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00"}}`,
			func(in *Input) bool { return in.Resource.ID == "a\"b\\c/d\b\f\n\r\t\u00e9\U0001F600" }},
		{"utf-8", `{` + minimal + `,"resource":{"attributes":{"区域":"北京"}}}`,
			func(in *Input) bool { v, _ := in.Resource.Attributes.Get("区域"); return v == "北京" }},
		{"int64 range", `{` + minimal + `,"usage":{"max":9223372036854775807,"min":-9223372036854775808,"zero":-0}}`,
			func(in *Input) bool {
				a, _ := in.Usage.Get("max")
				b, _ := in.Usage.Get("min")
				return a == 1<<63-1 && b == -1<<63
			}},
		{"empty maps", `{` + minimal + `,"usage":{},"quota":{},"price":{"unit_prices":{}}}`,
			func(in *Input) bool { return len(in.Usage) == 0 }},
	}
	for _, tt := range tests {
		in, err := DecodeInput([]byte(tt.input))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if !tt.check(in) {
			t.Errorf("%s: decoded %+v", tt.name, in)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	tests := []struct {
		name, input, code, msg string
	}{
		{"empty", ``, CodeBadInput, "input: expected an object, found the end of the input (at byte 0)"},
		{"not an object", `[]`, CodeBadInput, "expected an object, found an array"},
		{"trailing data", `{` + minimal + `} {}`, CodeBadInput, "unexpected data after the input object"},
		{"fraction", `{` + minimal + `,"usage":{"x":1.0}}`, CodeBadInput, "input.usage.x: number is not an integer"},
		{"exponent", `{` + minimal + `,"usage":{"x":1e3}}`, CodeBadInput, "input.usage.x: number is not an integer"},
		{"too big", `{` + minimal + `,"usage":{"x":9223372036854775808}}`, CodeBadInput, "integer 9223372036854775808 is above the int64 maximum"},
		{"too small", `{` + minimal + `,"usage":{"x":-9223372036854775809}}`, CodeBadInput, "integer -9223372036854775809 is below the int64 minimum"},
		{"way too big", `{` + minimal + `,"usage":{"x":123456789012345678901234567890}}`, CodeBadInput, "above the int64 maximum"},
		{"leading zero", `{` + minimal + `,"usage":{"x":01}}`, CodeBadInput, "leading zero"},
		{"plus sign", `{` + minimal + `,"usage":{"x":+1}}`, CodeBadInput, "expected an integer, found the character '+'"},
		{"string number", `{` + minimal + `,"usage":{"x":"1"}}`, CodeBadInput, "input.usage.x: expected an integer, found a string"},
		{"null map", `{` + minimal + `,"usage":null}`, CodeBadInput, "input.usage: expected an object, found null"},
		{"duplicate field", `{` + minimal + `,"scale":2}`, CodeBadInput, "input.scale: duplicate key"},
		{"duplicate map key", `{` + minimal + `,"usage":{"a":1,"a":2}}`, CodeBadInput, `input.usage: duplicate key "a"`},
		{"duplicate attribute", `{` + minimal + `,"resource":{"attributes":{"a":"1","a":"2"}}}`, CodeBadInput, `duplicate key "a"`},
		{"missing abi", `{"currency":"CNY","scale":2,"period":{"start":1,"end":2}}`, CodeBadInput, `missing required field "abi"`},
		{"missing period end", `{"abi":1,"currency":"CNY","scale":2,"period":{"start":1}}`, CodeBadInput, `input.period: missing required field "end"`},
		{"abi 2", `{"abi":2}`, CodeUnsupportedABI, "input is ABI version 2; this rule speaks ABI 1"},
		{"bad currency", `{"abi":1,"currency":"cny"}`, CodeBadInput, `input.currency: "cny" is not 1 to 8 upper-case letters`},
		{"long currency", `{"abi":1,"currency":"ABCDEFGHI"}`, CodeBadInput, `is not 1 to 8 upper-case letters`},
		{"bad scale", `{"abi":1,"scale":19}`, CodeBadInput, `input.scale: 19 is not between 0 and 18`},
		{"negative scale", `{"abi":1,"scale":-1}`, CodeBadInput, `input.scale: -1 is not between 0 and 18`},
		{"unterminated string", `{"abi":1,"currency":"CN`, CodeBadInput, "unterminated string"},
		{"control char", "{\"abi\":1,\"currency\":\"C\nY\"}", CodeBadInput, "control character in a string"},
		{"bad escape", `{"abi":1,"currency":"\x"}`, CodeBadInput, `invalid escape 'x' in a string`},
		{"bad unicode escape", `{"abi":1,"currency":"\u12"}`, CodeBadInput, `invalid \u escape`},
		{"lone high surrogate", `{"abi":1,"currency":"\ud83d"}`, CodeBadInput, `lone surrogate`},
		{"lone low surrogate", `{"abi":1,"currency":"\ude00"}`, CodeBadInput, `lone surrogate`},
		{"bad pair", `{"abi":1,"currency":"\ud83d\u0041"}`, CodeBadInput, `lone surrogate`},
		{"invalid utf-8", "{\"abi\":1,\"currency\":\"\xff\"}", CodeBadInput, "not valid UTF-8"},
		{"invalid utf-8 escaped", "{\"abi\":1,\"currency\":\"\\n\xff\"}", CodeBadInput, "not valid UTF-8"},
		{"missing colon", `{"abi" 1}`, CodeBadInput, "expected ':' after a key"},
		{"missing comma", `{"abi":1 "scale":2}`, CodeBadInput, "expected ',' or '}' in an object"},
		{"trailing comma", `{"abi":1,}`, CodeBadInput, "expected a key string"},
		{"unterminated object", `{"abi":1`, CodeBadInput, "unterminated object"},
		{"bad literal in unknown", `{"x":tru}`, CodeBadInput, "input.x: invalid literal"},
		{"bad number in unknown", `{"x":1.}`, CodeBadInput, "input.x: invalid number"},
		{"bad number in unknown 2", `{"x":-}`, CodeBadInput, "input.x: invalid number"},
		{"bad exponent in unknown", `{"x":1e}`, CodeBadInput, "input.x: invalid number"},
		{"unclosed array in unknown", `{"x":[1,2}`, CodeBadInput, "input.x: expected ',' or ']'"},
		{"bad key in unknown", `{"x":{1:2}}`, CodeBadInput, "input.x: expected a key string"},
		{"deep unknown", `{"x":` + strings.Repeat("[", 65) + strings.Repeat("]", 65) + `}`, CodeBadInput, "nests deeper than 64 levels"},
		{"truncated unknown", `{"x":[`, CodeBadInput, "unexpected end of the input"},
	}
	for _, tt := range tests {
		in, err := DecodeInput([]byte(tt.input))
		if err == nil {
			t.Errorf("%s: decoded %+v, want an error", tt.name, in)
			continue
		}
		var e *Error
		if !errors.As(err, &e) || e.Code != tt.code || !strings.Contains(e.Message, tt.msg) {
			t.Errorf("%s: error %T %v, want code %s containing %q", tt.name, err, err, tt.code, tt.msg)
		}
	}
}

func TestDecodeDeepUnknownAllowed(t *testing.T) {
	in := `{"x":` + strings.Repeat(`{"a":[`, 32) + strings.Repeat(`]}`, 32) + `,` + minimal + `}`
	if _, err := DecodeInput([]byte(in)); err != nil {
		t.Fatal(err)
	}
}

// TestDecodeAgreesWithEncodingJSON decodes the same inputs with encoding/json
// (as a reference for escapes and numbers).
func TestDecodeAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range []string{"plain", `a\"b`, `\u0000\u001f`, `\u00e9\u4e2d`, `\ud834\udd1e`, `\/\b\f\n\r\t`} {
		input := `{` + minimal + `,"resource":{"id":"` + s + `"}}`
		in, err := DecodeInput([]byte(input))
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		var ref struct {
			Resource struct{ ID string } `json:"resource"`
		}
		if err := json.Unmarshal([]byte(input), &ref); err != nil {
			t.Fatal(err)
		}
		if in.Resource.ID != ref.Resource.ID {
			t.Errorf("%s: got %q, encoding/json %q", s, in.Resource.ID, ref.Resource.ID)
		}
	}
}

func TestDecodeAllocs(t *testing.T) {
	data := []byte(seedInput)
	n := testing.AllocsPerRun(100, func() {
		if _, err := DecodeInput(data); err != nil {
			t.Fatal(err)
		}
	})
	// The input copy, the arena, the Input, the attributes.
	if n > 4 {
		t.Errorf("DecodeInput allocates %v times per call, want at most 4", n)
	}
}

// FuzzDecodeInput: DecodeInput never panics, errors are *Error with a code,
// and whatever it accepts survives a round trip through AppendInput.
func FuzzDecodeInput(f *testing.F) {
	f.Add([]byte(seedInput))
	f.Add([]byte(`{` + minimal + `}`))
	f.Add([]byte(`{"x":[1,2.5e-3,{"y":[true,false,null,"\"}"]}],` + minimal + `}`))
	f.Add([]byte(`{` + minimal + `,"resource":{"id":"a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00"}}`))
	f.Add([]byte(`{` + minimal + `,"usage":{"b":2,"a":-9223372036854775808}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := DecodeInput(data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code == "" || e.Message == "" {
				t.Fatalf("error %T %v is not a rule error with a code and message", err, err)
			}
			return
		}
		enc := AppendInput(nil, in)
		if !json.Valid(enc) {
			t.Fatalf("AppendInput gave invalid JSON: %s", enc)
		}
		back, err := DecodeInput(enc)
		if err != nil {
			t.Fatalf("re-decoding %s: %v", enc, err)
		}
		if !reflect.DeepEqual(normalize(in), normalize(back)) {
			t.Fatalf("round trip differs:\n%+v\n%+v", in, back)
		}
		if again := AppendInput(nil, back); !bytes.Equal(again, enc) {
			t.Fatalf("encoding is not canonical:\n%s\n%s", enc, again)
		}
	})
}

// normalize maps empty slices to nil, since an absent map and {} decode
// alike.
func normalize(in *Input) Input {
	c := *in
	if len(c.Quota) == 0 {
		c.Quota = nil
	}
	if len(c.Usage) == 0 {
		c.Usage = nil
	}
	if len(c.Price.UnitPrices) == 0 {
		c.Price.UnitPrices = nil
	}
	if len(c.Resource.Spec) == 0 {
		c.Resource.Spec = nil
	}
	if len(c.Resource.Attributes) == 0 {
		c.Resource.Attributes = nil
	}
	return c
}
