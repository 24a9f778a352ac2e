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
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

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
	"http2", "insecure", "compression", "source_ips", "max_line", "max_event", "capacity",
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
		case "capacity":
			d.capacity(v, p)
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
