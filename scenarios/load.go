package scenarios

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

//go:embed default.yaml
var defaultYAML []byte

// DefaultFile is the name problems with the embedded default scenario are
// reported against.
const DefaultFile = "(default)"

// Default returns the embedded default scenario: GET the mock server's
// /v1/stream at http://127.0.0.1:8080 (the CLI replaces scheme and host
// with the in-process mock's address, see SetTarget), closed model, 1,000
// connections for 10 s. It is a new copy on every call.
func Default() *Scenario {
	s, err := Parse(DefaultFile, defaultYAML)
	if err != nil {
		panic("scenarios: the embedded default scenario is invalid: " + err.Error())
	}
	return s
}

// Load reads, decodes and validates the scenario file at path. The error
// is a *ValidationError listing every problem with file:line, or wraps the
// error reading the file.
func Load(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes and validates a scenario held in data; name is the file
// name used in problems and as the base for "@file" bodies. The error is a
// *ValidationError listing every problem, those of form (syntax, unknown
// keys, bad values) and those of substance (a closed model with a rate, no
// load, ...) together.
func Parse(name string, data []byte) (*Scenario, error) {
	s, _, ok := decode(name, data)
	if !ok {
		return nil, &ValidationError{Problems: s.formProbs}
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// isPathPrefix reports whether path a is an ancestor of path b.
func isPathPrefix(a, b string) bool {
	return a != "" && len(b) > len(a) && strings.HasPrefix(b, a) && (b[len(a)] == '.' || b[len(a)] == '[')
}

// DecodeFile is Decode of the file at path.
func DecodeFile(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	return Decode(path, data)
}

// Decode decodes a scenario and merges the defaults without validating it,
// for callers that override fields (CLI flags) before calling Validate.
// Its error, a *ValidationError, lists the problems of form: YAML syntax,
// unknown keys, values of the wrong type or unit, unreadable "@file"
// bodies. Unless the YAML could not be parsed at all, Decode also returns
// the partly decoded Scenario, whose Validate reports those problems again
// together with every other one: a caller may apply its overrides and call
// Validate to report everything at once.
func Decode(name string, data []byte) (*Scenario, error) {
	s, probs, ok := decode(name, data)
	if !ok {
		return nil, &ValidationError{Problems: probs}
	}
	if len(probs) > 0 {
		return s, &ValidationError{Problems: slices.Clone(probs)}
	}
	return s, nil
}

// decode decodes data; ok is false when nothing could be decoded (a YAML
// syntax error, an empty document). On problems of form, s holds what could
// be decoded, with defaults merged, and remembers the problems in formProbs.
func decode(name string, data []byte) (s *Scenario, probs []Problem, ok bool) {
	d := &decoder{file: name, s: &Scenario{File: name, pos: map[string]int{}}}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		d.problem(yamlErrorLine(err), "", "%s", yamlErrorMsg(err))
		d.s.formProbs = d.probs
		return d.s, d.probs, false
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		d.problem(1, "", "empty scenario (want at least url: ...)")
		d.s.formProbs = d.probs
		return d.s, d.probs, false
	}
	d.scenario(doc.Content[0])
	applyDefaults(d.s)
	d.s.formProbs = d.probs
	return d.s, d.probs, true
}

var yamlLineRE = regexp.MustCompile(`^yaml: (?:line (\d+): )?`)

func yamlErrorLine(err error) int {
	var te *yaml.TypeError
	msg := err.Error()
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil && m[1] != "" {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	if m := regexp.MustCompile(`line (\d+)`).FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

func yamlErrorMsg(err error) string {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	msg = yamlLineRE.ReplaceAllString(msg, "")
	return "YAML syntax: " + strings.TrimPrefix(msg, "yaml: ")
}

// decoder turns a yaml.Node tree into a Scenario, collecting problems.
type decoder struct {
	file  string
	s     *Scenario
	probs []Problem
}

func (d *decoder) problem(line int, path, format string, a ...any) {
	d.probs = append(d.probs, Problem{File: d.file, Line: line, Path: path, Msg: fmt.Sprintf(format, a...)})
}

func (d *decoder) mark(path string, n *yaml.Node) { d.s.pos[path] = n.Line }

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// deref follows aliases.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 16; i++ {
		n = n.Alias
	}
	return n
}

// fields walks a mapping, calling set for each known key and reporting
// unknown and duplicate keys.
func (d *decoder) fields(n *yaml.Node, path string, keys []string, set func(key string, v *yaml.Node, p string)) {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		what := "scenario"
		if path != "" {
			what = path
		}
		d.problem(n.Line, path, "%s must be a mapping (key: value), not %s", what, kindName(n))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		key := k.Value
		p := join(path, key)
		if k.Kind != yaml.ScalarNode {
			d.problem(k.Line, path, "a key must be a plain name")
			continue
		}
		if seen[key] {
			d.problem(k.Line, p, "duplicate key %q", key)
			continue
		}
		seen[key] = true
		if path == "" && strings.HasPrefix(key, "x-") {
			continue // extension key, e.g. a home for YAML anchors
		}
		if !contains(keys, key) {
			msg := fmt.Sprintf("unknown key %q", key)
			if s := suggest(key, keys); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			} else if path == "" {
				msg += " (known: " + strings.Join(keys, ", ") + ")"
			}
			d.problem(k.Line, p, "%s", msg)
			continue
		}
		d.s.pos[p] = k.Line
		set(key, v, p)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", clip(n.Value, 40))
	}
	return "nothing"
}

var topKeys = []string{
	"name", "url", "method", "headers", "body", "setup", "events", "load",
	"duration", "grace", "deadlines", "reconnect", "abort", "thresholds",
	"http2", "insecure", "compression", "source_ips", "max_line", "max_event",
}

func (d *decoder) scenario(n *yaml.Node) {
	s := d.s
	d.fields(n, "", topKeys, func(key string, v *yaml.Node, p string) {
		switch key {
		case "name":
			s.Name = d.str(v, p)
		case "url", "method", "headers", "body":
			d.requestField(&s.Request, key, v, p)
		case "setup":
			s.Setup = &Setup{}
			d.setup(s.Setup, v, p)
		case "events":
			d.events(&s.Events, v, p)
		case "load":
			d.load(&s.Load, v, p)
		case "duration":
			s.Duration = d.duration(v, p)
		case "grace":
			s.Grace = d.duration(v, p)
		case "deadlines":
			d.fields(v, p, []string{"first_byte", "idle", "total"}, func(key string, v *yaml.Node, p string) {
				switch key {
				case "first_byte":
					s.Deadlines.FirstByte = d.duration(v, p)
				case "idle":
					s.Deadlines.Idle = d.duration(v, p)
				case "total":
					s.Deadlines.Total = d.duration(v, p)
				}
			})
		case "reconnect":
			d.fields(v, p, []string{"max", "delay", "honor_retry", "last_event_id", "after_clean_end"}, func(key string, v *yaml.Node, p string) {
				switch key {
				case "max":
					s.Reconnect.Max = d.int(v, p)
				case "delay":
					s.Reconnect.Delay = d.duration(v, p)
				case "honor_retry":
					s.Reconnect.HonorRetry = d.bool(v, p)
				case "last_event_id":
					s.Reconnect.LastEventID = d.bool(v, p)
				case "after_clean_end":
					s.Reconnect.AfterCleanEnd = d.bool(v, p)
				}
			})
		case "abort":
			d.fields(v, p, []string{"fraction", "after_events", "after"}, func(key string, v *yaml.Node, p string) {
				switch key {
				case "fraction":
					s.Abort.Fraction = d.fraction(v, p)
				case "after_events":
					s.Abort.AfterEvents = d.int(v, p)
				case "after":
					s.Abort.After = d.duration(v, p)
				}
			})
		case "thresholds":
			d.thresholds(v, p)
		case "http2":
			s.HTTP2 = d.bool(v, p)
		case "insecure":
			s.Insecure = d.bool(v, p)
		case "compression":
			s.DisableCompression = !d.bool(v, p)
		case "source_ips":
			s.SourceIPs = d.sourceIPs(v, p)
		case "max_line":
			s.MaxLine = d.size(v, p)
		case "max_event":
			s.MaxEvent = d.size(v, p)
		}
	})
}

func (d *decoder) requestField(r *Request, key string, v *yaml.Node, p string) {
	switch key {
	case "url":
		r.URL = d.str(v, p)
	case "method":
		r.Method = d.str(v, p)
	case "headers":
		r.Headers = d.headers(v, p)
	case "body":
		r.Body, r.BodyFile = d.body(v, p)
	}
}

func (d *decoder) setup(st *Setup, n *yaml.Node, path string) {
	d.fields(n, path, []string{"url", "method", "headers", "body", "extract"}, func(key string, v *yaml.Node, p string) {
		if key != "extract" {
			d.requestField(&st.Request, key, v, p)
			return
		}
		st.Extract = map[string]string{}
		d.fieldsAny(v, p, func(name string, v *yaml.Node, p string) {
			st.Extract[name] = d.str(v, p)
		})
	})
}

// fieldsAny walks a mapping with free-form keys.
func (d *decoder) fieldsAny(n *yaml.Node, path string, set func(key string, v *yaml.Node, p string)) {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		d.problem(n.Line, path, "%s must be a mapping (name: value), not %s", path, kindName(n))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		p := join(path, k.Value)
		if k.Kind != yaml.ScalarNode || k.Value == "" {
			d.problem(k.Line, path, "a key must be a plain name")
			continue
		}
		if seen[k.Value] {
			d.problem(k.Line, p, "duplicate key %q", k.Value)
			continue
		}
		seen[k.Value] = true
		d.s.pos[p] = k.Line
		set(k.Value, v, p)
	}
}

func (d *decoder) headers(n *yaml.Node, path string) []Header {
	hs := []Header{}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := deref(n.Content[i]), deref(n.Content[i+1])
			p := join(path, k.Value)
			d.s.pos[p] = k.Line
			if k.Kind != yaml.ScalarNode {
				d.problem(k.Line, path, "a header name must be a string")
				continue
			}
			if v.Kind == yaml.SequenceNode { // repeated header
				for j, e := range v.Content {
					hs = append(hs, Header{Name: k.Value, Value: d.str(deref(e), fmt.Sprintf("%s[%d]", p, j))})
				}
				continue
			}
			hs = append(hs, Header{Name: k.Value, Value: d.str(v, p)})
		}
	case yaml.SequenceNode:
		for i, e := range n.Content {
			e = deref(e)
			p := fmt.Sprintf("%s[%d]", path, i)
			d.mark(p, e)
			line := d.str(e, p)
			name, value, ok := strings.Cut(line, ":")
			if !ok {
				d.problem(e.Line, p, "%q is not a header (want Name: value)", clip(line, 40))
				continue
			}
			hs = append(hs, Header{Name: strings.TrimSpace(name), Value: strings.TrimSpace(value)})
			d.s.pos[join(path, strings.TrimSpace(name))] = e.Line
		}
	default:
		d.problem(n.Line, path, "headers must be a mapping (Name: value) or a list of \"Name: value\"")
	}
	return hs
}

// body decodes a body: a string, "@file", or a mapping/list sent as JSON.
func (d *decoder) body(n *yaml.Node, path string) (body, file string) {
	switch n.Kind {
	case yaml.ScalarNode:
		v := n.Value
		if strings.HasPrefix(v, "@@") {
			return v[1:], "" // "@@..." is a literal leading "@"
		}
		if f, ok := strings.CutPrefix(v, "@"); ok {
			full := f
			if !filepath.IsAbs(f) && d.file != "" && d.file != DefaultFile {
				full = filepath.Join(filepath.Dir(d.file), f)
			}
			data, err := readBodyFile(full)
			if err != nil {
				d.problem(n.Line, path, "cannot read body file: %v", err)
				return "", f
			}
			return string(data), f
		}
		return v, ""
	case yaml.MappingNode, yaml.SequenceNode:
		var x any
		if err := n.Decode(&x); err != nil {
			d.problem(n.Line, path, "cannot convert body to JSON: %v", err)
			return "", ""
		}
		b, err := json.Marshal(jsonable(x))
		if err != nil {
			d.problem(n.Line, path, "cannot convert body to JSON: %v", err)
			return "", ""
		}
		return string(b), ""
	}
	d.problem(n.Line, path, "body must be a string, \"@file\", or a mapping sent as JSON")
	return "", ""
}

// MaxBodyFile is the largest "@file" body accepted, in bytes.
const MaxBodyFile = 64 << 20

// readBodyFile reads a regular file of at most MaxBodyFile bytes (not a
// device or a pipe, which could be endless).
func readBodyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, unwrapPath(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, unwrapPath(err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxBodyFile+1))
	if err != nil {
		return nil, unwrapPath(err)
	}
	if len(data) > MaxBodyFile {
		return nil, fmt.Errorf("%s: larger than %d MiB", path, MaxBodyFile>>20)
	}
	return data, nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Path, pe.Err)
	}
	return err
}

// jsonable converts YAML-decoded values (map[string]any, and map[any]any
// for non-string keys) into values encoding/json accepts.
func jsonable(x any) any {
	switch v := x.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = jsonable(e)
		}
		return v
	case map[any]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[fmt.Sprint(k)] = jsonable(e)
		}
		return m
	case []any:
		for i, e := range v {
			v[i] = jsonable(e)
		}
		return v
	case float64:
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return fmt.Sprint(v)
		}
	}
	return x
}

func (d *decoder) events(e *Events, n *yaml.Node, path string) {
	if n.Kind == yaml.ScalarNode { // shorthand: events: openai
		d.s.pos[join(path, "preset")] = n.Line
		e.Preset = Preset(n.Value)
		return
	}
	d.fields(n, path, []string{"preset", "content", "terminal", "error", "meta", "terminal_data"}, func(key string, v *yaml.Node, p string) {
		switch key {
		case "preset":
			e.Preset = Preset(d.str(v, p))
		case "content":
			e.Content = d.strs(v, p)
		case "terminal":
			e.Terminal = d.strs(v, p)
		case "error":
			e.Error = d.strs(v, p)
		case "meta":
			e.Meta = d.strs(v, p)
		case "terminal_data":
			e.TerminalData = d.strs(v, p)
		}
	})
}

func (d *decoder) load(l *Workload, n *yaml.Node, path string) {
	keys := []string{"model", "connections", "rate", "arrival", "seed", "stages", "max_connections", "dial_rate", "dial_burst"}
	d.fields(n, path, keys, func(key string, v *yaml.Node, p string) {
		switch key {
		case "model":
			l.Model = Model(d.str(v, p))
		case "connections":
			l.Connections = d.int(v, p)
		case "rate":
			l.Rate = d.rate(v, p)
		case "arrival":
			l.Arrival = Arrival(d.str(v, p))
		case "seed":
			l.Seed = d.uint(v, p)
		case "max_connections":
			l.MaxConnections = d.int(v, p)
		case "dial_rate":
			l.DialRate = d.rate(v, p)
		case "dial_burst":
			l.DialBurst = d.int(v, p)
		case "stages":
			if v.Kind != yaml.SequenceNode {
				d.problem(v.Line, p, "stages must be a list of {duration, target}")
				return
			}
			l.Stages = []Stage{}
			for i, e := range v.Content {
				sp := fmt.Sprintf("%s[%d]", p, i)
				d.mark(sp, deref(e))
				var st Stage
				d.fields(e, sp, []string{"duration", "target"}, func(key string, v *yaml.Node, p string) {
					switch key {
					case "duration":
						st.Duration = d.duration(v, p)
					case "target":
						st.Target = d.target(v, p)
					}
				})
				l.Stages = append(l.Stages, st)
			}
		}
	})
}

func (d *decoder) thresholds(n *yaml.Node, path string) {
	if n.Kind == yaml.ScalarNode {
		n = &yaml.Node{Kind: yaml.SequenceNode, Line: n.Line, Content: []*yaml.Node{n}}
	}
	if n.Kind != yaml.SequenceNode {
		d.problem(n.Line, path, "thresholds must be a list of expressions such as \"ttft.p99 < 500ms\"")
		return
	}
	for i, e := range n.Content {
		e = deref(e)
		p := fmt.Sprintf("%s[%d]", path, i)
		d.mark(p, e)
		expr := d.str(e, p)
		if expr == "" {
			continue
		}
		t, err := ParseThreshold(expr)
		if err != nil {
			d.problem(e.Line, p, "%v", err)
			continue
		}
		d.s.Thresholds = append(d.s.Thresholds, t)
	}
}

// Scalars.

func (d *decoder) scalar(n *yaml.Node, path, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.problem(n.Line, path, "want %s, not %s", want, kindName(n))
		return "", false
	}
	if n.Tag == "!!null" {
		d.problem(n.Line, path, "want %s, not an empty value", want)
		return "", false
	}
	return n.Value, true
}

func (d *decoder) str(n *yaml.Node, path string) string {
	v, _ := d.scalar(n, path, "a string")
	return v
}

func (d *decoder) strs(n *yaml.Node, path string) []string {
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		return []string{n.Value}
	}
	out := []string{}
	if n.Kind == yaml.ScalarNode { // empty value: an empty list
		return out
	}
	if n.Kind != yaml.SequenceNode {
		d.problem(n.Line, path, "want a list of strings, not %s", kindName(n))
		return out
	}
	for i, e := range n.Content {
		out = append(out, d.str(deref(e), fmt.Sprintf("%s[%d]", path, i)))
	}
	return out
}

func (d *decoder) bool(n *yaml.Node, path string) bool {
	v, ok := d.scalar(n, path, "true or false")
	if !ok {
		return false
	}
	switch strings.ToLower(v) {
	case "true", "yes", "on":
		return true
	case "false", "no", "off":
		return false
	}
	d.problem(n.Line, path, "%q is not a boolean (want true or false)", clip(v, 40))
	return false
}

func (d *decoder) int(n *yaml.Node, path string) int {
	v, ok := d.scalar(n, path, "a whole number")
	if !ok {
		return 0
	}
	i, err := strconv.ParseInt(strings.ReplaceAll(v, "_", ""), 10, 0)
	if err != nil {
		d.problem(n.Line, path, "%q is not a whole number", clip(v, 40))
		return 0
	}
	return int(i)
}

func (d *decoder) uint(n *yaml.Node, path string) uint64 {
	v, ok := d.scalar(n, path, "a whole number")
	if !ok {
		return 0
	}
	i, err := strconv.ParseUint(strings.ReplaceAll(v, "_", ""), 0, 64)
	if err != nil {
		d.problem(n.Line, path, "%q is not a non-negative whole number", clip(v, 40))
		return 0
	}
	return i
}

// parsed decodes the scalar n with parse, recording a parse error as a
// problem at n's line; it returns parse's value (the zero value when n is
// not a scalar).
func parsed[T any](d *decoder, n *yaml.Node, path, want string, parse func(string) (T, error)) T {
	v, ok := d.scalar(n, path, want)
	if !ok {
		var zero T
		return zero
	}
	x, err := parse(v)
	if err != nil {
		d.problem(n.Line, path, "%v", err)
	}
	return x
}

func (d *decoder) duration(n *yaml.Node, path string) time.Duration {
	return parsed(d, n, path, "a duration", ParseDuration)
}

func (d *decoder) rate(n *yaml.Node, path string) float64 {
	return parsed(d, n, path, "a rate", ParseRate)
}

// target is a stage target: a number of connections or a rate; which one
// is checked by Validate once the model is known. A rate is stored in
// per-second units and remembered as such.
func (d *decoder) target(n *yaml.Node, path string) float64 {
	v, ok := d.scalar(n, path, "a number of connections or a rate (e.g. 100/s)")
	if !ok {
		return 0
	}
	if strings.Contains(v, "/") {
		d.s.pos[path+"#rate"] = n.Line
		r, err := ParseRate(v)
		if err != nil {
			d.problem(n.Line, path, "%v", err)
		}
		return r
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(v, "_", ""), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		d.problem(n.Line, path, "%q is not a number of connections or a rate (want e.g. 100 or 100/s)", clip(v, 40))
		return 0
	}
	return f
}

func (d *decoder) fraction(n *yaml.Node, path string) float64 {
	return parsed(d, n, path, "a fraction", ParseFraction)
}

func (d *decoder) size(n *yaml.Node, path string) int {
	return parsed(d, n, path, "a size", ParseSize)
}

// maxSourceIPs bounds the expansion of source_ips ranges.
const maxSourceIPs = 1 << 16

func (d *decoder) sourceIPs(n *yaml.Node, path string) []netip.Addr {
	var items []*yaml.Node
	switch n.Kind {
	case yaml.ScalarNode:
		items = []*yaml.Node{n}
	case yaml.SequenceNode:
		items = n.Content
	default:
		d.problem(n.Line, path, "source_ips must be an address, a range a-b, a CIDR prefix, or a list of them")
		return nil
	}
	var out []netip.Addr
	for i, e := range items {
		e = deref(e)
		p := path
		if n.Kind == yaml.SequenceNode {
			p = fmt.Sprintf("%s[%d]", path, i)
			d.mark(p, e)
		}
		for _, part := range strings.Split(d.str(e, p), ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			addrs, err := ParseAddrs(part, maxSourceIPs-len(out))
			if err != nil {
				d.problem(e.Line, p, "%v", err)
				continue
			}
			out = append(out, addrs...)
		}
	}
	return out
}

// ParseAddrs expands an address ("127.0.0.2"), an inclusive range
// ("127.0.0.1-127.0.0.16", or "127.0.0.1-16" with the last octet only) or a
// CIDR prefix ("127.0.0.0/28", every address in it) into at most limit
// addresses.
func ParseAddrs(s string, limit int) ([]netip.Addr, error) {
	var lo, hi netip.Addr
	var err error
	switch {
	case strings.Contains(s, "/"):
		pfx, perr := netip.ParsePrefix(s)
		if perr != nil {
			return nil, fmt.Errorf("%q is not a CIDR prefix (want e.g. 127.0.0.0/28)", s)
		}
		pfx = pfx.Masked()
		lo = pfx.Addr()
		bits := lo.BitLen() - pfx.Bits()
		if bits >= 31 || 1<<bits > limit {
			return nil, fmt.Errorf("%q has more than %d addresses", s, limit)
		}
		hi = lo
		for range (1 << bits) - 1 {
			hi = hi.Next()
		}
	case strings.Contains(s, "-"):
		a, b, _ := strings.Cut(s, "-")
		if lo, err = netip.ParseAddr(strings.TrimSpace(a)); err != nil {
			return nil, fmt.Errorf("%q is not an address range (want e.g. 127.0.0.1-127.0.0.16)", s)
		}
		b = strings.TrimSpace(b)
		if n, nerr := strconv.Atoi(b); nerr == nil && lo.Is4() && n >= 0 && n <= 255 {
			a4 := lo.As4()
			a4[3] = byte(n)
			hi = netip.AddrFrom4(a4)
		} else if hi, err = netip.ParseAddr(b); err != nil {
			return nil, fmt.Errorf("%q is not an address range (want e.g. 127.0.0.1-127.0.0.16)", s)
		}
	default:
		a, perr := netip.ParseAddr(s)
		if perr != nil {
			return nil, fmt.Errorf("%q is not an IP address", s)
		}
		return []netip.Addr{a}, nil
	}
	if lo.Is4() != hi.Is4() || hi.Less(lo) {
		return nil, fmt.Errorf("%q is not an ascending range of one address family", s)
	}
	var out []netip.Addr
	for a := lo; ; a = a.Next() {
		if len(out) >= limit {
			return nil, fmt.Errorf("%q has more than %d addresses", s, limit)
		}
		out = append(out, a)
		if a == hi {
			break
		}
	}
	return out, nil
}

// ParseDuration parses a non-negative Go duration such as "500ms", "1m30s"
// or "0". A bare number other than 0 is an error: the unit is required.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(strings.ReplaceAll(s, "µ", "u"))
	if err != nil {
		if _, ferr := strconv.ParseFloat(s, 64); ferr == nil {
			return 0, fmt.Errorf("%q has no unit (want e.g. %ss or %sms)", s, s, s)
		}
		return 0, fmt.Errorf("%q is not a duration (want e.g. 10s, 500ms, 1m30s)", clip(s, 40))
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	return d, nil
}

// ParseRate parses a rate such as "100/s", "6000/m", "6000/min", "1/h",
// "0.5/s" or a bare number (per second) into events per second.
func ParseRate(s string) (float64, error) {
	s = strings.TrimSpace(s)
	num, per, hasPer := strings.Cut(s, "/")
	f, err := strconv.ParseFloat(strings.TrimSpace(strings.ReplaceAll(num, "_", "")), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a rate (want e.g. 100/s)", clip(s, 40))
	}
	if f < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	if !hasPer {
		return f, nil
	}
	switch strings.TrimSpace(per) {
	case "s", "sec", "second":
		return f, nil
	case "m", "min", "minute":
		return f / 60, nil
	case "h", "hour":
		return f / 3600, nil
	case "ms":
		return f * 1000, nil
	}
	return 0, fmt.Errorf("%q is not a rate (want e.g. 100/s; units /s, /m, /h)", clip(s, 40))
}

// ParseFraction parses "10%" or "0.1" into a number in [0, 1].
func ParseFraction(s string) (float64, error) {
	s = strings.TrimSpace(s)
	num, pct := strings.CutSuffix(s, "%")
	f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a fraction (want e.g. 10%% or 0.1)", clip(s, 40))
	}
	if pct {
		f /= 100
	}
	if f < 0 || f > 1 {
		return 0, fmt.Errorf("%q is not between 0 and 100%%", s)
	}
	return f, nil
}

// ParseSize parses a byte size: "65536", "64KiB", "1MiB", "1GiB", "64KB"
// (1000-based), "512B".
func ParseSize(s string) (int, error) {
	s = strings.TrimSpace(s)
	i := len(s)
	for i > 0 && (s[i-1] < '0' || s[i-1] > '9') {
		i--
	}
	num, unit := s[:i], strings.TrimSpace(s[i:])
	mult := map[string]float64{"": 1, "B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30,
		"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "KB": 1e3, "MB": 1e6, "GB": 1e9, "kB": 1e3}[unit]
	n, err := strconv.ParseFloat(strings.ReplaceAll(num, "_", ""), 64)
	if err != nil || mult == 0 || n < 0 || math.IsNaN(n) {
		return 0, fmt.Errorf("%q is not a size in bytes (want e.g. 65536, 64KiB, 1MiB)", clip(s, 40))
	}
	v := n * mult
	if v > 1<<40 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return int(v), nil
}

// given reports whether the YAML set path.
func (s *Scenario) given(path string) bool {
	_, ok := s.pos[path]
	return ok
}

// Defaults for fields the file leaves out.
const (
	DefaultDuration       = 10 * time.Second
	DefaultGrace          = 30 * time.Second
	DefaultFirstByte      = 30 * time.Second
	DefaultIdle           = 60 * time.Second
	DefaultReconnectDelay = 3 * time.Second
	DefaultSeed           = 1
	// DefaultMaxLine and DefaultMaxEvent bound what one stream's parser
	// holds (an LLM event is rarely over 64 KiB): with them a stream
	// costs at most about half a MiB of buffers however hostile its
	// server, so 1,000 streams of an event that never ends stay under
	// 1 GiB. Raise them in the scenario for larger events.
	DefaultMaxLine  = 256 << 10
	DefaultMaxEvent = 256 << 10
)

// applyDefaults is the one place defaults are merged: every field the file
// did not set gets its default. Preset-dependent event lists stay nil and
// are resolved by Events.Classifier.
func applyDefaults(s *Scenario) {
	if !s.given("name") && s.File != "" {
		base := filepath.Base(s.File)
		s.Name = strings.TrimSuffix(base, filepath.Ext(base))
	}
	if !s.given("method") {
		s.Method = "GET"
		if s.Body != "" {
			s.Method = "POST"
		}
	}
	if s.Setup != nil && !s.given("setup.method") {
		s.Setup.Method = "GET"
		if s.Setup.Body != "" {
			s.Setup.Method = "POST"
		}
	}
	if !s.given("events.preset") {
		s.Events.Preset = PresetGeneric
	}
	l := &s.Load
	if !s.given("load.model") {
		l.Model = Closed
		if s.given("load.rate") {
			l.Model = Open
		}
	}
	if !s.given("load.connections") && l.Model == Closed && len(l.Stages) == 0 {
		l.Connections = 1
	}
	if !s.given("load.arrival") && l.Model == Open {
		l.Arrival = Constant
	}
	if !s.given("load.seed") {
		l.Seed = DefaultSeed
	}
	if !s.given("duration") {
		s.Duration = DefaultDuration
		if len(l.Stages) > 0 {
			s.Duration = l.StagesDuration()
		}
	}
	if !s.given("grace") {
		s.Grace = DefaultGrace
	}
	if !s.given("deadlines.first_byte") {
		s.Deadlines.FirstByte = DefaultFirstByte
	}
	if !s.given("deadlines.idle") {
		s.Deadlines.Idle = DefaultIdle
	}
	if !s.given("max_line") {
		s.MaxLine = DefaultMaxLine
	}
	if !s.given("max_event") {
		s.MaxEvent = DefaultMaxEvent
	}
	if !s.given("reconnect.delay") {
		s.Reconnect.Delay = DefaultReconnectDelay
	}
	if !s.given("reconnect.honor_retry") {
		s.Reconnect.HonorRetry = true
	}
	if !s.given("reconnect.last_event_id") {
		s.Reconnect.LastEventID = true
	}
	if s.ShardCount == 0 {
		s.ShardIndex, s.ShardCount = 1, 1
	}
}

// StagesDuration returns the sum of the stage durations.
func (l *Workload) StagesDuration() time.Duration {
	var d time.Duration
	for _, st := range l.Stages {
		d += st.Duration
	}
	return d
}
