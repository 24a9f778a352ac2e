package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
)

// ErrBadFile is wrapped by every error ReadFile returns for a file that
// exists but is not a usable ssebench result.
var ErrBadFile = errors.New("not a usable ssebench result")

// WriteJSON writes f as indented JSON (schema 1). Key order
// is stable: struct fields in declaration order, map keys sorted. Nil
// slices and maps are written as [] and {} so consumers need not care.
func WriteJSON(w io.Writer, f *File) error {
	g := *f
	normalize(&g)
	if g.Schema == 0 {
		g.Schema = SchemaVersion
	}
	if g.Tool == "" {
		g.Tool = ToolName
	}
	if err := checkFinite(&g); err != nil {
		return fmt.Errorf("write JSON result: %w", err)
	}
	b, err := json.MarshalIndent(&g, "", "  ")
	if err != nil {
		return fmt.Errorf("write JSON result: %w", err)
	}
	b = append(b, '\n')
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("write JSON result: %w", err)
	}
	return nil
}

// checkFinite reports a NaN or infinite float, which JSON cannot hold,
// naming the field.
func checkFinite(f *File) error {
	bad := func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }
	check := func(name string, vs ...float64) error {
		for _, v := range vs {
			if bad(v) {
				return fmt.Errorf("%s is not a finite number", name)
			}
		}
		return nil
	}
	if err := check("duration_s", f.DurationS, f.IntervalS); err != nil {
		return err
	}
	names := make([]string, 0, len(f.Metrics))
	for n := range f.Metrics {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		m := f.Metrics[n]
		if m == nil {
			return fmt.Errorf("metric %s is null", n)
		}
		if err := check("metric "+n, m.Min, m.Mean, m.Stddev, m.P50, m.P90, m.P95, m.P99, m.P999, m.Max); err != nil {
			return err
		}
	}
	if err := check("rates", f.Rates.EventsPerS, f.Rates.StreamsPerS, f.Rates.TokensPerS); err != nil {
		return err
	}
	if g := f.Generator; g != nil {
		if err := check("generator", g.CPUsUsed, g.SchedP99, g.TimerP99, g.TimerMax, g.ScheduleLagP99, g.WallS); err != nil {
			return err
		}
	}
	for i, iv := range f.Intervals {
		if err := check(fmt.Sprintf("intervals[%d]", i), iv.TS, iv.DurationS, iv.TTFTP50, iv.TTFTP99, iv.LagP99); err != nil {
			return err
		}
	}
	for i, t := range f.Thresholds {
		if err := check(fmt.Sprintf("thresholds[%d]", i), t.Observed); err != nil {
			return err
		}
	}
	return nil
}

// normalize gives f's nil maps and slices their empty values, so that
// they are written as {} and [] and readers need not care.
func normalize(f *File) {
	if f.Metrics == nil {
		f.Metrics = map[string]*MetricStats{}
	}
	if f.Intervals == nil {
		f.Intervals = []Interval{}
	}
	if f.Thresholds == nil {
		f.Thresholds = []ThresholdResult{}
	}
	if f.Notes == nil {
		f.Notes = []string{}
	}
	c := &f.Counters
	if c.Errors == nil {
		c.Errors = map[string]int64{}
	}
	if c.AttemptErrors == nil {
		c.AttemptErrors = map[string]int64{}
	}
	if c.ContentEncoding == nil {
		c.ContentEncoding = map[string]int64{}
	}
	if f.Failures == nil {
		f.Failures = []FailureClass{}
	}
	for i := range f.Failures {
		if f.Failures[i].Messages == nil {
			f.Failures[i].Messages = []FailureMessage{}
		}
	}
	if g := f.Generator; g != nil && g.Reasons == nil {
		gg := *g
		gg.Reasons = []string{}
		f.Generator = &gg
	}
}

// ReadFile reads and validates a JSON result written by WriteJSON. Errors
// name the file and say what is wrong; those about the contents wrap
// ErrBadFile (a missing file wraps fs.ErrNotExist instead).
func ReadFile(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err // *fs.PathError names the file
	}
	f, err := decodeFile(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// decodeFile parses and validates the bytes of a JSON result.
func decodeFile(b []byte) (*File, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: the file is empty", ErrBadFile)
	}
	if b[0] != '{' {
		return nil, fmt.Errorf("%w: not a JSON object (is it an ssebench result?)", ErrBadFile)
	}
	// Read the identifying fields first, so a file of another version gets
	// "wrong version" rather than a confusing type error.
	var head struct {
		Schema *int    `json:"schema"`
		Tool   *string `json:"tool"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("%w: invalid JSON: %w", ErrBadFile, err)
	}
	switch {
	case head.Tool != nil && *head.Tool != ToolName:
		return nil, fmt.Errorf("%w: written by %q, not ssebench", ErrBadFile, *head.Tool)
	case head.Schema == nil:
		return nil, fmt.Errorf("%w: no \"schema\" field (is it an ssebench result?)", ErrBadFile)
	case *head.Schema != SchemaVersion:
		return nil, fmt.Errorf("%w: schema version %d, this ssebench reads version %d",
			ErrBadFile, *head.Schema, SchemaVersion)
	}
	var f File
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadFile, err)
	}
	if f.DurationS < 0 || f.IntervalS < 0 {
		return nil, fmt.Errorf("%w: negative duration", ErrBadFile)
	}
	if f.Metrics == nil {
		f.Metrics = map[string]*MetricStats{}
	}
	names := make([]string, 0, len(f.Metrics))
	for n := range f.Metrics {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		m := f.Metrics[n]
		if m == nil {
			return nil, fmt.Errorf("%w: metric %s is null", ErrBadFile, n)
		}
		if m.Count == 0 {
			continue
		}
		h, err := DecodeHistogram(m.HDR)
		if err != nil {
			return nil, fmt.Errorf("%w: metric %s: %w", ErrBadFile, n, err)
		}
		if h.Count() != m.Count {
			return nil, fmt.Errorf("%w: metric %s: count %d, but its histogram holds %d",
				ErrBadFile, n, m.Count, h.Count())
		}
	}
	// The intervals' histograms are decoded (and checked) only by Merge:
	// a long run has thousands.
	normalize(&f)
	return &f, nil
}
