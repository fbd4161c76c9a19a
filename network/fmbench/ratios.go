package main

// The ratios of fedmeter's figures to the baseline's, and the figures at
// capacity that --goal judges. The goals themselves are the caller's
// (README.md states the project's): nothing here knows them.

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// goalFigures are the figures --goal may judge, by the name --goal uses:
// the ratio's name and the figure compared at capacity.
var goalFigures = map[string]struct{ ratio, fig, text string }{
	"release": {"release tx/s", "release", "release-and-bill"},
	"usage":   {"usage records/s", "usage records", "usage records/s"},
}

// parseGoals reads --goal FIGURE=X, each figure once.
func parseGoals(list []string) (map[string]float64, error) {
	out := map[string]float64{}
	for _, g := range list {
		name, v, ok := strings.Cut(strings.TrimSpace(g), "=")
		x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if _, known := goalFigures[name]; !ok || !known || err != nil || !(x > 0) || math.IsInf(x, 0) {
			return nil, usageErr(nil, "--goal %q is not valid: give release=X or usage=X with X a positive number (release=0.7: release tx/s >= 0.7x Put tx/s)", g)
		}
		if _, dup := out[name]; dup {
			return nil, usageErr(nil, "--goal names %s twice", name)
		}
		out[name] = x
	}
	return out, nil
}

// benchRatio is a fedmeter workload's figure over the baseline's at one load.
type benchRatio struct {
	Round    int     `json:"round,omitempty"` // with --rounds
	Load     string  `json:"load"`
	Name     string  `json:"name"`
	Value    float64 `json:"value"`
	Of       string  `json:"of"`
	Baseline float64 `json:"baseline"`
	Ratio    float64 `json:"ratio"`
	Goal     float64 `json:"goal,omitempty"`
}

// benchGoal is a figure at capacity over the whole run, judged against
// its --goal if one was given, or the run's endorsement mismatches, which
// must be 0.
type benchGoal struct {
	// Goal says what is compared: "release-and-bill >= 0.7x Put tx/s"
	// with --goal release=0.7, "release-and-bill / Put tx/s" without.
	Goal string `json:"goal"`
	// Capacity compares the best figure of any load with the best of the
	// baseline steps it was paired with (the goal's measure: the Put TPS the
	// network can do); SameLoad is the range of the ratios at equal loads.
	Capacity string `json:"capacity"`
	SameLoad string `json:"same_load,omitempty"`
	// Rounds is each round's ratio at capacity (with --rounds); the goal
	// is judged on their median.
	Rounds []float64 `json:"rounds,omitempty"`
	// Met says whether the goal is met; absent for a figure without one.
	Met *bool `json:"met,omitempty"`
}

// ---- ratios ----

// benchRatios pairs each fedmeter step with its baseline step, and sums
// the run up: each figure at capacity, judged against goals (by --goal
// name: release, usage; absent ones are reported, not judged), and the
// endorsement mismatches.
func benchRatios(steps []*benchStep, goals map[string]float64) ([]*benchRatio, []*benchGoal) {
	// Each fedmeter step pairs with the last step of its baseline at the
	// same load in the same round (compareSteps runs it right before).
	// Goals take each round's best figures, and with several rounds the
	// median round.
	type at struct {
		round    int
		load, wl string
	}
	baseOf := map[string]string{"release": "put", "usage": "put", "quote": "get", "bills": "get"}
	last := map[at]*benchStep{}
	r2 := func(v float64) float64 { return math.Round(v*1000) / 1000 }
	mismatches := 0
	for _, s := range steps {
		mismatches += s.Mismatches
		if s.LoggedMismatches != nil {
			mismatches += *s.LoggedMismatches
		}
	}
	// By round: the best of each figure over the loads, and the best of
	// the baseline steps it was paired with.
	type figs struct{ best, base map[string]float64 }
	byRound := map[int]*figs{}
	var rounds []int
	type span struct{ lo, hi float64 }
	same := map[string]*span{}
	var ratios []*benchRatio
	for _, s := range steps {
		b, ok := baseOf[s.Workload]
		if !ok {
			last[at{s.Round, s.Load, s.Workload}] = s
			continue
		}
		base := last[at{s.Round, s.Load, b}]
		if base == nil || base.TxPerSec <= 0 {
			continue
		}
		f := byRound[s.Round]
		if f == nil {
			f = &figs{map[string]float64{}, map[string]float64{}}
			byRound[s.Round] = f
			rounds = append(rounds, s.Round)
		}
		// fig is the figure the goals judge: tx/s, or records/s for usage.
		fig, v := s.Workload, s.TxPerSec
		if s.Workload == "usage" {
			fig, v = "usage records", s.RecordsPerSec
		}
		f.best[fig] = math.Max(f.best[fig], v)
		f.base[fig] = math.Max(f.base[fig], base.TxPerSec)
		add := func(name string, v float64, of string, goal float64) {
			r := v / base.TxPerSec
			ratios = append(ratios, &benchRatio{Round: s.Round, Load: s.Load, Name: name, Value: r2(v), Of: of, Baseline: r2(base.TxPerSec), Ratio: r2(r), Goal: goal})
			if sp := same[name]; sp == nil {
				same[name] = &span{r, r}
			} else {
				sp.lo, sp.hi = math.Min(sp.lo, r), math.Max(sp.hi, r)
			}
		}
		switch s.Workload {
		case "release":
			add("release tx/s", s.TxPerSec, "put tx/s", goals["release"])
		case "usage":
			add("usage records/s", s.RecordsPerSec, "put tx/s", goals["usage"])
			add("usage tx/s", s.TxPerSec, "put tx/s", 0)
		case "quote":
			add("quote/s", s.TxPerSec, "get/s", 0)
		case "bills":
			add("bill list/s", s.TxPerSec, "get/s", 0)
		}
	}
	slices.Sort(rounds)
	var out []*benchGoal
	goal := func(name string, digits int) {
		gf := goalFigures[name]
		ratioName, fig := gf.ratio, gf.fig
		want, judged := goals[name]
		text := gf.text + " / Put tx/s"
		if judged {
			text = fmt.Sprintf("%s >= %gx Put tx/s", gf.text, want)
		}
		sp := same[ratioName]
		if sp == nil {
			return
		}
		var per []float64
		var best, base float64
		for _, r := range rounds {
			if f := byRound[r]; f.base[fig] > 0 && f.best[fig] > 0 {
				per = append(per, f.best[fig]/f.base[fig])
				best, base = f.best[fig], f.base[fig]
			}
		}
		if len(per) == 0 {
			return
		}
		med := median(per)
		d := goalDigits(med, want, digits)
		g := &benchGoal{Goal: text, Capacity: fmt.Sprintf("%.*fx (%.0f / %.0f)", d, med, best, base), SameLoad: fmt.Sprintf("%.*fx to %.*fx", digits, sp.lo, digits, sp.hi)}
		if len(per) > 1 {
			sorted := slices.Sorted(slices.Values(per))
			g.Capacity = fmt.Sprintf("%.*fx (median of %d rounds, %.*fx to %.*fx)", d, med, len(per), digits, sorted[0], digits, sorted[len(sorted)-1])
			for _, r := range per {
				g.Rounds = append(g.Rounds, r2(r))
			}
		}
		if judged {
			met := med >= want
			g.Met = &met
		}
		out = append(out, g)
	}
	goal("release", 2)
	goal("usage", 1)
	none := mismatches == 0
	out = append(out, &benchGoal{Goal: "0 endorsement mismatches", Capacity: strconv.Itoa(mismatches), Met: &none})
	return ratios, out
}

// goalDigits is how many decimals to show figure v against goal want:
// digits, or more where digits would round v onto the goal's other side
// (0.697 printed as 0.70x beside "not met").
func goalDigits(v, want float64, digits int) int {
	for d := digits; d < digits+4; d++ {
		p := math.Pow(10, float64(d))
		if (math.Round(v*p)/p >= want) == (v >= want) {
			return d
		}
	}
	return digits + 4
}

// median is the middle of xs (the mean of the middle two of an even count).
func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func printRatios(p *printer, rep *benchReport) {
	rows := make([][]string, 0, len(rep.Ratios))
	for _, r := range rep.Ratios {
		goal := ""
		if r.Goal > 0 {
			goal = fmt.Sprintf(">= %gx", r.Goal)
			if r.Ratio >= r.Goal {
				goal += " (met)"
			} else {
				goal += " (not met)"
			}
		}
		load := r.Load
		if r.Round > 0 {
			load += fmt.Sprintf(" #%d", r.Round)
		}
		rows = append(rows, []string{load, r.Name, fmt.Sprintf("%.1f", r.Value), r.Of, fmt.Sprintf("%.1f", r.Baseline), fmt.Sprintf("%.3fx", r.Ratio), goal})
	}
	p.Printf("\nRatios to the baseline at the same load:\n")
	p.Table("(no baseline steps)", []string{"LOAD", "FEDMETER", "VALUE", "BASELINE", "VALUE", "RATIO", "GOAL"}, rows)
	p.Printf("\nCapacity and goals: each figure at its best load over Put's best (the network's capacity; with --rounds, the median round's), and the range at equal loads; --goal judges them:\n")
	grows := make([][]string, len(rep.Goals))
	for i, g := range rep.Goals {
		met := ""
		if g.Met != nil {
			met = "not met"
			if *g.Met {
				met = "met"
			}
		}
		grows[i] = []string{"  " + g.Goal, g.Capacity, g.SameLoad, met}
	}
	p.Table("", []string{"  FIGURE", "AT CAPACITY", "AT EQUAL LOADS", "GOAL"}, grows)
}
