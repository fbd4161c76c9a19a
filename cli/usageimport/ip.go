package usageimport

import (
	"fmt"
	"strconv"
	"strings"
)

// parseIP reads APEL public IP records v0.2 as cASO writes them: JSON
// messages {"Type": "APEL Public IP message", "Version": "0.2",
// "UsageRecords": [...]}, several of which may follow one another. A record
// is a count at an instant, not usage over a period: IPCount public
// (floating) IPs of version IPVersion (4 or 6) held by a project
// (LocalGroup, and LocalUser when cASO knows it) at MeasurementTime (Unix
// seconds, or an ISO 8601 time in older cASO releases). The mapping's
// interval says how long each count stands for.
//
// cASO gives each record a random "uuid" at every run, so the uuid does not
// identify a measurement: a second extraction of the same instant gets new
// ones. A record's identity is what it measures instead: site, compute
// service, project, user, IP version and the measurement time (as Unix
// seconds, so that both spellings of one instant are one identity).
func parseIP(name string, data []byte) ([]Record, []Problem) {
	return parseJSONMessages(name, data, jsonMessages{Type: "APEL Public IP message", Versions: []string{"0.2"}, Noun: "public IP",
		identify: func(r *Record) *Problem {
			fail := func(format string, a ...any) *Problem {
				p := r.problem(Malformed, format, a...)
				return &p
			}
			v := r.Fields["IPVersion"]
			if v == "" {
				return fail("the record has no IPVersion (4 or 6), which says what it counts")
			}
			if v != "4" && v != "6" {
				return fail("IPVersion %q is not 4 or 6", clip(v))
			}
			mt := r.Fields["MeasurementTime"]
			if mt == "" {
				return fail("the record has no MeasurementTime, the instant it counts at")
			}
			if t, err := parseTime(mt); err == nil {
				mt = strconv.FormatInt(t, 10)
			}
			if r.Fields["LocalGroup"] == "" && r.Fields["LocalUser"] == "" {
				return fail("the record has neither LocalGroup nor LocalUser: it counts the IPs of nobody")
			}
			r.content = []string{"IPCount"}
			r.Identity = strings.Join([]string{r.Fields["SiteName"], r.Fields["CloudComputeService"], r.Fields["LocalGroup"], r.Fields["LocalUser"], "IPv" + v, mt}, " ")
			return nil
		}})
}

// checkIPMetrics refuses an apel-ip rule that would read the counts of IPv4
// and of IPv6 records into one metric: a project's two records of one
// instant would then be one resource's metric twice over the same period,
// which Apply reports as a conflict (or, when the counts are equal, skips
// as a duplicate: half the IPs lost). Each metric must be kept to one
// version, by the rule's where or the metric's own.
func (r *Rule) checkIPMetrics() error {
	ruleVersions := versionsIn(r.Where)
	for i, mm := range r.Metrics {
		vs := ruleVersions
		if mv := versionsIn(mm.Where); mv != nil {
			vs = mv
		}
		if len(vs) != 1 {
			return fmt.Errorf("metrics[%d]: %s would add the IPv4 and the IPv6 counts of a project into one metric over the same period; keep it to one version with where: [{field: IPVersion, in: [4]}] (on the metric or the section), and map IPv6 to a metric of its own", i+1, mm.Metric)
		}
	}
	return nil
}

// versionsIn is the IP versions a where keeps (nil: it does not filter on
// IPVersion).
func versionsIn(ws []FieldFilter) []string {
	var out []string
	for _, w := range ws {
		if w.Field != "IPVersion" {
			continue
		}
		if out != nil {
			// Two filters on IPVersion keep the values both name.
			var both []string
			for _, a := range out {
				for _, b := range w.In {
					if a == b {
						both = append(both, a)
					}
				}
			}
			out = both
			if out == nil {
				out = []string{}
			}
			continue
		}
		out = append([]string{}, w.In...)
	}
	if len(out) > 1 {
		seen := map[string]bool{}
		uniq := out[:0]
		for _, v := range out {
			if !seen[v] {
				seen[v] = true
				uniq = append(uniq, v)
			}
		}
		out = uniq
	}
	return out
}
