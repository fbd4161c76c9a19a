package serve

import (
	"math"
	"math/big"
	"strconv"
)

// The console's charts: inline SVG drawn on the server (templates/chart.html
// renders a chart), so that a page needs no script and no library to show
// them. Amounts stay int64 minor units; only the pixel geometry is derived
// from them (scaleTo, exact integer arithmetic), and every label is the
// amount formatted as money with its currency.

// chart is an SVG drawing: a viewBox and its shapes.
type chart struct {
	Title   string // the accessible name (aria-label)
	W, H    int64
	Rects   []chartRect
	Circles []chartCircle
	Lines   []chartLine
	Texts   []chartText
	Legend  []legendItem
}

type chartRect struct {
	X, Y, W, H int64
	Fill       string
	Tip        string // the tooltip (an SVG <title>)
}

type chartCircle struct {
	X, Y, R int64
	Fill    string
	Tip     string
}

type chartLine struct {
	X1, Y1, X2, Y2 int64
	Stroke         string
	Dash           bool
}

type chartText struct {
	X, Y   int64
	Anchor string // start, middle, end
	Text   string
	Small  bool
}

type legendItem struct {
	Color, Label string
}

// palette is the series' colours, in order.
var palette = []string{"#2f6fb0", "#e08a1e", "#3a9a5b", "#b8406b", "#7457b5", "#2a9d9d", "#8a6d3b", "#5d6b82"}

func colour(i int) string { return palette[i%len(palette)] }

// scaleTo is v*px/max rounded down, exact for any int64 (0 <= v <= max).
func scaleTo(v, max, px int64) int64 {
	if max <= 0 || v <= 0 {
		return 0
	}
	var n big.Int
	n.Mul(big.NewInt(v), big.NewInt(px))
	n.Quo(&n, big.NewInt(max))
	return n.Int64()
}

// niceCeil is the scale's top for a largest value v: the smallest of 4,
// 8, 12 and 20 times a power of ten that is at least v, so that the four
// grid lines fall on round values.
func niceCeil(v int64) int64 {
	for p := int64(1); p <= math.MaxInt64/200; p *= 10 {
		for _, m := range []int64{4, 8, 12, 20} {
			if m*p >= v {
				return m * p
			}
		}
	}
	return v
}

// series is one stack of a bar chart: a value per category.
type series struct {
	Name   string
	Values []int64
}

// stackedBars draws a column per category with the series stacked in it
// (non-negative values; a negative one, a credit, counts as zero in the
// column and shows in its tooltip). format writes a value with its unit.
func stackedBars(title string, cats []string, ss []series, format func(int64) string) chart {
	const (
		w, h                     = 760, 250
		left, right, top, bottom = 110, 10, 12, 34
		plotW, plotH             = w - left - right, h - top - bottom
		yLabels                  = 4  // grid lines above zero
		maxXLabels               = 16 // category labels written at most
	)
	c := chart{Title: title, W: w, H: h}
	n := int64(len(cats))
	if n == 0 {
		return c
	}
	var max int64
	for i := range cats {
		var sum int64
		for _, s := range ss {
			if v := s.Values[i]; v > 0 {
				sum += v
			}
		}
		if sum > max {
			max = sum
		}
	}
	max = niceCeil(max)
	for k := int64(0); k <= yLabels; k++ {
		v := max / yLabels * k
		y := top + plotH - scaleTo(v, max, plotH)
		c.Lines = append(c.Lines, chartLine{X1: left, Y1: y, X2: w - right, Y2: y, Stroke: "#dfe3e8", Dash: k > 0})
		c.Texts = append(c.Texts, chartText{X: left - 6, Y: y + 4, Anchor: "end", Text: format(v), Small: true})
	}
	slot := plotW / n
	bw := slot * 6 / 10
	if bw < 1 {
		bw = 1
	}
	every := (n + maxXLabels - 1) / maxXLabels
	for i, cat := range cats {
		x := left + int64(i)*slot + (slot-bw)/2
		base := int64(top + plotH)
		for j, s := range ss {
			v := s.Values[i]
			tip := s.Name + ", " + cat + ": " + format(v)
			if v <= 0 {
				if v < 0 {
					c.Rects = append(c.Rects, chartRect{X: x, Y: base - 1, W: bw, H: 1, Fill: colour(j), Tip: tip})
				}
				continue
			}
			bh := scaleTo(v, max, plotH)
			if bh < 1 {
				bh = 1
			}
			c.Rects = append(c.Rects, chartRect{X: x, Y: base - bh, W: bw, H: bh, Fill: colour(j), Tip: tip})
			base -= bh
		}
		if int64(i)%every == 0 {
			c.Texts = append(c.Texts, chartText{X: x + bw/2, Y: h - bottom + 16, Anchor: "middle", Text: cat, Small: true})
		}
	}
	for j, s := range ss {
		c.Legend = append(c.Legend, legendItem{Color: colour(j), Label: s.Name})
	}
	return c
}

// hbar is a row of a horizontal bar chart: a value against a full scale
// (a quota's limit), or against the largest row when Of is 0.
type hbar struct {
	Label string
	Value int64
	Of    int64
	Text  string // the value as written at the bar's end
}

// hbars draws one bar a row, with its label on the left and its value on
// the right; a row with Of shows the full scale in grey behind the bar,
// red when the value reaches it.
func hbars(title string, rows []hbar) chart {
	const (
		w, rowH       = 760, 26
		labelW, textW = 250, 170
		barW          = w - labelW - textW
	)
	c := chart{Title: title, W: w, H: int64(len(rows))*rowH + 4}
	var max int64 = 1
	for _, r := range rows {
		if r.Of == 0 && r.Value > max {
			max = r.Value
		}
	}
	for i, r := range rows {
		y := int64(i)*rowH + 4
		c.Texts = append(c.Texts, chartText{X: labelW - 8, Y: y + 15, Anchor: "end", Text: r.Label})
		full, fill := max, colour(0)
		if r.Of > 0 {
			full = r.Of
			c.Rects = append(c.Rects, chartRect{X: labelW, Y: y + 3, W: barW, H: rowH - 10, Fill: "#e3e6eb", Tip: r.Label + ": " + r.Text})
			if r.Value >= r.Of {
				fill = "#b3261e"
			}
		}
		v := r.Value
		if v > full {
			v = full
		}
		bw := scaleTo(v, full, barW)
		if r.Value > 0 && bw < 1 {
			bw = 1
		}
		if bw > 0 {
			c.Rects = append(c.Rects, chartRect{X: labelW, Y: y + 3, W: bw, H: rowH - 10, Fill: fill, Tip: r.Label + ": " + r.Text})
		}
		c.Texts = append(c.Texts, chartText{X: labelW + barW + 8, Y: y + 15, Anchor: "start", Text: r.Text})
	}
	return c
}

// timelineRow is a row of a timeline: its label and its events.
type timelineRow struct {
	Label  string
	Events []timelineEvent
}

type timelineEvent struct {
	At    int64 // Unix seconds
	Label string
	Bad   bool // revoked
	Tip   string
}

// timeline draws a row per label with a mark at each event's time, from
// the earliest event to end (Unix seconds).
func timeline(title string, rows []timelineRow, end int64, day func(int64) string) chart {
	const (
		w, rowH     = 760, 46
		left, right = 110, 30
		plotW       = w - left - right
	)
	c := chart{Title: title, W: w, H: int64(len(rows))*rowH + 30}
	start := end
	for _, r := range rows {
		for _, e := range r.Events {
			if e.At < start {
				start = e.At
			}
			if e.At > end {
				end = e.At
			}
		}
	}
	if end <= start {
		end = start + 1
	}
	x := func(t int64) int64 { return left + scaleTo(t-start, end-start, plotW) }
	for i, r := range rows {
		y := int64(i)*rowH + 24
		c.Texts = append(c.Texts, chartText{X: left - 10, Y: y + 4, Anchor: "end", Text: r.Label})
		c.Lines = append(c.Lines, chartLine{X1: left, Y1: y, X2: w - right, Y2: y, Stroke: "#b9c0cb"})
		for j, e := range r.Events {
			fill := colour(j)
			if e.Bad {
				fill = "#b3261e"
			}
			ex := x(e.At)
			c.Circles = append(c.Circles, chartCircle{X: ex, Y: y, R: 6, Fill: fill, Tip: e.Tip})
			ty := y - 10
			if j%2 == 1 {
				ty = y + 20
			}
			anchor := "middle" // at the ends, a label stays inside the drawing
			if ex-left < 60 {
				anchor = "start"
			} else if w-right-ex < 60 {
				anchor = "end"
			}
			c.Texts = append(c.Texts, chartText{X: ex, Y: ty, Anchor: anchor, Text: e.Label, Small: true})
		}
	}
	h := c.H
	c.Texts = append(c.Texts, chartText{X: left, Y: h - 4, Anchor: "start", Text: day(start), Small: true},
		chartText{X: w - right, Y: h - 4, Anchor: "end", Text: day(end), Small: true})
	return c
}

// count formats a plain quantity with its unit.
func count(unit string) func(int64) string {
	return func(v int64) string {
		if unit == "" {
			return strconv.FormatInt(v, 10)
		}
		return strconv.FormatInt(v, 10) + " " + unit
	}
}
