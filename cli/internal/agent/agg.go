package agent

import (
	"fmt"
	"math"
	"math/big"
	"sort"

	"github.com/fedmeter/fedmeter/chaincode/model"
)

// Sample is one raw measurement: Value is in 10^-scale units of its rule
// (ParseDecimal), Time in Unix milliseconds.
type Sample struct {
	Resource string
	Rule     int // index into Config.Metrics
	Time     int64
	Value    int64
}

// bucket is one series' samples in one period.
type bucket struct {
	Start   int64 `json:"start"` // period start, Unix ms
	Count   int64 `json:"count"`
	Sum     i128  `json:"sum"`
	Min     int64 `json:"min"`
	Max     int64 `json:"max"`
	LatestT int64 `json:"latest_t"`
	LatestV int64 `json:"latest_v"`
	Integ   i128  `json:"integ"` // value × ms (Integral)
	// Held: an integral period reached only by a held value, no sample.
	Held bool `json:"held,omitempty"`
}

// series is one resource's samples of one rule.
type series struct {
	Resource string `json:"resource"`
	Rule     int    `json:"rule"`
	// For an integral: the last sample, held until the next one (at most
	// MaxGap), accounted up to IntegTo.
	Has     bool      `json:"has,omitempty"`
	LastT   int64     `json:"last_t,omitempty"`
	LastV   int64     `json:"last_v,omitempty"`
	IntegTo int64     `json:"integ_to,omitempty"`
	Open    []*bucket `json:"open"` // by Start, ascending
}

type seriesKey struct {
	res  string
	rule int
}

// Stats count what the aggregator did with samples.
type Stats struct {
	Accepted   int64 // added to an open period
	Late       int64 // for a period already closed: dropped
	OutOfOrder int64 // an integral sample older than its series' last: dropped
}

// Aggregator folds samples into periods and closes them by watermark. It
// is not safe for concurrent use: the agent's one loop owns it, so that
// its state and the input offsets are always saved together.
type Aggregator struct {
	cfg    *Config
	period int64 // ms
	series map[seriesKey]*series
	// MaxEvent is the latest sample time seen (ms); ClosedTo is the end
	// of the last closed period: every period ending at or before it is
	// closed.
	MaxEvent int64
	ClosedTo int64
	Stats    Stats
}

// NewAggregator returns an empty aggregator for cfg.
func NewAggregator(cfg *Config) *Aggregator {
	return &Aggregator{cfg: cfg, period: cfg.Period.ms(), series: map[seriesKey]*series{}, MaxEvent: math.MinInt64}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func (a *Aggregator) periodOf(t int64) int64 { return floorDiv(t, a.period) * a.period }

// Add folds one sample in. A sample of a closed period is late: dropped
// and counted in Stats, though its time still moves the watermark and, for
// an integral, its value is the one held from then on if it is the
// series' newest (so that an agent that re-reads samples after a restart
// holds the same value as one that read them before the close).
func (a *Aggregator) Add(s Sample) {
	if s.Time > a.MaxEvent {
		a.MaxEvent = s.Time
	}
	rule := &a.cfg.Metrics[s.Rule]
	k := seriesKey{s.Resource, s.Rule}
	sr := a.series[k]
	if s.Time < a.ClosedTo {
		a.Stats.Late++
		if rule.Aggregate == Integral {
			if sr == nil {
				sr = &series{Resource: s.Resource, Rule: s.Rule}
				a.series[k] = sr
			}
			if !sr.Has || s.Time >= sr.LastT {
				sr.Has, sr.LastT, sr.LastV = true, s.Time, s.Value
				sr.IntegTo = max(sr.IntegTo, s.Time)
			}
		}
		return
	}
	if sr == nil {
		sr = &series{Resource: s.Resource, Rule: s.Rule}
		a.series[k] = sr
	}
	if rule.Aggregate == Integral {
		if sr.Has && s.Time < sr.LastT {
			a.Stats.OutOfOrder++
			return
		}
		a.hold(sr, rule, s.Time)
	}
	ps := a.periodOf(s.Time)
	b := sr.bucket(ps)
	b.Held = false
	if b.Count == 0 {
		b.Min, b.Max = s.Value, s.Value
		b.LatestT, b.LatestV = s.Time, s.Value
	} else {
		if s.Value < b.Min {
			b.Min = s.Value
		}
		if s.Value > b.Max {
			b.Max = s.Value
		}
		if s.Time >= b.LatestT {
			b.LatestT, b.LatestV = s.Time, s.Value
		}
	}
	b.Count++
	b.Sum = b.Sum.add(i128of(s.Value))
	if rule.Aggregate == Integral {
		sr.Has, sr.LastT, sr.LastV, sr.IntegTo = true, s.Time, s.Value, s.Time
	}
	a.Stats.Accepted++
}

// bucket returns the series' open bucket of the period starting at ps.
func (sr *series) bucket(ps int64) *bucket {
	n := len(sr.Open)
	// Samples mostly land in the newest period.
	if n > 0 && sr.Open[n-1].Start == ps {
		return sr.Open[n-1]
	}
	i := sort.Search(n, func(i int) bool { return sr.Open[i].Start >= ps })
	if i < n && sr.Open[i].Start == ps {
		return sr.Open[i]
	}
	b := &bucket{Start: ps}
	sr.Open = append(sr.Open, nil)
	copy(sr.Open[i+1:], sr.Open[i:])
	sr.Open[i] = b
	return b
}

// hold accounts the series' last value from IntegTo up to `to` (at most
// MaxGap after the last sample) into the periods it spans, skipping closed
// ones.
func (a *Aggregator) hold(sr *series, rule *MetricRule, to int64) {
	if !sr.Has {
		return
	}
	if lim := sr.LastT + rule.MaxGap.ms(); to > lim {
		to = lim
	}
	from := sr.IntegTo
	if from < a.ClosedTo {
		from = a.ClosedTo
	}
	for from < to {
		ps := a.periodOf(from)
		end := min(ps+a.period, to)
		if sr.LastV != 0 {
			b := sr.bucket(ps)
			if b.Count == 0 {
				b.Held = true
			}
			b.Integ = b.Integ.add(mul(sr.LastV, end-from))
		}
		from = end
	}
	if to > sr.IntegTo {
		sr.IntegTo = to
	}
}

// Watermark is the time up to which periods may close: the latest sample
// time (and, with clock: wall, now) less the lateness.
func (a *Aggregator) Watermark(nowMS int64) int64 {
	w := a.MaxEvent
	if a.cfg.Clock == "wall" && nowMS > w {
		w = nowMS
	}
	if w == math.MinInt64 {
		return w
	}
	return w - a.cfg.Lateness.ms()
}

// Closable is the end of the last period the watermark has passed: Close
// would close every period ending at or before it. It is ClosedTo if
// nothing new may close.
func (a *Aggregator) Closable(nowMS int64) int64 {
	w := a.Watermark(nowMS)
	if w == math.MinInt64 {
		return a.ClosedTo
	}
	to := a.periodOf(w)
	if to < a.ClosedTo {
		return a.ClosedTo
	}
	return to
}

// OpenEnd is the end of the latest open period (ClosedTo if none): Close
// to it closes everything, as at the end of a --once run.
func (a *Aggregator) OpenEnd() int64 {
	end := a.ClosedTo
	for _, sr := range a.series {
		if n := len(sr.Open); n > 0 && sr.Open[n-1].Start+a.period > end {
			end = sr.Open[n-1].Start + a.period
		}
		if sr.Has {
			// a held value reaches on to MaxGap after the last sample.
			lim := sr.LastT + a.cfg.Metrics[sr.Rule].MaxGap.ms()
			if lim > sr.IntegTo {
				if e := a.periodOf(lim-1) + a.period; e > end {
					end = e
				}
			}
		}
	}
	return end
}

// Problem is a period that yields no record: its quantity is negative or
// does not fit an int64, or its resource is not a valid ID.
type Problem struct {
	Resource, Metric string
	Start, End       int64 // Unix seconds
	Reason           string
}

// Close closes every period that ends at or before `to` (Unix ms) and
// returns their usage records (IDs derived: model.DeriveUsageID), sorted by
// period, resource and metric, and the periods that could not become
// records. Closing again to the same time does nothing.
func (a *Aggregator) Close(to int64) ([]model.UsageRecord, []Problem) {
	if to <= a.ClosedTo {
		return nil, nil
	}
	var recs []model.UsageRecord
	var probs []Problem
	for k, sr := range a.series {
		rule := &a.cfg.Metrics[sr.Rule]
		if rule.Aggregate == Integral {
			a.hold(sr, rule, to)
		}
		n := 0
		for n < len(sr.Open) && sr.Open[n].Start+a.period <= to {
			b := sr.Open[n]
			r, p := a.record(sr, rule, b)
			if p != nil {
				probs = append(probs, *p)
			} else if r != nil {
				recs = append(recs, *r)
			}
			n++
		}
		sr.Open = append(sr.Open[:0], sr.Open[n:]...)
		if len(sr.Open) == 0 && (!sr.Has || sr.LastT+rule.MaxGap.ms() <= to) {
			delete(a.series, k)
		}
	}
	a.ClosedTo = to
	sort.Slice(recs, func(i, j int) bool {
		x, y := recs[i], recs[j]
		if x.Start != y.Start {
			return x.Start < y.Start
		}
		if x.Resource != y.Resource {
			return x.Resource < y.Resource
		}
		return x.Metric < y.Metric
	})
	sort.Slice(probs, func(i, j int) bool {
		x, y := probs[i], probs[j]
		if x.Start != y.Start {
			return x.Start < y.Start
		}
		if x.Resource != y.Resource {
			return x.Resource < y.Resource
		}
		return x.Metric < y.Metric
	})
	return recs, probs
}

// Quantity is a closed bucket's quantity by its rule (see MetricRule).
func quantity(rule *MetricRule, b *bucket) (int64, bool) {
	d := big.NewInt(rule.Divide)
	var num *big.Int
	switch rule.Aggregate {
	case Sum:
		num = b.Sum.big()
	case Max:
		num = new(big.Int).Add(big.NewInt(b.Max), big.NewInt(rule.offset))
	case Min:
		num = new(big.Int).Add(big.NewInt(b.Min), big.NewInt(rule.offset))
	case Latest:
		num = new(big.Int).Add(big.NewInt(b.LatestV), big.NewInt(rule.offset))
	case Avg:
		num = b.Sum.big()
		num.Add(num, new(big.Int).Mul(big.NewInt(rule.offset), big.NewInt(b.Count)))
		d.Mul(d, big.NewInt(b.Count))
	case Integral:
		num = b.Integ.big()
		d.Mul(d, big.NewInt(rule.Per.ms()))
	}
	return divRound(num, d)
}

func (a *Aggregator) record(sr *series, rule *MetricRule, b *bucket) (*model.UsageRecord, *Problem) {
	if b.Count == 0 && rule.Aggregate != Integral {
		return nil, nil
	}
	// periods are whole seconds aligned to the epoch: exact in seconds.
	start, end := floorDiv(b.Start, 1000), floorDiv(b.Start+a.period, 1000)
	q, ok := quantity(rule, b)
	prob := func(format string, args ...any) *Problem {
		return &Problem{Resource: sr.Resource, Metric: rule.Metric, Start: start, End: end, Reason: fmt.Sprintf(format, args...)}
	}
	switch {
	case !ok:
		return nil, prob("the %s does not fit an int64 quantity", rule.Aggregate)
	case q < 0:
		return nil, prob("the %s is negative (%d); the ledger holds non-negative quantities", rule.Aggregate, q)
	case start < 0:
		return nil, prob("the period starts before 1970")
	case !model.ValidID(sr.Resource):
		return nil, prob("resource %q is not a resource ID (1 to 64 letters, digits, '.', '_' or '-')", sr.Resource)
	}
	r := model.UsageRecord{Resource: sr.Resource, Metric: rule.Metric, Quantity: q, Start: start, End: end}
	r.ID = model.DeriveUsageID(r)
	return &r, nil
}
