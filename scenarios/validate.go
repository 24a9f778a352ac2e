package scenarios

import (
	"cmp"
	"fmt"
	"math"
	"net/url"
	"os"
	"slices"
	"strings"
)

// Problem is one thing wrong with a scenario.
type Problem struct {
	// File is the scenario file ("" when the scenario was built in code).
	File string
	// Line is the 1-based line in File, or 0 when unknown (a value set by
	// a CLI flag, say).
	Line int
	// Path is the YAML path of the offending value, e.g. "load.rate" or
	// "thresholds[1]"; "" for the document as a whole.
	Path string
	// Msg says what is wrong, and what would be right.
	Msg string
}

// String formats p as "file:line: path: msg", leaving out what is unknown.
func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d", p.Line)
		}
		b.WriteString(": ")
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// ValidationError lists every problem found in a scenario, in file order.
type ValidationError struct {
	// Problems are every problem found, sorted by line (those without a
	// line last).
	Problems []Problem
}

// Error returns one problem per line.
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// validator collects problems against a scenario's positions.
type validator struct {
	s     *Scenario
	probs []Problem
}

// line returns the line of path, or of its nearest ancestor that has one.
func (v *validator) line(path string) int {
	for path != "" {
		if l, ok := v.s.pos[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

func (v *validator) add(path, format string, a ...any) {
	v.probs = append(v.probs, Problem{File: v.s.File, Line: v.line(path), Path: path, Msg: fmt.Sprintf(format, a...)})
}

// Validate checks the scenario and returns a *ValidationError listing every
// problem (nil when there is none), including the problems of form Decode
// found. Call it again after changing fields.
func (s *Scenario) Validate() error {
	if s.pos == nil {
		s.pos = map[string]int{}
	}
	v := &validator{s: s}
	var vars []string
	if s.Setup != nil {
		for name := range s.Setup.Extract {
			vars = append(vars, name)
		}
		v.request(&s.Setup.Request, "setup.", nil)
		v.setup(s.Setup)
	}
	v.request(&s.Request, "", vars)
	v.events(&s.Events)
	v.load(&s.Load)
	if s.Duration <= 0 {
		v.add("duration", "must be positive (e.g. 30s)")
	}
	if s.Grace < 0 {
		v.add("grace", "must not be negative")
	}
	for p, d := range map[string]int64{"deadlines.first_byte": int64(s.Deadlines.FirstByte), "deadlines.idle": int64(s.Deadlines.Idle), "deadlines.total": int64(s.Deadlines.Total), "reconnect.delay": int64(s.Reconnect.Delay), "abort.after": int64(s.Abort.After)} {
		if d < 0 {
			v.add(p, "must not be negative")
		}
	}
	if s.Reconnect.Max < 0 {
		v.add("reconnect.max", "must not be negative (0 disables reconnecting)")
	}
	a := s.Abort
	switch {
	case !(a.Fraction >= 0 && a.Fraction <= 1):
		v.add("abort.fraction", "%v is not between 0 and 1 (e.g. 10%% or 0.1)", a.Fraction)
	case a.AfterEvents < 0:
		v.add("abort.after_events", "must not be negative")
	case a.Fraction > 0 && a.AfterEvents == 0 && a.After == 0:
		v.add("abort", "set after_events or after (or both) to say when streams abort")
	case a.Fraction == 0 && (a.AfterEvents > 0 || a.After > 0):
		v.add("abort.fraction", "is 0, so no stream aborts (set e.g. fraction: 10%%)")
	}
	for i, t := range s.Thresholds {
		if t.Metric == "" || t.Op == "" {
			if _, err := ParseThreshold(t.Expr); err != nil {
				v.add(fmt.Sprintf("thresholds[%d]", i), "%v", err)
			}
		}
	}
	for i, ip := range s.SourceIPs {
		if !ip.IsValid() {
			v.add(fmt.Sprintf("source_ips[%d]", i), "not a valid address")
		}
	}
	if s.DisableCompression {
		for _, h := range s.Headers {
			if strings.EqualFold(h.Name, "Accept-Encoding") {
				v.add("headers."+h.Name, "asks for compression, but compression is off (drop the header, or compression: on)")
			}
		}
	}
	if s.MaxLine < 0 {
		v.add("max_line", "must not be negative")
	}
	if s.MaxEvent < 0 {
		v.add("max_event", "must not be negative")
	}
	if s.ShardCount < 1 || s.ShardIndex < 1 || s.ShardIndex > s.ShardCount {
		v.add("", "shard %d/%d is not a shard (want I/N with 1 <= I <= N)", s.ShardIndex, s.ShardCount)
	}
	probs := slices.Clone(s.formProbs)
	// A value that failed to decode was left at zero: leave out what the
	// checks above say about it, or about its parents and children.
	for _, vp := range v.probs {
		if !slices.ContainsFunc(s.formProbs, func(fp Problem) bool {
			return vp.Path == fp.Path || isPathPrefix(vp.Path, fp.Path) || isPathPrefix(fp.Path, vp.Path)
		}) {
			probs = append(probs, vp)
		}
	}
	if len(probs) == 0 {
		return nil
	}
	sortProblems(probs)
	return &ValidationError{Problems: probs}
}

// sortProblems orders problems by line, those without a line last.
func sortProblems(probs []Problem) {
	slices.SortStableFunc(probs, func(a, b Problem) int {
		if (a.Line == 0) != (b.Line == 0) {
			if a.Line == 0 {
				return 1
			}
			return -1
		}
		return cmp.Compare(a.Line, b.Line)
	})
}

func (v *validator) template(path, src string, vars []string) (Template, bool) {
	t, err := ParseTemplate(src)
	if err != nil {
		v.add(path, "%v", err)
		return t, false
	}
	ok := true
	for _, name := range t.Vars() {
		if !slices.Contains(vars, name) {
			ok = false
			msg := fmt.Sprintf("{{%s}} is not a template value", name)
			if s := suggest(name, append(append([]string{}, builtinNames...), vars...)); s != "" {
				msg += fmt.Sprintf(" (did you mean {{%s}}?)", s)
			} else if len(vars) == 0 {
				msg += " (want stream, shard, random, uuid, env.NAME, or a name the setup request extracts)"
			} else {
				msg += fmt.Sprintf(" (setup extracts: %s)", strings.Join(vars, ", "))
			}
			v.add(path, "%s", msg)
		}
	}
	for _, name := range t.Env() {
		set := false
		if v.s.Getenv != nil {
			set = v.s.Getenv(name) != ""
		} else {
			_, set = os.LookupEnv(name)
		}
		if !set {
			v.add(path, "{{env.%s}}: environment variable %s is not set", name, name)
		}
	}
	return t, ok
}

func (v *validator) request(r *Request, prefix string, vars []string) {
	if !isToken(r.Method) {
		v.add(prefix+"method", "%q is not an HTTP method (want e.g. GET or POST)", r.Method)
	}
	if r.URL == "" {
		v.add(prefix+"url", "is required (e.g. url: http://127.0.0.1:8080/v1/stream)")
	} else if t, ok := v.template(prefix+"url", r.URL, vars); ok {
		vs := &Vars{Shard: 1, Values: map[string]string{}, Getenv: func(string) string { return "x" }}
		for _, name := range vars {
			vs.Values[name] = "x"
		}
		u, err := url.Parse(t.ExpandString(vs))
		switch {
		case err != nil:
			v.add(prefix+"url", "%q is not a URL: %v", clip(r.URL, 60), unwrapURLError(err))
		case u.Scheme != "http" && u.Scheme != "https":
			v.add(prefix+"url", "%q is not an http or https URL", clip(r.URL, 60))
		case u.Host == "":
			v.add(prefix+"url", "%q has no host", clip(r.URL, 60))
		}
	}
	for _, h := range r.Headers {
		p := prefix + "headers." + h.Name
		if !isToken(h.Name) {
			v.add(p, "%q is not a header name", h.Name)
		}
		if strings.ContainsAny(h.Value, "\r\n\x00") {
			v.add(p, "a header value must not contain CR, LF or NUL")
		}
		v.template(p, h.Value, vars)
	}
	if r.Body != "" {
		v.template(prefix+"body", r.Body, vars)
	}
}

func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// isToken reports whether s is an HTTP token (RFC 9110 §5.6.2).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

func (v *validator) setup(st *Setup) {
	if len(st.Extract) == 0 {
		v.add("setup.extract", "is required: name the response fields the stream request uses, e.g. extract: {session: id}")
	}
	for name, path := range st.Extract {
		p := "setup.extract." + name
		switch {
		case !isIdent(name):
			v.add(p, "%q is not a name (letters, digits, _)", name)
		case slices.Contains(builtinNames, name):
			v.add(p, "%q is a built-in template value; choose another name", name)
		}
		if path == "" || strings.HasPrefix(path, ".") || strings.HasSuffix(path, ".") || strings.Contains(path, "..") {
			v.add(p, "%q is not a dotted path into the JSON response (e.g. id or data.session.id)", path)
		}
	}
}

func (v *validator) events(e *Events) {
	if _, ok := ParsePreset(string(e.Preset)); !ok {
		msg := fmt.Sprintf("%q is not a preset (want generic, eventsource, openai or custom)", e.Preset)
		v.add("events.preset", "%s", msg)
	}
	seen := map[string]string{}
	for _, l := range []struct {
		name  string
		types []string
	}{{"content", e.Content}, {"terminal", e.Terminal}, {"error", e.Error}, {"meta", e.Meta}} {
		for i, t := range l.types {
			p := fmt.Sprintf("events.%s[%d]", l.name, i)
			if t == "" {
				v.add(p, "an event type must not be empty (events without an event: field have type message)")
				continue
			}
			if other, dup := seen[t]; dup {
				v.add(p, "event type %q is also listed in events.%s", t, other)
				continue
			}
			seen[t] = l.name
		}
	}
	for i, d := range e.TerminalData {
		if d == "" {
			v.add(fmt.Sprintf("events.terminal_data[%d]", i), "must not be empty")
		}
	}
}

func (v *validator) load(l *Workload) {
	s := v.s
	switch l.Model {
	case Closed:
		if l.Rate != 0 {
			v.add("load.rate", "applies to the open model; this load is closed (set model: open, or use connections)")
		}
		if l.Arrival != "" {
			v.add("load.arrival", "applies to the open model; this load is closed")
		}
		if l.MaxConnections != 0 {
			v.add("load.max_connections", "applies to the open model; the closed model's size is connections")
		}
		if l.Connections < 0 {
			v.add("load.connections", "must not be negative")
		}
		if !(l.DialRate >= 0) || math.IsInf(l.DialRate, 0) {
			v.add("load.dial_rate", "must be a non-negative rate (e.g. 1000/s; 0: the default %g/s)", DefaultDialRate)
		}
		if l.DialBurst < 0 {
			v.add("load.dial_burst", "must not be negative (0: the default %d)", DefaultDialBurst)
		}
		if l.Connections > 10_000_000 {
			v.add("load.connections", "%d is more than one process can hold; shard the run (--shard I/N)", l.Connections)
		}
	case Open:
		if l.Connections != 0 {
			v.add("load.connections", "applies to the closed model; this load is open (use rate, and max_connections to cap streams in flight)")
		}
		if !(l.Rate >= 0) || math.IsInf(l.Rate, 0) {
			v.add("load.rate", "must be a non-negative rate (e.g. 100/s)")
		}
		switch l.Arrival {
		case Constant, Poisson:
		default:
			v.add("load.arrival", "%q is not an arrival process (want constant or poisson)", l.Arrival)
		}
		if l.MaxConnections < 0 {
			v.add("load.max_connections", "must not be negative (0: the swarm's own limit)")
		}
		if l.DialRate != 0 || l.DialBurst != 0 {
			v.add("load.dial_rate", "dial_rate and dial_burst apply to the closed model; the open model's arrival rate already paces its dials")
		}
		if !(l.Offset >= 0 && l.Offset < 1) {
			v.add("load", "offset %v is not in [0, 1)", l.Offset)
		}
	default:
		v.add("load.model", "%q is not a load model (want closed or open)", l.Model)
		return
	}
	peak := float64(l.Connections)
	if l.Model == Open {
		peak = l.Rate
	}
	for i, st := range l.Stages {
		p := fmt.Sprintf("load.stages[%d]", i)
		if st.Duration < 0 {
			v.add(p+".duration", "must not be negative")
		}
		switch {
		case !(st.Target >= 0) || math.IsInf(st.Target, 0):
			v.add(p+".target", "must not be negative")
		case l.Model == Closed && s.given(p+".target#rate"):
			v.add(p+".target", "is a rate, but this load is closed: a target is a number of connections")
		case l.Model == Closed && st.Target != math.Trunc(st.Target):
			v.add(p+".target", "%v is not a whole number of connections", st.Target)
		}
		peak = math.Max(peak, st.Target)
	}
	if len(l.Stages) > 0 && l.StagesDuration() <= 0 {
		v.add("load.stages", "have no length: give the stages positive durations")
	}
	if peak <= 0 {
		if l.Model == Closed {
			v.add("load.connections", "no load: set connections, or stages with a target above 0")
		} else {
			v.add("load.rate", "no load: set rate (e.g. 100/s), or stages with a target above 0")
		}
	}
}

// suggest returns the candidate closest to s when it is close enough to
// be a likely typo, else "".
func suggest(s string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		d := editDistance(strings.ToLower(s), c)
		if d < bestD {
			best, bestD = c, d
		}
	}
	limit := max(1, min(len(s), len(best))/3)
	if bestD <= limit || (len(s) >= 3 && strings.HasPrefix(best, strings.ToLower(s))) {
		return best
	}
	return ""
}

// editDistance is the Damerau-Levenshtein (optimal string alignment)
// distance between a and b.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 20
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
