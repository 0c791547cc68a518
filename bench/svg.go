package bench

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strings"
)

// Chart geometry, in SVG user units.
const (
	svgWidth, svgHeight = 760, 440
	svgLeft, svgRight   = 80, 80 // room for the two y axes' labels
	svgTop, svgBottom   = 60, 60
	svgTicks            = 5
)

// series is one line of the chart.
type series struct {
	class, name, color, dash string
	axis                     int // 0: sig/s (left), 1: p99 ms (right)
	values                   []float64
}

// WritePlot draws throughput and p99 latency against concurrency as a self-contained SVG: the
// door's sig/s and each baseline's on the left axis, the door's p99 on the right, one point per
// concurrency on every line (concurrencies evenly spaced, as a sweep is usually geometric).
func (r *Report) WritePlot(w io.Writer) error {
	if len(r.Steps) == 0 {
		return fmt.Errorf("no steps to plot")
	}
	all := r.plotSeries()
	var top [2]float64
	for _, s := range all {
		for _, v := range s.values {
			top[s.axis] = math.Max(top[s.axis], v)
		}
	}
	top[0], top[1] = niceCeil(top[0]), niceCeil(top[1])
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		svgWidth, svgHeight, svgWidth, svgHeight)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", svgLeft, esc(r.title()))
	r.drawAxes(&b, top)
	for i, s := range all {
		drawSeries(&b, s, r.Steps, top[s.axis])
		drawLegend(&b, i, s)
	}
	b.WriteString("</svg>\n")
	_, err := w.Write(b.Bytes())
	return err
}

func (r *Report) title() string {
	return fmt.Sprintf("mpcsigner bench: %s, %s, %d key(s)", r.Door, r.Scheme, r.Keys)
}

func (r *Report) plotSeries() []series {
	door := series{class: "throughput", name: r.Door + " sig/s", color: "#1f77b4"}
	p99 := series{class: "p99", name: r.Door + " p99 ms", color: "#d62728", dash: "6 4", axis: 1}
	greys := []string{"#7f7f7f", "#2ca02c", "#9467bd", "#8c564b"}
	var bases []series
	for i, name := range r.baselineNames() {
		bases = append(bases, series{class: "baseline", name: name + " sig/s", color: greys[i%len(greys)], dash: "2 3"})
	}
	for _, s := range r.Steps {
		door.values = append(door.values, s.Result.SigPerSec)
		p99.values = append(p99.values, s.Result.LatencyMs.P99)
		for i := range bases {
			v := 0.0
			if i < len(s.Baselines) {
				v = s.Baselines[i].Result.SigPerSec
			}
			bases[i].values = append(bases[i].values, v)
		}
	}
	return append([]series{door, p99}, bases...)
}

func (r *Report) drawAxes(b *bytes.Buffer, top [2]float64) {
	x0, x1, y0, y1 := float64(svgLeft), float64(svgWidth-svgRight), float64(svgHeight-svgBottom), float64(svgTop)
	fmt.Fprintf(b, `<g class="axes" stroke="#333" fill="none"><line x1="%g" y1="%g" x2="%g" y2="%g"/><line x1="%g" y1="%g" x2="%g" y2="%g"/><line x1="%g" y1="%g" x2="%g" y2="%g"/></g>`+"\n",
		x0, y0, x1, y0, x0, y0, x0, y1, x1, y0, x1, y1)
	for i := 0; i <= svgTicks; i++ {
		y := y0 - (y0-y1)*float64(i)/svgTicks
		fmt.Fprintf(b, `<line x1="%g" y1="%.1f" x2="%g" y2="%.1f" stroke="#ddd"/>`, x0, y, x1, y)
		fmt.Fprintf(b, `<text x="%g" y="%.1f" text-anchor="end">%s</text>`, x0-6, y+4, axisLabel(top[0]*float64(i)/svgTicks))
		fmt.Fprintf(b, `<text x="%g" y="%.1f">%s</text>`+"\n", x1+6, y+4, axisLabel(top[1]*float64(i)/svgTicks))
	}
	for i, s := range r.Steps {
		fmt.Fprintf(b, `<text x="%.1f" y="%g" text-anchor="middle">%d</text>`+"\n", xAt(i, len(r.Steps)), y0+18, s.Concurrency)
	}
	fmt.Fprintf(b, `<text x="%g" y="%d" text-anchor="middle">concurrency (requests in flight)</text>`+"\n", (x0+x1)/2, svgHeight-16)
	fmt.Fprintf(b, `<text transform="translate(18 %g) rotate(-90)" text-anchor="middle">signatures per second</text>`+"\n", (y0+y1)/2)
	fmt.Fprintf(b, `<text transform="translate(%d %g) rotate(90)" text-anchor="middle">p99 latency (ms)</text>`+"\n", svgWidth-14, (y0+y1)/2)
}

func drawSeries(b *bytes.Buffer, s series, steps []Step, top float64) {
	var pts []string
	for i, v := range s.values {
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", xAt(i, len(s.values)), yAt(v, top)))
	}
	dash := ""
	if s.dash != "" {
		dash = fmt.Sprintf(` stroke-dasharray="%s"`, s.dash)
	}
	fmt.Fprintf(b, `<g class="series %s" data-name="%s">`, s.class, esc(s.name))
	fmt.Fprintf(b, `<polyline fill="none" stroke="%s" stroke-width="2"%s points="%s"/>`, s.color, dash, strings.Join(pts, " "))
	for i, v := range s.values {
		fmt.Fprintf(b, `<circle class="point %s" data-concurrency="%d" data-value="%g" cx="%.1f" cy="%.1f" r="4" fill="%s"><title>%s at %d: %.4g</title></circle>`,
			s.class, steps[i].Concurrency, v, xAt(i, len(s.values)), yAt(v, top), s.color, esc(s.name), steps[i].Concurrency, v)
	}
	b.WriteString("</g>\n")
}

func drawLegend(b *bytes.Buffer, i int, s series) {
	x, y := float64(svgLeft+10+(i%3)*200), float64(36+(i/3)*14)
	fmt.Fprintf(b, `<line x1="%g" y1="%g" x2="%g" y2="%g" stroke="%s" stroke-width="2"/><text x="%g" y="%g">%s</text>`+"\n",
		x, y, x+24, y, s.color, x+30, y+4, esc(s.name))
}

// xAt spreads n points evenly over the plot width (one point sits in the middle).
func xAt(i, n int) float64 {
	x0, x1 := float64(svgLeft), float64(svgWidth-svgRight)
	if n <= 1 {
		return (x0 + x1) / 2
	}
	pad := (x1 - x0) / float64(2*n)
	return x0 + pad + (x1-x0-2*pad)*float64(i)/float64(n-1)
}

func yAt(v, top float64) float64 {
	y0, y1 := float64(svgHeight-svgBottom), float64(svgTop)
	if top <= 0 || math.IsNaN(v) {
		return y0
	}
	return y0 - (y0-y1)*math.Min(math.Max(v, 0), top)/top
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten, so that axis ticks are round.
func niceCeil(v float64) float64 {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func axisLabel(v float64) string {
	if v >= 100 || v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2g", v)
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
