package reports

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteCapacityText writes the summary of a capacity search (f.Capacity):
// the answer first, then the search's settings, one line per step, and the
// generator's limit with its fix when there was one.
func WriteCapacityText(w io.Writer, f *File) error {
	c := f.Capacity
	if c == nil {
		return fmt.Errorf("not a capacity result (no \"capacity\" object)")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "capacity: %s\n", c.Answer)
	fmt.Fprintf(&b, "  verdict %s; by %s, %s .. %s, resolution %s; %d steps in %s\n",
		c.Verdict, c.By, c.Min.String(), c.Max.String(), humanPercent(c.Resolution), len(c.Steps),
		(time.Duration(c.WallS * float64(time.Second))).Round(time.Second))
	if f.Environment.Target != "" {
		fmt.Fprintf(&b, "  target %s\n", f.Environment.Target)
	}
	for _, s := range c.SLOs {
		judged := ""
		if s.Judged != s.Expr {
			judged = fmt.Sprintf(", judged as %s", s.Judged)
		}
		need := ""
		if s.MinSamples > 0 {
			need = fmt.Sprintf(", a step needs %d samples", s.MinSamples)
		}
		fmt.Fprintf(&b, "  SLO %s%s%s\n", s.Expr, judged, need)
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := []string{"step", "phase", "load", "measured", "pass"}
	for _, s := range c.SLOs {
		head = append(head, s.Judged[:strings.IndexAny(s.Judged+" ", " <>")])
	}
	head = append(head, "goodput", "good/s", "streams/s", "tokens/s", "")
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	for _, st := range c.Steps {
		row := []string{fmt.Sprint(st.N), st.Phase, st.Load.String(), fmt.Sprintf("%.0fs", st.DurationS), passWord(st)}
		for i := range c.SLOs {
			row = append(row, stepObserved(st, i))
		}
		row = append(row, goodputCell(st.Goodput), fmtFloat(st.Goodput.PerS, 1),
			fmtFloat(st.StreamsPerS, 1), fmtFloat(st.TokensPerS, 0), "")
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, st := range c.Steps {
		if st.Why != "" {
			fmt.Fprintf(&b, "  step %d (%s): %s\n", st.N, st.Load.String(), st.Why)
		}
	}
	b.WriteString("  goodput: streams that met every SLO / streams judged (failed streams and dropped arrivals count as misses; streams the end of a step cut before they missed are left out)\n")
	if c.GeneratorLimited {
		fmt.Fprintf(&b, "\ngenerator-limited: %s\nfix: %s\n", c.Limit, c.Fix)
	}
	for _, n := range c.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func passWord(st CapacityStep) string {
	switch {
	case st.Degraded:
		return "GEN-LIMITED"
	case st.Pass && st.SamplesShort:
		return "pass*"
	case st.Pass:
		return "pass"
	}
	return "FAIL"
}

func stepObserved(st CapacityStep, i int) string {
	if i >= len(st.Observed) {
		return "-"
	}
	t := st.Observed[i]
	if t.Error != "" {
		return t.Error
	}
	return fmtObserved(t.Observed, t.Unit)
}

func goodputCell(g Goodput) string {
	if g.Judged == 0 {
		return "-"
	}
	return fmt.Sprintf("%d/%d %s", g.Good, g.Judged, humanPercent(g.Fraction))
}
