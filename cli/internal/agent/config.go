package agent

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/fedmeter/fedmeter/chaincode/model"
	"gopkg.in/yaml.v3"
)

// Aggregate names how a period's samples become one quantity.
type Aggregate string

// The aggregates.
const (
	Sum      Aggregate = "sum"      // the sum of the values
	Max      Aggregate = "max"      // the largest value
	Min      Aggregate = "min"      // the smallest value
	Avg      Aggregate = "avg"      // the sum divided by the count
	Latest   Aggregate = "latest"   // the value of the latest sample (by time)
	Integral Aggregate = "integral" // value × time, each value held until the next sample
)

// Config is the agent's YAML configuration.
type Config struct {
	// Period is the length of a usage period; periods are aligned to the
	// Unix epoch (a 1h period starts on the hour, UTC).
	Period Duration `yaml:"period"`
	// Lateness is the watermark: a period closes once a sample at least
	// this much later than its end has been seen (clock: event) or the
	// wall clock has passed its end by this much (clock: wall). A sample
	// for a closed period is late: counted and dropped.
	Lateness Duration `yaml:"lateness"`
	// Clock is what moves the watermark: "event" (default: the sample
	// times only, so replaying a file gives the same periods) or "wall"
	// (also the wall clock, so a quiet stream's periods still close).
	Clock string `yaml:"clock"`
	// Fields says which field of a JSON-lines sample gives what. A dotted
	// name reaches into nested objects (labels.instance).
	Fields Fields `yaml:"fields"`
	// Labels says which label of a scraped Prometheus sample gives the
	// resource (its metric is the sample's name).
	Labels struct {
		Resource string `yaml:"resource"`
	} `yaml:"labels"`
	// Metrics are the rules: which sample metric becomes which ledger
	// metric, how.
	Metrics []MetricRule `yaml:"metrics"`
}

// Fields are the JSON field names of a sample.
type Fields struct {
	Resource string `yaml:"resource"`
	Metric   string `yaml:"metric"`
	Value    string `yaml:"value"`
	Time     string `yaml:"time"`
	// TimeUnit is the unit of a numeric time: s (default) or ms. A string
	// time is RFC 3339.
	TimeUnit string `yaml:"time_unit"`
}

// MetricRule turns the samples of one sample metric into one ledger metric.
type MetricRule struct {
	// Sample is the metric name in the samples (the metric field of a
	// JSON line, the name of a scraped series).
	Sample string `yaml:"sample"`
	// Metric is the ledger metric the quantity is submitted as (a metric
	// the resource's type defines).
	Metric string `yaml:"metric"`
	// Aggregate is sum, max, min, avg, latest or integral.
	Aggregate Aggregate `yaml:"aggregate"`
	// Scale is how many decimal digits of a sample value are kept (0 to
	// 9), and so the unit of the quantity: a value is read exactly as an
	// integer of 10^-scale units (°C with scale 1: tenths of a degree);
	// further digits are rounded half away from zero.
	Scale int `yaml:"scale"`
	// Divide converts the aggregate into the ledger unit: the quantity is
	// the aggregate (in 10^-scale units) / divide, and for an integral / per
	// as well, rounded half away from zero once, at the end of the period.
	// Default 1.
	Divide int64 `yaml:"divide"`
	// Per is the time unit of an integral (default 1s: value-seconds;
	// 1h gives value-hours).
	Per Duration `yaml:"per"`
	// Offset is added to a max, min, avg or latest before the division,
	// a decimal in the samples' unit: a ledger quantity is never negative,
	// so a temperature in °C is submitted as, e.g., °C + 100 (offset: 100)
	// or in kelvin (offset: 273.15, scale: 2).
	Offset string `yaml:"offset"`
	offset int64
	// MaxGap bounds how long an integral holds a value without a new
	// sample (default: the period). A silent series stops counting.
	MaxGap Duration `yaml:"max_gap"`
}

// Duration is a time.Duration written as in Go ("90s", "1h", "5m").
type Duration time.Duration

// UnmarshalYAML reads "1h30m" (or a number of seconds).
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		var secs int64
		if e2 := n.Decode(&secs); e2 == nil {
			*d = Duration(time.Duration(secs) * time.Second)
			return nil
		}
		return fmt.Errorf("line %d: %q is not a duration (e.g. 30s, 5m, 1h)", n.Line, s)
	}
	*d = Duration(v)
	return nil
}

func (d Duration) ms() int64 { return time.Duration(d).Milliseconds() }

// ErrConfig marks a configuration that cannot be used.
var ErrConfig = errors.New("invalid agent configuration")

// LoadConfig reads and checks a YAML configuration file.
func LoadConfig(file string) (*Config, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%w: %s cannot be read: %v", ErrConfig, file, err)
	}
	c, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return c, nil
}

// ParseConfig parses and checks a YAML configuration; unknown keys are
// errors (a misspelt key must not silently fall back to a default).
func ParseConfig(data []byte) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	return &c, nil
}

func (c *Config) check() error {
	if c.Period <= 0 {
		return errors.New("period is required (e.g. period: 1h)")
	}
	if time.Duration(c.Period)%time.Second != 0 {
		return fmt.Errorf("period %s is not a whole number of seconds (the ledger counts in seconds)", time.Duration(c.Period))
	}
	if c.Lateness < 0 {
		return errors.New("lateness must not be negative")
	}
	switch c.Clock {
	case "":
		c.Clock = "event"
	case "event", "wall":
	default:
		return fmt.Errorf("clock %q is not valid: it must be event or wall", c.Clock)
	}
	f := &c.Fields
	for _, p := range []struct {
		v   *string
		def string
	}{{&f.Resource, "resource"}, {&f.Metric, "metric"}, {&f.Value, "value"}, {&f.Time, "time"}} {
		if *p.v == "" {
			*p.v = p.def
		}
	}
	switch f.TimeUnit {
	case "":
		f.TimeUnit = "s"
	case "s", "ms":
	default:
		return fmt.Errorf("fields.time_unit %q is not valid: it must be s or ms", f.TimeUnit)
	}
	if c.Labels.Resource == "" {
		c.Labels.Resource = "resource"
	}
	if len(c.Metrics) == 0 {
		return errors.New("metrics is empty: name at least one rule (sample, metric, aggregate)")
	}
	seen := map[string]int{}
	for i := range c.Metrics {
		m := &c.Metrics[i]
		where := fmt.Sprintf("metrics[%d]", i)
		if m.Sample == "" {
			return fmt.Errorf("%s: sample is required (the metric name in the samples)", where)
		}
		if m.Metric == "" {
			m.Metric = m.Sample
		}
		if !model.ValidField(m.Metric) {
			return fmt.Errorf("%s: metric %q is not a ledger metric name (lower-case letters, digits or '_', starting with a letter)", where, m.Metric)
		}
		if j, dup := seen[m.Metric]; dup {
			return fmt.Errorf("%s: metric %s is also produced by metrics[%d]: one rule per ledger metric, or their records would share IDs", where, m.Metric, j)
		}
		seen[m.Metric] = i
		switch m.Aggregate {
		case Sum, Max, Min, Avg, Latest, Integral:
		case "":
			return fmt.Errorf("%s: aggregate is required: sum, max, min, avg, latest or integral", where)
		default:
			return fmt.Errorf("%s: aggregate %q is not valid: it must be sum, max, min, avg, latest or integral", where, m.Aggregate)
		}
		if m.Scale < 0 || m.Scale > 9 {
			return fmt.Errorf("%s: scale %d is not valid: it must be 0 to 9", where, m.Scale)
		}
		if m.Divide == 0 {
			m.Divide = 1
		}
		if m.Divide < 0 {
			return fmt.Errorf("%s: divide must be positive", where)
		}
		if m.Offset != "" {
			if m.Aggregate == Sum || m.Aggregate == Integral {
				return fmt.Errorf("%s: offset applies to max, min, avg and latest, not to a %s", where, m.Aggregate)
			}
			v, err := ParseDecimal([]byte(m.Offset), m.Scale)
			if err != nil {
				return fmt.Errorf("%s: offset %q is %v", where, m.Offset, err)
			}
			m.offset = v
		}
		if m.Per == 0 {
			m.Per = Duration(time.Second)
		}
		if m.Per < Duration(time.Millisecond) || time.Duration(m.Per)%time.Millisecond != 0 {
			return fmt.Errorf("%s: per must be a whole number of milliseconds, at least 1ms", where)
		}
		if m.MaxGap == 0 {
			m.MaxGap = c.Period
		}
		if m.MaxGap < 0 {
			return fmt.Errorf("%s: max_gap must not be negative", where)
		}
	}
	return nil
}
