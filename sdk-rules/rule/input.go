package rule

import (
	"sort"
	"strconv"
)

// Input is the billing input of ABI v1 (host/ABI.md): everything a rule may
// look at. The host builds it from ledger state alone.
//
// The named integers (unit prices, quota, spec, usage) are sorted slices, not
// maps, so that ranging over them has one order on every machine: a rule that
// emits a line per entry emits them in name order.
type Input struct {
	// ABI is the ABI version of the input: 1.
	ABI int64
	// Currency is the ISO-4217-like code of every amount (1 to 8 upper-case
	// letters); Scale is its number of decimal places: amounts are integers
	// in units of 10^-Scale of Currency.
	Currency string
	Scale    int64
	// Period is the holding period being billed.
	Period Period
	// Price is the provider's price book entry in force.
	Price PriceBook
	// Quota is what the provider granted the consumer.
	Quota Quantities
	// Resource is the resource being billed.
	Resource Resource
	// Tx is the transaction the bill is computed in.
	Tx Tx
	// Usage holds the usage aggregated over the period, per metric.
	Usage Quantities
}

// Period is a half-open interval of Unix seconds [Start, End).
type Period struct {
	Start int64
	End   int64
}

// PriceBook is a provider's price book entry: unit prices in minor units per
// named unit. The names are the rule's contract with the provider and are
// documented by each rule.
type PriceBook struct {
	EffectiveFrom int64
	UnitPrices    Quantities
}

// Resource is the resource being billed.
type Resource struct {
	ID       string
	Type     string
	Provider string
	Consumer string
	// Spec holds the resource's integer sizes (vcpu, memory_gib, ...).
	Spec Quantities
	// Attributes holds free strings (zone, instance family, ...).
	Attributes Attributes
}

// Tx identifies the transaction.
type Tx struct {
	ID   string
	Time int64
}

// Quantity is a named integer.
type Quantity struct {
	Name  string
	Value int64
}

// Quantities is a set of named integers sorted by name, each name once.
type Quantities []Quantity

// Get returns the value of name and whether it is present.
func (q Quantities) Get(name string) (int64, bool) {
	i := sort.Search(len(q), func(i int) bool { return q[i].Name >= name })
	if i < len(q) && q[i].Name == name {
		return q[i].Value, true
	}
	return 0, false
}

// Attribute is a named string.
type Attribute struct {
	Name  string
	Value string
}

// Attributes is a set of named strings sorted by name, each name once.
type Attributes []Attribute

// Get returns the value of name and whether it is present.
func (a Attributes) Get(name string) (string, bool) {
	i := sort.Search(len(a), func(i int) bool { return a[i].Name >= name })
	if i < len(a) && a[i].Name == name {
		return a[i].Value, true
	}
	return "", false
}

// UnitPrice returns the unit price called name. A missing price is a
// "missing_price" error and a negative one a "negative_price" error, both
// naming the price.
func (in *Input) UnitPrice(name string) (int64, error) {
	v, ok := in.Price.UnitPrices.Get(name)
	if !ok {
		return 0, NewError(CodeMissingPrice, "no unit price for "+strconv.Quote(name)+" in the price book entry")
	}
	if v < 0 {
		return 0, NewError(CodeNegativePrice, "unit price "+strconv.Quote(name)+" is negative: "+strconv.FormatInt(v, 10))
	}
	return v, nil
}

// OptionalUnitPrice is UnitPrice for a price the price book may omit: it
// returns ok false, and no error, when the price is missing.
func (in *Input) OptionalUnitPrice(name string) (v int64, ok bool, err error) {
	if _, ok := in.Price.UnitPrices.Get(name); !ok {
		return 0, false, nil
	}
	v, err = in.UnitPrice(name)
	return v, err == nil, err
}

// Metric returns the usage of a metric: 0 if the usage holds none, a
// "negative_quantity" error if it is negative.
func (in *Input) Metric(name string) (int64, error) {
	v, _ := in.Usage.Get(name)
	if v < 0 {
		return 0, NewError(CodeNegativeQuantity, "usage "+strconv.Quote(name)+" is negative: "+strconv.FormatInt(v, 10))
	}
	return v, nil
}

// Spec returns the resource's size called name: 0 if the spec holds none, a
// "negative_quantity" error if it is negative.
func (in *Input) Spec(name string) (int64, error) {
	v, _ := in.Resource.Spec.Get(name)
	if v < 0 {
		return 0, NewError(CodeNegativeQuantity, "resource spec "+strconv.Quote(name)+" is negative: "+strconv.FormatInt(v, 10))
	}
	return v, nil
}

// KnownMetrics returns an "unknown_metric" error if the usage holds a metric
// not in known: a rule that bills some metrics calls it first so that usage it
// would silently leave unbilled is refused instead.
func (in *Input) KnownMetrics(known ...string) error {
	if name, ok := firstUnknown(in.Usage, known); ok {
		return NewError(CodeUnknownMetric, "usage holds metric "+strconv.Quote(name)+
			", which this rule does not bill (it bills: "+list(known)+")")
	}
	return nil
}

// KnownSpec returns an "unknown_spec" error if the resource spec holds a size
// not in known.
func (in *Input) KnownSpec(known ...string) error {
	if name, ok := firstUnknown(in.Resource.Spec, known); ok {
		return NewError(CodeUnknownSpec, "resource spec holds "+strconv.Quote(name)+
			", which this rule does not bill (it bills: "+list(known)+")")
	}
	return nil
}

func firstUnknown(q Quantities, known []string) (string, bool) {
outer:
	for _, e := range q {
		for _, k := range known {
			if e.Name == k {
				continue outer
			}
		}
		return e.Name, true
	}
	return "", false
}

func list(names []string) string {
	if len(names) == 0 {
		return "nothing"
	}
	s := ""
	for i, n := range names {
		if i > 0 {
			s += ", "
		}
		s += n
	}
	return s
}

// Seconds returns the length of the period in seconds, or a "bad_period"
// error if it does not end after it starts (or is too long to subtract).
func (in *Input) Seconds() (int64, error) {
	s, e := in.Period.Start, in.Period.End
	if e <= s {
		return 0, NewError(CodeBadPeriod, "period ends at "+strconv.FormatInt(e, 10)+
			", not after its start "+strconv.FormatInt(s, 10))
	}
	d := e - s
	if d < 0 { // wrapped
		return 0, NewError(CodeBadPeriod, "period from "+strconv.FormatInt(s, 10)+" to "+
			strconv.FormatInt(e, 10)+" is too long")
	}
	return d, nil
}
