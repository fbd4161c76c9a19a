package usageimport

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"math/big"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fedmeter/fedmeter/chaincode/model"

	"gopkg.in/yaml.v3"
)

// Mapping is a mapping file: one Rule per format it can import.
type Mapping struct {
	Version         int   `yaml:"version" json:"version"`
	APEL            *Rule `yaml:"apel" json:"apel,omitempty"`
	APELAccelerator *Rule `yaml:"apel-accelerator" json:"apel-accelerator,omitempty"`
	APELIP          *Rule `yaml:"apel-ip" json:"apel-ip,omitempty"`
	StAR            *Rule `yaml:"star" json:"star,omitempty"`
	OGFUR           *Rule `yaml:"ogf-ur" json:"ogf-ur,omitempty"`
	CloudEvents     *Rule `yaml:"cloudevents" json:"cloudevents,omitempty"`
}

// Rule says how the records of one format become usage records.
type Rule struct {
	// IDs is "derived" (the default: no ID is sent and the contract derives
	// one from resource, metric, start and end, the cheapest form on the
	// ledger) or "source" ("i-" and 40 hex digits of the SHA-256 of the
	// format, the record's identity and the metric).
	IDs      string      `yaml:"ids" json:"ids,omitempty"`
	Provider ProviderMap `yaml:"provider" json:"provider"`
	Resource ResourceMap `yaml:"resource" json:"resource"`
	// Start and End name the fields holding the period (Unix seconds or an
	// RFC 3339 / ISO 8601 time; no zone means UTC). Defaults per format:
	// StartTime and EndTime; apel-accelerator, PeriodStart and PeriodEnd
	// (its month); apel-ip, MeasurementTime for End, with Interval;
	// cloudevents has none.
	Start string `yaml:"start" json:"start,omitempty"`
	End   string `yaml:"end" json:"end,omitempty"`
	// Interval is how long each record stands for, for records that are a
	// count at an instant (apel-ip: a cASO run's public IPs): a record
	// covers the Interval up to its End, so a count of 3 IPs is 3 x
	// Interval IP-seconds (times: period). A Go duration (1h, 15m) or
	// seconds; give it instead of Start. Set it to the interval cASO runs
	// at, or counts are billed for more or less time than they stood.
	Interval string `yaml:"interval" json:"interval,omitempty"`
	interval int64
	// KeepZero sends records whose quantity is 0 (by default they are
	// left out: they add nothing to a bill).
	KeepZero bool          `yaml:"keep_zero" json:"keep_zero,omitempty"`
	Metrics  []MetricMap   `yaml:"metrics" json:"metrics"`
	Where    []FieldFilter `yaml:"where" json:"where,omitempty"`
}

// ProviderMap says which org provides a record's resource: Orgs maps the
// value of Field (a site, a cloud service, a project) to an org (an MSP ID
// such as Org1MSP, or an org name such as Org1); Default is the org of a
// value Orgs does not name ("" makes such a record unmapped). Without
// Field, every record is Default's.
type ProviderMap struct {
	Field   string            `yaml:"field" json:"field,omitempty"`
	Orgs    map[string]string `yaml:"orgs" json:"orgs,omitempty"`
	Default string            `yaml:"default" json:"default,omitempty"`
}

// ResourceMap says which resource a record is for, from the value of Field:
// with IDs, the resource that table names (a value it lacks is unmapped);
// with Attribute, the provider's resource on the ledger whose attribute of
// that name has the value (the caller looks it up: Apply's Resolver);
// otherwise Prefix + the value, which must be a valid resource ID.
type ResourceMap struct {
	Field     string            `yaml:"field" json:"field"`
	Prefix    string            `yaml:"prefix" json:"prefix,omitempty"`
	IDs       map[string]string `yaml:"ids" json:"ids,omitempty"`
	Attribute string            `yaml:"attribute" json:"attribute,omitempty"`
}

// MetricMap makes one usage record of metric Metric from Field, whose
// value is in unit From (unless the record declares its own), converted to
// unit To and rounded (Round: "nearest", the default, half away from zero;
// "up"; "down"). A record without the field is malformed unless Optional.
type MetricMap struct {
	Metric   string `yaml:"metric" json:"metric"`
	Field    string `yaml:"field" json:"field"`
	From     string `yaml:"from" json:"from,omitempty"`
	To       string `yaml:"to" json:"to,omitempty"`
	Round    string `yaml:"round" json:"round,omitempty"`
	Optional bool   `yaml:"optional" json:"optional,omitempty"`
	// Times multiplies the value (in To) before rounding: "period" by the
	// record's period in seconds (a capacity in GiB becomes GiB-seconds),
	// or a field by its value, a plain number (CpuCount).
	Times string `yaml:"times" json:"times,omitempty"`
	// Where keeps the metric to the records whose fields match (the
	// rule's Where applies first); for other records it gives no usage,
	// and is not reported. It lets one section map records of several
	// kinds (apel-ip's IPv4 and IPv6 counts) to metrics of their own.
	Where []FieldFilter `yaml:"where" json:"where,omitempty"`
	// num/den is From's size in To, reduced, when both fit an int64 (set
	// by check; den 0: they do not): the integer fast path's factor.
	num, den int64
}

// FieldFilter keeps only the records whose Field has one of the values In
// (e.g. Status: [completed]); the others are skipped, not reported.
type FieldFilter struct {
	Field string   `yaml:"field" json:"field"`
	In    []string `yaml:"in" json:"in"`
}

// LoadMapping reads and checks a mapping file. Errors name the YAML line
// or the setting (apel.metrics[2].to).
func LoadMapping(data []byte) (*Mapping, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var m Mapping
	if err := dec.Decode(&m); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("the mapping is empty: it has a section per format (apel, apel-accelerator, apel-ip, star, ogf-ur, cloudevents)")
		}
		return nil, fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if m.Version != 0 && m.Version != 1 {
		return nil, fmt.Errorf("version %d is not one this fedmeter reads (1)", m.Version)
	}
	any := false
	for _, f := range Formats {
		r := m.Rule(f)
		if r == nil {
			continue
		}
		any = true
		if err := r.check(f); err != nil {
			return nil, fmt.Errorf("%s.%v", f, err)
		}
	}
	if !any {
		return nil, fmt.Errorf("the mapping has no section for any format (apel, apel-accelerator, apel-ip, star, ogf-ur, cloudevents)")
	}
	return &m, nil
}

// Rule is the mapping's rule for format, or nil.
func (m *Mapping) Rule(format string) *Rule {
	switch format {
	case FormatAPEL:
		return m.APEL
	case FormatAPELAccelerator:
		return m.APELAccelerator
	case FormatAPELIP:
		return m.APELIP
	case FormatStAR:
		return m.StAR
	case FormatOGFUR:
		return m.OGFUR
	case FormatCloudEvents:
		return m.CloudEvents
	}
	return nil
}

func defaultPeriod(format string) (string, string) {
	switch format {
	case FormatAPELAccelerator:
		return "PeriodStart", "PeriodEnd"
	case FormatAPELIP:
		return "", "MeasurementTime"
	case FormatCloudEvents:
		return "", ""
	}
	return "StartTime", "EndTime"
}

func (r *Rule) check(format string) error {
	switch r.IDs {
	case "":
		r.IDs = "derived"
	case "derived", "source":
	default:
		return fmt.Errorf("ids: %q is not derived or source", r.IDs)
	}
	s, e := defaultPeriod(format)
	if r.Interval != "" {
		if r.Start != "" {
			return fmt.Errorf("interval: start and interval both give a record's start; give one")
		}
		d, err := parseInterval(r.Interval)
		if err != nil {
			return fmt.Errorf("interval: %v", err)
		}
		r.interval = d
	} else if r.Start == "" {
		r.Start = s
	}
	if r.End == "" {
		r.End = e
	}
	if format == FormatAPELIP && r.interval == 0 && r.Start == "" {
		return fmt.Errorf("interval: an apel-ip record counts IPs at an instant; give the time each count stands for, the interval cASO runs at (e.g. interval: 1h)")
	}
	if (r.Start == "" && r.interval == 0) || r.End == "" {
		return fmt.Errorf("start/end: name the fields that hold each record's period (e.g. start: data.start)")
	}
	if r.Provider.Field == "" && r.Provider.Default == "" && len(r.Provider.Orgs) > 0 {
		return fmt.Errorf("provider: orgs needs a field")
	}
	if r.Resource.Field == "" {
		return fmt.Errorf("resource.field: name the field that identifies the resource (e.g. VMUUID)")
	}
	if r.Resource.Attribute != "" && len(r.Resource.IDs) > 0 {
		return fmt.Errorf("resource: give ids or attribute, not both")
	}
	if r.Resource.Attribute != "" && r.Resource.Prefix != "" {
		return fmt.Errorf("resource: prefix applies to the value itself, not to an attribute lookup")
	}
	for v, id := range r.Resource.IDs {
		if !model.ValidID(id) {
			return fmt.Errorf("resource.ids: %q maps to %q, which is not a resource ID", v, id)
		}
	}
	if len(r.Metrics) == 0 {
		return fmt.Errorf("metrics: name at least one metric")
	}
	seen := map[string]bool{}
	for i := range r.Metrics {
		mm := &r.Metrics[i]
		at := fmt.Sprintf("metrics[%d]", i+1)
		if !model.ValidField(mm.Metric) {
			return fmt.Errorf("%s.metric: %q is not a metric name (lower-case letters, digits or '_', starting with a letter)", at, mm.Metric)
		}
		if seen[mm.Metric] {
			return fmt.Errorf("%s.metric: %s appears twice", at, mm.Metric)
		}
		seen[mm.Metric] = true
		if mm.Field == "" {
			return fmt.Errorf("%s.field: name the field that gives %s", at, mm.Metric)
		}
		if mm.From == "" {
			mm.From = mm.To
		}
		if mm.To == "" {
			mm.To = mm.From
		}
		if mm.From == "" {
			mm.From, mm.To = "1", "1"
		}
		fu, ok := lookupUnit(mm.From)
		if !ok {
			return fmt.Errorf("%s.from: unit %q is not known (%s)", at, mm.From, unitNames())
		}
		tu, ok := lookupUnit(mm.To)
		if !ok {
			return fmt.Errorf("%s.to: unit %q is not known (%s)", at, mm.To, unitNames())
		}
		mm.From, mm.To = fu.name, tu.name
		if ratio := new(big.Rat).Quo(fu.factor, tu.factor); ratio.Num().IsInt64() && ratio.Denom().IsInt64() {
			mm.num, mm.den = ratio.Num().Int64(), ratio.Denom().Int64()
		}
		if mm.Times != "" && mm.Times == mm.Field {
			return fmt.Errorf("%s.times: %s times itself is not a usage", at, mm.Field)
		}
		if fu.dim != tu.dim {
			return fmt.Errorf("%s: %s is a %s and %s a %s: they do not convert", at, mm.From, fu.dim, mm.To, tu.dim)
		}
		switch mm.Round {
		case "":
			mm.Round = "nearest"
		case "nearest", "up", "down":
		default:
			return fmt.Errorf("%s.round: %q is not nearest, up or down", at, mm.Round)
		}
	}
	for i, w := range r.Where {
		if w.Field == "" || len(w.In) == 0 {
			return fmt.Errorf("where[%d]: give field and in (the values to keep)", i+1)
		}
	}
	for i, mm := range r.Metrics {
		for j, w := range mm.Where {
			if w.Field == "" || len(w.In) == 0 {
				return fmt.Errorf("metrics[%d].where[%d]: give field and in (the values to keep)", i+1, j+1)
			}
		}
	}
	if format == FormatAPELIP {
		return r.checkIPMetrics()
	}
	return nil
}

// parseInterval reads a Go duration (1h, 15m) or whole seconds, positive
// and at most a year.
func parseInterval(s string) (int64, error) {
	s = strings.TrimSpace(s)
	var sec int64
	if isDigits(s) {
		if len(s) > 9 {
			return 0, fmt.Errorf("%q is more than a year", s)
		}
		sec, _ = strconv.ParseInt(s, 10, 64)
	} else {
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration (1h, 15m, or seconds)", s)
		}
		if d%time.Second != 0 {
			return 0, fmt.Errorf("%q is not whole seconds", s)
		}
		sec = int64(d / time.Second)
	}
	if sec <= 0 {
		return 0, fmt.Errorf("%q is not a positive duration", s)
	}
	if sec > 366*24*3600 {
		return 0, fmt.Errorf("%q is more than a year", s)
	}
	return sec, nil
}

// keeps reports whether rec passes every filter of ws.
func keeps(ws []FieldFilter, rec *Record) bool {
	for _, w := range ws {
		v, ok := rec.Fields[w.Field]
		keep := false
		for _, x := range w.In {
			keep = keep || (ok && x == v)
		}
		if !keep {
			return false
		}
	}
	return true
}

// Usage is one usage record to submit, with the accounting record it came
// from. ID is empty when the contract derives it.
type Usage struct {
	ID       string `json:"id,omitempty"`
	Resource string `json:"resource"`
	Metric   string `json:"metric"`
	Quantity int64  `json:"quantity"`
	Start    int64  `json:"start"`
	End      int64  `json:"end"`
	// Provider is the org the mapping gives ("" if the mapping has no
	// provider; with attribute lookups, the resource's provider).
	Provider string `json:"provider,omitempty"`
	File     string `json:"file"`
	Line     int    `json:"line,omitempty"`
	Element  string `json:"element,omitempty"`
}

// Where is the accounting record the usage came from.
func (u *Usage) Where() string { return where(u.File, u.Line, u.Element) }

// Resolver finds the resource whose attribute has value (ResourceMap's
// Attribute), among the resources of provider ("" if the mapping names no
// provider). It returns the resource's ID and its provider, or an
// explanation of why there is none (no such resource, several).
type Resolver func(provider, attribute, value string) (id, resourceProvider string, err error)

// Plan is what Apply makes of a set of records.
type Plan struct {
	Format  string    `json:"format"`
	Records int       `json:"records"` // accounting records read
	Usage   []Usage   `json:"usage"`
	Skipped int       `json:"skipped"` // records left out by where, and exact duplicates
	Zero    int       `json:"zero"`    // usage left out because its quantity was 0
	Problem []Problem `json:"problems"`
}

// Fatal counts the problems that stop an import.
func (p *Plan) Fatal() int {
	n := 0
	for _, x := range p.Problem {
		if x.Fatal() {
			n++
		}
	}
	return n
}

// Apply maps records of format through the mapping. resolve is needed only
// if the rule looks resources up by attribute. Every record that cannot be
// used is a Problem; the others give Usage, one per metric. Records with
// the same identity, or usage with the same resource, metric and period,
// are duplicates (the same content: skipped, and reported as Duplicate) or
// conflicts (other content: reported as Conflict).
func (m *Mapping) Apply(format string, recs []Record, resolve Resolver) (*Plan, error) {
	r := m.Rule(format)
	if r == nil {
		return nil, fmt.Errorf("the mapping has no %s section", format)
	}
	if r.Resource.Attribute != "" && resolve == nil {
		return nil, fmt.Errorf("the %s mapping looks resources up by attribute %s, which needs the ledger", format, r.Resource.Attribute)
	}
	p := &Plan{Format: format, Records: len(recs), Usage: []Usage{}, Problem: []Problem{}}
	// The first record of each identity; content hashes are computed only
	// when an identity repeats (rare), not for every record.
	byIdentity := make(map[string]*Record, len(recs))
	type usageKey struct {
		resource, metric string
		start, end       int64
	}
	byKey := map[usageKey]int{} // resource, metric, period -> index in p.Usage
next:
	for i := range recs {
		rec := &recs[i]
		if !keeps(r.Where, rec) {
			p.Skipped++
			continue next
		}
		if prev, ok := byIdentity[rec.Identity]; ok {
			if contentHash(prev) == contentHash(rec) {
				p.Problem = append(p.Problem, rec.problem(Duplicate, "repeats the record at %s (same identity %s, same content): skipped", prev.Where(), clip(rec.Identity)))
				p.Skipped++
			} else {
				p.Problem = append(p.Problem, rec.problem(Conflict, "has the identity %s of the record at %s, with other content (a later report of the same record? import only the latest)", clip(rec.Identity), prev.Where()))
			}
			continue
		}
		byIdentity[rec.Identity] = rec
		us, prob := r.apply(format, rec, resolve)
		if prob != nil {
			p.Problem = append(p.Problem, *prob)
			continue
		}
		for _, u := range us {
			if u.Quantity == 0 && !r.KeepZero {
				p.Zero++
				continue
			}
			k := usageKey{u.Resource, u.Metric, u.Start, u.End}
			if j, ok := byKey[k]; ok && r.IDs == "derived" {
				o := p.Usage[j]
				if o.Quantity == u.Quantity {
					p.Problem = append(p.Problem, rec.problem(Duplicate, "%s of %s over the same period as the record at %s, same quantity %d: skipped", u.Metric, u.Resource, o.Where(), u.Quantity))
				} else {
					p.Problem = append(p.Problem, rec.problem(Conflict, "%s of %s over the same period as the record at %s, but %d instead of %d: one resource's metric is counted once per period", u.Metric, u.Resource, o.Where(), u.Quantity, o.Quantity))
				}
				continue
			}
			byKey[k] = len(p.Usage)
			p.Usage = append(p.Usage, u)
		}
	}
	return p, nil
}

func contentHash(r *Record) string {
	h := sha256.New()
	var b []byte
	keys := r.content
	if keys == nil {
		keys = slices.Sorted(maps.Keys(r.Fields))
	}
	for _, k := range keys {
		v := r.Fields[k]
		// length-prefixed: no two field sets hash the same bytes
		b = strconv.AppendInt(b[:0], int64(len(k)), 10)
		b = append(append(b, ':'), k...)
		b = strconv.AppendInt(b, int64(len(v)), 10)
		b = append(append(b, ':'), v...)
		h.Write(b)
	}
	return string(h.Sum(nil))
}

func (r *Rule) apply(format string, rec *Record, resolve Resolver) ([]Usage, *Problem) {
	fail := func(kind, f string, a ...any) ([]Usage, *Problem) {
		p := rec.problem(kind, f, a...)
		return nil, &p
	}
	// provider
	provider := r.Provider.Default
	if r.Provider.Field != "" {
		v, ok := rec.Fields[r.Provider.Field]
		if org, known := r.Provider.Orgs[v]; ok && known {
			provider = org
		} else if provider == "" {
			if !ok || v == "" {
				return fail(Unmapped, "the record has no %s, which the mapping needs to find the provider", r.Provider.Field)
			}
			return fail(Unmapped, "%s %q maps to no provider org (provider.orgs names %s)", r.Provider.Field, clip(v), strings.Join(slices.Sorted(maps.Keys(r.Provider.Orgs)), ", "))
		}
	}
	// resource
	v, ok := rec.Fields[r.Resource.Field]
	if !ok || v == "" {
		return fail(Malformed, "the record has no %s, which gives the resource", r.Resource.Field)
	}
	var res string
	switch {
	case len(r.Resource.IDs) > 0:
		id, known := r.Resource.IDs[v]
		if !known {
			return fail(Unmapped, "%s %q maps to no resource (resource.ids does not name it)", r.Resource.Field, clip(v))
		}
		res = id
	case r.Resource.Attribute != "":
		id, rp, err := resolve(provider, r.Resource.Attribute, v)
		if err != nil {
			return fail(Unmapped, "%s %q: %v", r.Resource.Field, clip(v), err)
		}
		if provider != "" && rp != "" && !sameOrg(provider, rp) {
			return fail(Unmapped, "%s %q is resource %s of %s, but the mapping gives the record to %s", r.Resource.Field, clip(v), id, rp, provider)
		}
		res = id
		if rp != "" {
			provider = rp
		}
	default:
		res = r.Resource.Prefix + v
		if !model.ValidID(res) {
			return fail(Unmapped, "%s %q gives resource ID %q, which is not valid (1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit)", r.Resource.Field, clip(v), clip(res))
		}
	}
	// period
	end, prob := r.timeField(rec, r.End)
	if prob != nil {
		return nil, prob
	}
	var start int64
	if r.interval > 0 {
		start = end - r.interval
		if start < 0 {
			return fail(Malformed, "%s %s is less than the interval (%s) after 1970", r.End, rec.Fields[r.End], r.Interval)
		}
	} else if start, prob = r.timeField(rec, r.Start); prob != nil {
		return nil, prob
	}
	if end <= start {
		return fail(Malformed, "%s %s is not after %s %s", r.End, rec.Fields[r.End], r.Start, rec.Fields[r.Start])
	}
	var out []Usage
	for _, mm := range r.Metrics {
		if !keeps(mm.Where, rec) {
			continue
		}
		raw, ok := rec.Fields[mm.Field]
		if !ok || raw == "" {
			if mm.Optional {
				continue
			}
			return fail(Malformed, "the record has no %s, which gives %s (mark the metric optional: true if records may lack it)", mm.Field, mm.Metric)
		}
		if n, ok := fastQuantity(rec, &mm, raw, end-start); ok {
			out = append(out, r.usage(format, rec, &mm, res, provider, n, start, end))
			continue
		}
		q, unit, err := parseQuantity(raw)
		if err != nil {
			kind := Malformed
			if errors.Is(err, errTooLarge) {
				kind = Overflow
			}
			return fail(kind, "%s %q: %v", mm.Field, clip(raw), err)
		}
		from := mm.From
		if d := rec.Units[mm.Field]; d != "" {
			if unit != "" && !sameUnit(unit, d) {
				return fail(BadUnit, "%s %q is in %s but the record declares %s", mm.Field, clip(raw), unit, clip(d))
			}
			unit = d
		}
		if unit != "" {
			u, known := lookupUnit(unit)
			if !known {
				return fail(BadUnit, "%s is in %q, a unit this import does not know (%s)", mm.Field, clip(unit), unitNames())
			}
			if u.dim != units[mm.From].dim {
				return fail(BadUnit, "%s is in %s (a %s) but the mapping reads it as %s (a %s) for %s", mm.Field, unit, u.dim, mm.From, units[mm.From].dim, mm.Metric)
			}
			from = u.name
		}
		switch mm.Times {
		case "":
		case "period":
			q = new(big.Rat).Mul(q, new(big.Rat).SetInt64(end-start))
		default:
			tv, ok := rec.Fields[mm.Times]
			if !ok || tv == "" {
				return fail(Malformed, "the record has no %s, which %s is multiplied by", mm.Times, mm.Metric)
			}
			f, tu, err := parseQuantity(tv)
			if err == nil && tu != "" {
				err = fmt.Errorf("is a plain number, not in %s", tu)
			}
			if err != nil {
				kind := Malformed
				if errors.Is(err, errTooLarge) {
					kind = Overflow
				}
				return fail(kind, "%s %q: %v", mm.Times, clip(tv), err)
			}
			q = new(big.Rat).Mul(q, f)
		}
		n, err := convert(q, from, mm.To, mm.Round)
		if err != nil {
			return fail(Overflow, "%s %q in %s is %v", mm.Field, clip(raw), mm.To, err)
		}
		out = append(out, r.usage(format, rec, &mm, res, provider, n, start, end))
	}
	return out, nil
}

func (r *Rule) usage(format string, rec *Record, mm *MetricMap, res, provider string, n, start, end int64) Usage {
	u := Usage{Resource: res, Metric: mm.Metric, Quantity: n, Start: start, End: end, Provider: provider,
		File: rec.File, Line: rec.Line, Element: rec.Element}
	if r.IDs == "source" {
		sum := sha256.Sum256([]byte(format + "\n" + rec.Identity + "\n" + mm.Metric))
		u.ID = "i-" + hex.EncodeToString(sum[:20])
	}
	return u
}

// fastQuantity is the common case without rational arithmetic: a plain
// integer (at most 18 digits) with no unit of the record's own, times
// nothing, the period, or a field that is a plain integer too, converted
// by the unit's integer ratio (num/den) in 128-bit arithmetic, rounded as
// the metric says. It gives exactly what parseQuantity and convert give
// for such values; anything else, and any overflow, declines (ok false)
// and takes that general path, which also words the errors.
func fastQuantity(rec *Record, mm *MetricMap, raw string, period int64) (int64, bool) {
	if mm.den <= 0 || rec.Units[mm.Field] != "" {
		return 0, false
	}
	n, ok := plainInt(raw)
	if !ok {
		return 0, false
	}
	f := int64(1)
	switch mm.Times {
	case "":
	case "period":
		f = period
	default:
		if f, ok = plainInt(rec.Fields[mm.Times]); !ok {
			return 0, false
		}
	}
	if f < 0 {
		return 0, false
	}
	hi, lo := bits.Mul64(uint64(n), uint64(f))
	if hi != 0 {
		return 0, false
	}
	hi, lo = bits.Mul64(lo, uint64(mm.num))
	den := uint64(mm.den)
	if hi >= den {
		return 0, false
	}
	q, rem := bits.Div64(hi, lo, den)
	if q >= math.MaxInt64 {
		return 0, false
	}
	if rem != 0 {
		switch mm.Round {
		case "up":
			q++
		case "nearest":
			if rem >= den-rem { // 2*rem >= den, without overflow
				q++
			}
		}
	}
	return int64(q), true
}

// plainInt reads 1 to 18 decimal digits, nothing else.
func plainInt(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

func (r *Rule) timeField(rec *Record, field string) (int64, *Problem) {
	v, ok := rec.Fields[field]
	if !ok || v == "" {
		msg := "the record has no %s, which gives its period"
		if field == "EndTime" {
			msg += " (a VM still running has none: import it once it has ended)"
		}
		p := rec.problem(Malformed, msg, field)
		return 0, &p
	}
	t, err := parseTime(v)
	if err != nil {
		kind := Malformed
		if errors.Is(err, errTooLarge) {
			kind = Overflow
		}
		p := rec.problem(kind, "%s %q: %v", field, clip(v), err)
		return 0, &p
	}
	return t, nil
}

// sameOrg compares an org as the mapping names it with an MSP ID: Org1MSP,
// org1msp and Org1 are the same org.
func sameOrg(a, b string) bool {
	n := func(s string) string { return strings.TrimSuffix(strings.ToLower(s), "msp") }
	return n(a) == n(b)
}

// SameOrg reports whether the org a mapping names (an MSP ID or an org
// name, any case) is mspID.
func SameOrg(org, mspID string) bool { return sameOrg(org, mspID) }

var errTooLarge = errors.New("too large")

// parseTime reads Unix seconds (a fraction is dropped), RFC 3339, or ISO
// 8601 without a zone (UTC) or with a space instead of T (as Python's
// str(datetime) writes).
func parseTime(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if isDigits(s) || (strings.Count(s, ".") == 1 && isDigits(strings.Replace(s, ".", "", 1))) {
		whole, _, _ := strings.Cut(s, ".")
		if len(whole) > 12 { // past year 33658: not a time
			return 0, fmt.Errorf("is not a time: %w", errTooLarge)
		}
		n, err := strconv.ParseInt(whole, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("is not Unix seconds")
		}
		return n, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			if t.Unix() < 0 {
				return 0, fmt.Errorf("is before 1970")
			}
			return t.Unix(), nil
		}
	}
	return 0, fmt.Errorf("is not a time (Unix seconds, or RFC 3339 such as 2026-01-01T00:00:00Z)")
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
