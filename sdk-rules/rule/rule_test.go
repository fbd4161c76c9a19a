package rule

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/fedmeter/fedmeter/sdk-rules/money"
)

func decode(t *testing.T, s string) *Input {
	t.Helper()
	in, err := DecodeInput([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func code(err error) string {
	if err == nil {
		return ""
	}
	return ErrorCode(err)
}

func TestHelpers(t *testing.T) {
	in := decode(t, `{`+minimal+`,"price":{"unit_prices":{"a":5,"neg":-1}},`+
		`"resource":{"spec":{"vcpu":2,"bad":-3}},"usage":{"x":7,"y":-1}}`)
	checks := []struct {
		name string
		v    int64
		err  error
		want int64
		code string
	}{}
	add := func(name string, v int64, err error, want int64, code string) {
		checks = append(checks, struct {
			name string
			v    int64
			err  error
			want int64
			code string
		}{name, v, err, want, code})
	}
	v, err := in.UnitPrice("a")
	add("price a", v, err, 5, "")
	v, err = in.UnitPrice("b")
	add("price b", v, err, 0, CodeMissingPrice)
	v, err = in.UnitPrice("neg")
	add("price neg", v, err, 0, CodeNegativePrice)
	v, err = in.Metric("x")
	add("metric x", v, err, 7, "")
	v, err = in.Metric("absent")
	add("metric absent", v, err, 0, "")
	v, err = in.Metric("y")
	add("metric y", v, err, 0, CodeNegativeQuantity)
	v, err = in.Spec("vcpu")
	add("spec vcpu", v, err, 2, "")
	v, err = in.Spec("bad")
	add("spec bad", v, err, 0, CodeNegativeQuantity)
	v, err = in.Seconds()
	add("seconds", v, err, 1, "")
	for _, c := range checks {
		if c.v != c.want || code(c.err) != c.code {
			t.Errorf("%s = %d, %v; want %d, code %q", c.name, c.v, c.err, c.want, c.code)
		}
	}
	if v, ok, err := in.OptionalUnitPrice("absent"); v != 0 || ok || err != nil {
		t.Errorf("OptionalUnitPrice(absent) = %d, %v, %v", v, ok, err)
	}
	if v, ok, err := in.OptionalUnitPrice("a"); v != 5 || !ok || err != nil {
		t.Errorf("OptionalUnitPrice(a) = %d, %v, %v", v, ok, err)
	}
	if _, ok, err := in.OptionalUnitPrice("neg"); ok || code(err) != CodeNegativePrice {
		t.Errorf("OptionalUnitPrice(neg) = %v, %v", ok, err)
	}
	if err := in.KnownMetrics("x", "y"); err != nil {
		t.Error(err)
	}
	if err := in.KnownMetrics("x"); code(err) != CodeUnknownMetric || !strings.Contains(err.Error(), `"y"`) {
		t.Errorf("KnownMetrics(x) = %v", err)
	}
	if err := in.KnownSpec("vcpu"); code(err) != CodeUnknownSpec || !strings.Contains(err.Error(), `"bad"`) {
		t.Errorf("KnownSpec(vcpu) = %v", err)
	}
	for _, p := range []Period{{2, 2}, {3, 2}, {-1 << 63, 1<<63 - 1}} {
		in.Period = p
		if _, err := in.Seconds(); code(err) != CodeBadPeriod {
			t.Errorf("Seconds(%v) = %v, want bad_period", p, err)
		}
	}
}

func TestTiers(t *testing.T) {
	prices := func(s string) *Input { return decode(t, `{`+minimal+`,"price":{"unit_prices":{`+s+`}}}`) }
	tests := []struct {
		prices string
		want   []money.Tier
		code   string
	}{
		{`"tier1_gib":5`, []money.Tier{{UpTo: money.Unbounded, Price: 5}}, ""},
		{`"tier1_gib":5,"tier1_upto_gib":10,"tier2_gib":3,"other":1,"tier1_mib":9`,
			[]money.Tier{{UpTo: 10 * 1024, Price: 5}, {UpTo: money.Unbounded, Price: 3}}, ""},
		{`"tier2_gib":5`, nil, CodeMissingPrice},
		{`"tier1_gib":5,"tier1_upto_gib":10,"tier3_gib":3`, nil, CodeBadPriceBook},
		{`"tier1_gib":5,"tier2_gib":3`, nil, CodeBadPriceBook},
		{`"tier1_gib":5,"tier1_upto_gib":10`, nil, CodeBadPriceBook},
		{`"tier1_gib":5,"tier1_upto_gib":0,"tier2_gib":3`, nil, CodeBadPriceBook},
		{`"tier1_gib":5,"tier1_upto_gib":10,"tier2_gib":3,"tier2_upto_gib":10,"tier3_gib":1`, nil, CodeBadPriceBook},
		{`"tier1_gib":-5`, nil, CodeNegativePrice},
		{`"tier1_gib":5,"tier01_gib":5`, nil, CodeBadPriceBook},
		{`"tier1_gib":5,"tier33_gib":5`, nil, CodeBadPriceBook},
		{`"tier1_gib":5,"tier99999999999999999999_gib":5`, nil, CodeBadPriceBook},
		{`"tier1_gib":5,"tier1_upto_gib":9223372036854775807,"tier2_gib":1`, nil, CodeOverflow},
	}
	for _, tt := range tests {
		got, err := prices(tt.prices).Tiers("gib", 1024)
		if code(err) != tt.code || fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("Tiers(%s) = %v, %v; want %v, code %q", tt.prices, got, err, tt.want, tt.code)
		}
	}
	if _, err := prices(`"tier1_gib":5`).Tiers("gib", 0); code(err) != CodeBadPriceBook {
		t.Errorf("Tiers per 0: %v", err)
	}
}

func TestErrorCode(t *testing.T) {
	_, merr := money.Mul(1<<62, 4)
	tests := []struct {
		err  error
		code string
		msg  string
	}{
		{NewError("x_y", "m"), "x_y", "m"},
		{errors.New("plain"), CodeRuleError, "plain"},
		{merr, CodeOverflow, "4611686018427387904 × 4 overflows int64"},
		{fmt.Errorf("vcpu: %w", merr), CodeOverflow, "vcpu: 4611686018427387904 × 4 overflows int64"},
		{Wrap(merr, "vcpu"), CodeOverflow, "vcpu: 4611686018427387904 × 4 overflows int64"},
		{Wrap(errors.New("e"), "ctx"), CodeRuleError, "ctx: e"},
		{&Error{Message: "no code"}, CodeRuleError, "no code"},
	}
	for _, tt := range tests {
		if got := ErrorCode(tt.err); got != tt.code || tt.err.Error() != tt.msg {
			t.Errorf("ErrorCode(%v) = %q (message %q), want %q, %q", tt.err, got, tt.err.Error(), tt.code, tt.msg)
		}
	}
	if Wrap(nil, "x") != nil {
		t.Error("Wrap(nil) is not nil")
	}
}

func TestRun(t *testing.T) {
	input := []byte(`{` + minimal + `}`)
	tests := []struct {
		name string
		fn   Func
		in   []byte
		want string
	}{
		{"no rule", nil, input, `{"error":{"code":"no_rule","message":"the module has no rule: call rule.Register in its main package"}}`},
		{"bad input", func(*Input) (*Bill, error) { panic("not called") }, []byte(`{`),
			`{"error":{"code":"bad_input","message":"input: expected a key string, found the end of the input (at byte 1)"}}`},
		{"nil bill", func(*Input) (*Bill, error) { return nil, nil }, input,
			`{"error":{"code":"invalid_bill","message":"the rule returned neither a bill nor an error"}}`},
		{"empty bill", func(in *Input) (*Bill, error) { return NewBill(in), nil }, input,
			`{"total":0,"currency":"CNY","scale":2,"lines":[]}`},
		{"lines", func(in *Input) (*Bill, error) {
			b := NewBill(in)
			b.Add(Line{Item: "a", Quantity: 2, Unit: "u", UnitPrice: 3, Amount: 6})
			b.Add(Line{Item: "discount", Amount: -1})
			b.Add(Line{Item: "q\"\n\x01\xff", Amount: 0})
			return b, nil
		}, input, `{"total":5,"currency":"CNY","scale":2,"lines":[{"item":"a","quantity":2,"unit":"u","unit_price":3,"amount":6},` +
			`{"item":"discount","amount":-1},{"item":"q\"\n\u0001\ufffd","amount":0}]}`},
		{"sum mismatch", func(in *Input) (*Bill, error) {
			return &Bill{Total: 5, Currency: "CNY", Scale: 2, Lines: []Line{{Item: "a", Amount: 4}}}, nil
		}, input, `{"error":{"code":"invalid_bill","message":"bill line amounts sum to 4, not to the total 5"}}`},
		{"negative total", func(in *Input) (*Bill, error) {
			b := NewBill(in)
			b.Add(Line{Item: "a", Amount: -4})
			return b, nil
		}, input, `{"error":{"code":"invalid_bill","message":"bill total -4 is negative"}}`},
		{"empty item", func(in *Input) (*Bill, error) {
			b := NewBill(in)
			b.Add(Line{Amount: 4})
			return b, nil
		}, input, `{"error":{"code":"invalid_bill","message":"bill line 1 has no item"}}`},
		{"bad currency", func(in *Input) (*Bill, error) { return &Bill{Currency: "x"}, nil }, input,
			`{"error":{"code":"invalid_bill","message":"bill currency \"x\" is not 1 to 8 upper-case letters"}}`},
		{"bad scale", func(in *Input) (*Bill, error) { return &Bill{Currency: "X", Scale: 19}, nil }, input,
			`{"error":{"code":"invalid_bill","message":"bill scale 19 is not between 0 and 18"}}`},
		{"too many lines", func(in *Input) (*Bill, error) {
			b := NewBill(in)
			for i := 0; i <= MaxLines; i++ {
				b.Add(Line{Item: "a"})
			}
			return b, nil
		}, input, `{"error":{"code":"invalid_bill","message":"bill has 1001 lines, more than 1000"}}`},
		{"wrapped money error", func(in *Input) (*Bill, error) {
			_, err := money.Mul(1<<62, 4)
			return nil, fmt.Errorf("vcpu: %w", err)
		}, input, `{"error":{"code":"overflow","message":"vcpu: 4611686018427387904 × 4 overflows int64"}}`},
		{"plain error", func(in *Input) (*Bill, error) { return nil, errors.New("no") }, input,
			`{"error":{"code":"rule_error","message":"no"}}`},
	}
	for _, tt := range tests {
		if got := string(Run(tt.fn, tt.in)); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}

func TestBillAddOverflow(t *testing.T) {
	b := &Bill{Currency: "X"}
	if err := b.Add(Line{Item: "a", Amount: 1<<63 - 1}); err != nil {
		t.Fatal(err)
	}
	if err := b.Add(Line{Item: "b", Amount: 1}); code(err) != CodeOverflow {
		t.Fatalf("Add past int64: %v", err)
	}
	if len(b.Lines) != 1 || b.Total != 1<<63-1 {
		t.Fatalf("a failed Add changed the bill: %+v", b)
	}
}

func TestRegister(t *testing.T) {
	defer Register(nil)
	fn := func(*Input) (*Bill, error) { return nil, nil }
	Register(fn)
	if Registered() == nil {
		t.Fatal("Registered() is nil after Register")
	}
}
