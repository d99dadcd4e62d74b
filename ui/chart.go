package ui

import (
	"fmt"
	"slices"
	"time"

	"github.com/wsxdev/wsx/audit"
)

// chart is a bar chart of uses per day, one stacked colour per secret,
// drawn by the audit page's template as SVG: numbers and names only, so
// html/template escapes every name and no script draws anything.
type chart struct {
	Width, Height int
	Bars          []bar
	XLabels       []label
	YLabels       []label
	Legend        []legend
	Axis          line
	Total         int
	From, To      string
}

type bar struct {
	X, Y, W, H int
	Fill       string
	Title      string
}

type label struct {
	X, Y int
	Text string
}

type line struct{ X1, Y1, X2, Y2 int }

type legend struct {
	X, Y int
	Fill string
	Name string
}

// palette colours the secrets, in order of their number of uses.
var palette = []string{"#2563eb", "#ea580c", "#16a34a", "#9333ea", "#dc2626", "#0891b2", "#ca8a04", "#db2777", "#6b7280"}

// Chart geometry.
const (
	chartW      = 760
	plotH       = 200
	marginLeft  = 40
	marginTop   = 10
	marginBelow = 30
	legendRow   = 18
)

// usesChart counts uses per local day in [from, to) per secret. The
// secrets with the most uses get their own colour; the rest are summed as others.
func usesChart(uses []audit.Record, from, to time.Time) chart {
	days := 0
	for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
		days++
	}
	days = max(days, 1)
	dayIndex := func(t time.Time) int {
		t = t.Local()
		day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.Local)
		i := 0
		for d := from; d.Before(day); d = d.AddDate(0, 0, 1) {
			i++
		}
		return i
	}
	totals := map[string]int{}
	for _, u := range uses {
		totals[u.Secret]++
	}
	names := make([]string, 0, len(totals))
	for n := range totals {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int {
		if totals[a] != totals[b] {
			return totals[b] - totals[a]
		}
		if a < b {
			return -1
		}
		return 1
	})
	series := names
	if len(names) > maxChartNames {
		series = append(slices.Clone(names[:maxChartNames]), others)
	}
	colour := map[string]string{}
	for i, n := range series {
		colour[n] = palette[min(i, len(palette)-1)]
	}
	counts := make([]map[string]int, days)
	for i := range counts {
		counts[i] = map[string]int{}
	}
	for _, u := range uses {
		i := dayIndex(u.Time)
		if i < 0 || i >= days {
			continue
		}
		n := u.Secret
		if _, ok := colour[n]; !ok {
			n = others
		}
		counts[i][n]++
	}
	peak := 0
	for _, c := range counts {
		sum := 0
		for _, v := range c {
			sum += v
		}
		peak = max(peak, sum)
	}
	legendRows := (len(series) + 3) / 4
	c := chart{Width: chartW, Height: marginTop + plotH + marginBelow + legendRows*legendRow + 6,
		Total: len(uses), From: from.Format(time.DateOnly), To: to.AddDate(0, 0, -1).Format(time.DateOnly)}
	plotW := chartW - marginLeft - 10
	slot := plotW / days
	barW := max(slot-2, 1)
	base := marginTop + plotH
	c.Axis = line{marginLeft, base, marginLeft + slot*days, base}
	scale := max(peak, 1)
	for i, cnt := range counts {
		cum := 0
		for _, n := range series {
			v := cnt[n]
			if v == 0 {
				continue
			}
			// Edges from running sums, so the stack adds up exactly.
			bottom := base - cum*plotH/scale
			cum += v
			y := base - cum*plotH/scale
			h := max(bottom-y, 1)
			day := from.AddDate(0, 0, i).Format(time.DateOnly)
			c.Bars = append(c.Bars, bar{X: marginLeft + i*slot + 1, Y: y, W: barW, H: h, Fill: colour[n],
				Title: fmt.Sprintf("%s: %s used %d times", day, n, v)})
		}
	}
	step := max(days/8, 1)
	for i := 0; i < days; i += step {
		c.XLabels = append(c.XLabels, label{X: marginLeft + i*slot + slot/2, Y: base + 16,
			Text: from.AddDate(0, 0, i).Format("Jan 2")})
	}
	c.YLabels = append(c.YLabels, label{X: marginLeft - 6, Y: base, Text: "0"})
	if peak > 0 {
		c.YLabels = append(c.YLabels, label{X: marginLeft - 6, Y: marginTop + 8, Text: fmt.Sprint(peak)})
	}
	for i, n := range series {
		c.Legend = append(c.Legend, legend{X: marginLeft + (i%4)*(plotW/4), Y: base + marginBelow + (i/4)*legendRow,
			Fill: colour[n], Name: fmt.Sprintf("%s (%d)", n, seriesTotal(n, totals, series))})
	}
	return c
}

// others is the series of the secrets past maxChartNames; with a space,
// it cannot be a secret's name.
const others = "other secrets"

// seriesTotal is the uses a legend entry stands for.
func seriesTotal(n string, totals map[string]int, series []string) int {
	if n != others {
		return totals[n]
	}
	sum := 0
	for name, v := range totals {
		if !slices.Contains(series, name) {
			sum += v
		}
	}
	return sum
}
