package model

import (
	"encoding/json"
	"errors"
)

// The rule input of ABI v1 (host/ABI.md). Struct fields are declared in key
// order and maps are sorted by encoding/json, so the keys come out sorted.
type ruleInput struct {
	ABI      int              `json:"abi"`
	Currency string           `json:"currency"`
	Period   Period           `json:"period"`
	Price    inputPrice       `json:"price"`
	Quota    map[string]int64 `json:"quota"`
	Resource inputResource    `json:"resource"`
	Scale    int              `json:"scale"`
	Tx       inputTx          `json:"tx"`
	Usage    map[string]int64 `json:"usage"`
}

type inputPrice struct {
	EffectiveFrom int64            `json:"effective_from"`
	UnitPrices    map[string]int64 `json:"unit_prices"`
}

type inputResource struct {
	Attributes map[string]string `json:"attributes"`
	Consumer   string            `json:"consumer"`
	ID         string            `json:"id"`
	Provider   string            `json:"provider"`
	Spec       map[string]int64  `json:"spec"`
	Type       string            `json:"type"`
}

type inputTx struct {
	ID   string `json:"id"`
	Time int64  `json:"time"`
}

func nonNil[V any](m map[string]V) map[string]V {
	if m == nil {
		return map[string]V{}
	}
	return m
}

// EncodeInput is the ABI v1 rule input (host/ABI.md) for resource r billed
// over (start, end] with the price entry in force at start, the quota
// limits and the usage sums (UsageSums), in transaction txID at Unix time
// now. encoding/json sorts map keys and the struct fields are in key order,
// so the bytes, and the input hash a bill records, are canonical: the
// contract and an offline verifier build the same bytes from the same
// ledger data. The size bound (the host profile's MaxInputBytes) is the
// contract's to check.
func EncodeInput(r *Resource, price *PriceEntry, limits, usage map[string]int64, start, end int64, txID string, now int64) ([]byte, error) {
	in := ruleInput{
		ABI: InputABI, Currency: price.Currency, Scale: price.Scale,
		Period: Period{Start: start, End: end},
		Price:  inputPrice{EffectiveFrom: price.EffectiveFrom, UnitPrices: nonNil(price.UnitPrices)},
		Quota:  nonNil(limits),
		Resource: inputResource{
			Attributes: nonNil(r.Attributes), Consumer: r.Consumer, ID: r.ID,
			Provider: r.Provider, Spec: nonNil(r.Spec), Type: r.Type,
		},
		Tx:    inputTx{ID: txID, Time: now},
		Usage: nonNil(usage),
	}
	return json.Marshal(in)
}

// ErrUsageOverflow is the cause (errors.Is, in the contract's process) of
// the refusal UsageSums.Add returns when a sum leaves int64.
var ErrUsageOverflow = errors.New("usage sum overflows int64")

// UsageSums is the usage part of a rule input: each metric's quantities
// over the billing period, summed overflow-checked.
type UsageSums map[string]int64

// Add adds quantity q of metric to the sums of resource's usage. An
// overflow is a CodeConflict Refusal (the usage is on the ledger already) naming the metric and resource.
func (s UsageSums) Add(resource, metric string, q int64) error {
	a := s[metric]
	sum := a + q
	if (q > 0 && sum < a) || (q < 0 && sum > a) {
		r := Refuse(CodeConflict, "usage of "+metric+" for resource "+resource+" over the period overflows a 64-bit integer")
		r.Err = ErrUsageOverflow
		return r
	}
	s[metric] = sum
	return nil
}

// SumUsage sums the records of resource billed in period p (BilledIn),
// overflow-checked, as the contract does when it bills.
func SumUsage(resource string, p Period, recs []UsageRecord) (UsageSums, error) {
	s := UsageSums{}
	for _, u := range recs {
		if u.Resource == resource && u.BilledIn(p) {
			if err := s.Add(resource, u.Metric, u.Quantity); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}
