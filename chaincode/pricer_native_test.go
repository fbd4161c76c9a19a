package chaincode

import (
	"context"
	"encoding/json"
	"fmt"
	"math/bits"

	"github.com/fedmeter/fedmeter/host"
)

// nativePricer is testdata/ecs_hourly.wat's formula in Go: the same bill for
// the same input, without Wasm. Plugged in with WithPricer, it is the
// benchmark's baseline and the differential tests' reference.
type nativePricer struct{}

type nativeInput struct {
	Currency string `json:"currency"`
	Scale    int    `json:"scale"`
	Period   struct {
		Start int64 `json:"start"`
		End   int64 `json:"end"`
	} `json:"period"`
	Price struct {
		UnitPrices map[string]int64 `json:"unit_prices"`
	} `json:"price"`
	Resource struct {
		Spec map[string]int64 `json:"spec"`
	} `json:"resource"`
	Usage map[string]int64 `json:"usage"`
}

var nativeItems = [...]struct{ spec, price, item string }{
	{"vcpu", "vcpu_hour", "vcpu"},
	{"memory_gib", "memory_gib_hour", "memory"},
	{"system_disk_gib", "disk_gib_hour", "system_disk"},
	{"data_disk_gib", "disk_gib_hour", "data_disk"},
	{"public_ips", "public_ip_hour", "public_ip"},
}

func mulChecked(a, b int64) (int64, bool) {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	return int64(lo), hi == 0 && lo <= 1<<63-1
}

func (nativePricer) Price(ctx context.Context, rule *Rule, code func() ([]byte, error), call host.Call) (*host.Result, error) {
	var in nativeInput
	if err := json.Unmarshal(call.Input, &in); err != nil {
		return nil, err
	}
	ruleErr := func(code, msg string) (*host.Result, error) {
		return &host.Result{}, &host.RuleError{Code: code, Message: msg}
	}
	secs := in.Period.End - in.Period.Start
	if secs <= 0 {
		return ruleErr("bad_period", "period must end after it starts")
	}
	hours := (secs + 3599) / 3600
	bill := host.Bill{Currency: in.Currency, Scale: in.Scale, Lines: []host.Line{}}
	add := func(item, unit string, q int64) (*host.Result, error) {
		p, ok := in.Price.UnitPrices[unit]
		if !ok {
			return ruleErr("missing_price", "no unit price for "+unit)
		}
		a, ok1 := mulChecked(q, p)
		t, ok2 := bill.Total+a, bill.Total <= 1<<63-1-a
		if !ok1 || !ok2 {
			return ruleErr("overflow", "an amount exceeds int64")
		}
		bill.Total = t
		bill.Lines = append(bill.Lines, host.Line{Item: item, Quantity: q, Unit: unit, UnitPrice: p, Amount: a})
		return nil, nil
	}
	for _, it := range nativeItems {
		size := in.Resource.Spec[it.spec]
		if size <= 0 {
			continue
		}
		q, ok := mulChecked(size, hours)
		if !ok {
			return ruleErr("overflow", "an amount exceeds int64")
		}
		if r, err := add(it.item, it.price, q); err != nil {
			return r, err
		}
	}
	if q := in.Usage["egress_gib"]; q > 0 {
		if r, err := add("egress", "egress_gib", q); err != nil {
			return r, err
		}
	}
	out, err := json.Marshal(bill)
	if err != nil {
		return nil, fmt.Errorf("native pricer: %v", err)
	}
	return &host.Result{Bill: bill, Output: out}, nil
}
