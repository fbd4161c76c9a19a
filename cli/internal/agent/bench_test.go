package agent

import (
	"fmt"
	"testing"
)

// benchConfig: a cold-chain-like stream: 200 sensors, each with a
// temperature (max), a door counter (sum) and a power gauge (integral),
// 15-minute periods.
func benchConfig(b *testing.B) *Config {
	c, err := ParseConfig([]byte(`period: 15m
lateness: 5s
metrics:
  - {sample: temp, metric: temp_max, aggregate: max, scale: 1}
  - {sample: door, metric: door_openings, aggregate: sum}
  - {sample: power_w, metric: energy_wh, aggregate: integral, per: 1h}
`))
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func benchSamples(n int) []Sample {
	const sensors = 200
	names := make([]string, sensors)
	for i := range names {
		names[i] = fmt.Sprintf("sensor-%04d", i)
	}
	out := make([]Sample, n)
	for i := range out {
		// 30 samples a second in all, in time order
		out[i] = Sample{Resource: names[i%sensors], Rule: i % 3, Time: 1767229200000 + int64(i)*33, Value: int64(40 + i%17)}
	}
	return out
}

// BenchmarkAggregate folds samples into periods and closes the periods as
// the watermark passes them, as the agent's loop does (without input
// parsing or I/O): the samples/s it reports is the aggregation rate on one
// core.
func BenchmarkAggregate(b *testing.B) {
	cfg := benchConfig(b)
	ss := benchSamples(1 << 20)
	b.ReportAllocs()
	b.ResetTimer()
	a := NewAggregator(cfg)
	closed := 0
	for i := 0; i < b.N; i++ {
		s := ss[i%len(ss)]
		s.Time += int64(i/len(ss)) * int64(len(ss)) * 33 // keep time moving on
		a.Add(s)
		if i%1024 == 0 {
			if to := a.Closable(0); to > a.ClosedTo {
				r, _ := a.Close(to)
				closed += len(r)
			}
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "samples/s")
	_ = closed
}

// BenchmarkParseAndAggregate adds the JSON-lines parsing of each sample.
func BenchmarkParseAndAggregate(b *testing.B) {
	cfg := benchConfig(b)
	p := newLineParser(cfg)
	ss := benchSamples(1 << 14)
	lines := make([][]byte, len(ss))
	for i, s := range ss {
		lines[i] = []byte(fmt.Sprintf(`{"resource":%q,"metric":%q,"value":%d.%d,"time":%d.%03d}`,
			s.Resource, cfg.Metrics[s.Rule].Sample, s.Value/10, s.Value%10, s.Time/1000, s.Time%1000))
	}
	b.ReportAllocs()
	b.ResetTimer()
	a := NewAggregator(cfg)
	for i := 0; i < b.N; i++ {
		s, err := p.Parse(lines[i%len(lines)])
		if err != nil {
			b.Fatal(err)
		}
		s.Time += int64(i/len(lines)) * int64(len(lines)) * 33
		a.Add(s)
		if i%1024 == 0 {
			if to := a.Closable(0); to > a.ClosedTo {
				a.Close(to)
			}
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "samples/s")
}
