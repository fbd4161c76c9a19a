package model

import (
	"encoding/json"
	"errors"
	"math"
	"math/bits"
	"slices"
	"sort"
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

// BilledUsage sums the usage bill b read: the records of its resource
// billed in its period, with the corrections it lists (Bill.Corrections)
// and no other correction, summed as the contract sums them. recs are the
// resource's records as UsageList gives them.
func BilledUsage(b *Bill, recs []UsageRecord) (UsageSums, error) {
	var acc UsageAcc
	for _, u := range recs {
		if u.Resource != b.Resource || !u.BilledIn(b.Period) {
			continue
		}
		if u.Adjusts != "" && !slices.Contains(b.Corrections, u.ID) {
			continue // written after the bill: a re-rating bills it
		}
		acc.Add(u.Metric, u.Quantity)
	}
	return acc.Sums(b.Resource)
}

// UsageAcc sums usage quantities per metric exactly, whatever their order:
// corrections (UsageAdjust) are negative, and a partial sum in ledger order
// may pass int64 (a raise read before the void of another record) when the
// total does not. Each metric's sum is held in 128 bits; only the totals
// must fit int64 (Sums). The zero value is ready to use.
type UsageAcc struct {
	m map[string]*[2]uint64 // metric -> two's-complement 128-bit sum: lo, hi
}

// Add adds quantity q of metric.
func (a *UsageAcc) Add(metric string, q int64) {
	if a.m == nil {
		a.m = map[string]*[2]uint64{}
	}
	s := a.m[metric]
	if s == nil {
		s = new([2]uint64)
		a.m[metric] = s
	}
	ext := uint64(0) // the high word of q, sign-extended
	if q < 0 {
		ext = math.MaxUint64
	}
	lo, carry := bits.Add64(s[0], uint64(q), 0)
	hi, _ := bits.Add64(s[1], ext, carry)
	s[0], s[1] = lo, hi
}

// Sums is every metric's total, or a CodeConflict Refusal wrapping
// ErrUsageOverflow naming the first metric (in name order) whose total
// does not fit int64 (resource names the usage's resource).
func (a *UsageAcc) Sums(resource string) (UsageSums, error) {
	out := make(UsageSums, len(a.m))
	metrics := make([]string, 0, len(a.m))
	for m := range a.m {
		metrics = append(metrics, m)
	}
	sort.Strings(metrics)
	for _, m := range metrics {
		s := a.m[m]
		// It fits int64 when the high word is the sign extension of the
		// low word's top bit.
		if fits := (s[1] == 0 && s[0]>>63 == 0) || (s[1] == math.MaxUint64 && s[0]>>63 == 1); !fits {
			r := Refuse(CodeConflict, "usage of "+m+" for resource "+resource+" over the period overflows a 64-bit integer")
			r.Err = ErrUsageOverflow
			return nil, r
		}
		out[m] = int64(s[0])
	}
	return out, nil
}
