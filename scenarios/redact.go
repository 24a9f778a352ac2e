package scenarios

import (
	"encoding/json"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/ssebench/ssebench/scenarios/secret"
)

// RedactedText is the text that replaces secrets in output (secret.Redacted).
const RedactedText = secret.Redacted

// Redacted returns a copy of s with secrets replaced by Redacted: values of
// secret-looking headers (see package secret) and URL query parameters, and
// URL user information, in the stream and setup requests, and the values
// of secret-named fields of JSON request bodies ({"api_key": "..."}; token
// counts such as max_tokens are kept). Other bodies are kept as written:
// put secrets in {{env.NAME}}.
func (s *Scenario) Redacted() *Scenario {
	c := s.Clone()
	redactRequest(&c.Request)
	if c.Setup != nil {
		redactRequest(&c.Setup.Request)
	}
	return c
}

func redactRequest(r *Request) {
	r.URL = secret.URL(r.URL)
	for i, h := range r.Headers {
		if secret.IsCredentialHeader(h.Name) {
			r.Headers[i].Value = RedactedText
		}
	}
	r.Body = redactBody(r.Body)
}

// redactBody returns a request body with the values of secret fields
// replaced, when the body is JSON; any other body is returned unchanged
// (it is the scenario's text, templates included, not the expanded one).
func redactBody(body string) string {
	t := strings.TrimSpace(body)
	if t == "" || (t[0] != '{' && t[0] != '[') {
		return body
	}
	var v any
	if err := json.Unmarshal([]byte(t), &v); err != nil {
		return body
	}
	if !redactJSON(v) {
		return body
	}
	b, err := json.Marshal(v)
	if err != nil {
		return body
	}
	return string(b)
}

// secretField reports whether a JSON body field holds a secret: a name
// secret.IsName flags, except token counts (max_tokens).
func secretField(k string) bool {
	if strings.HasSuffix(strings.ToLower(k), "tokens") {
		return false
	}
	return secret.IsName(k)
}

// redactJSON replaces, in place, the values of secret keys of a decoded
// JSON value, and reports whether it changed anything.
func redactJSON(v any) bool {
	changed := false
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if secretField(k) {
				if s, ok := val.(string); !ok || s != RedactedText {
					x[k] = RedactedText
					changed = true
				}
				continue
			}
			changed = redactJSON(val) || changed
		}
	case []any:
		for _, e := range x {
			changed = redactJSON(e) || changed
		}
	}
	return changed
}

// MarshalJSON encodes the scenario, with secrets redacted (see Redacted),
// in the scenario file format: durations as "10s", rates as "100/s", the
// event lists resolved from the preset. Since JSON is YAML, the output
// decodes back with Decode (bodies longer than 64 KiB are left out and
// replaced by their file name).
func (s *Scenario) MarshalJSON() ([]byte, error) {
	r := s.Redacted()
	m := jsonObject{}
	m.add("name", r.Name)
	m.add("method", r.Method)
	m.add("url", r.URL)
	addRequestJSON(&m, &r.Request)
	if r.Setup != nil {
		m.add("setup", setupJSON(r.Setup))
	}
	m.add("events", eventsJSON(r.Events.Resolved()))
	m.add("load", loadJSON(r.Load))
	m.add("duration", durString(r.Duration))
	m.add("grace", durString(r.Grace))
	dl := jsonObject{}
	dl.add("first_byte", durString(r.Deadlines.FirstByte))
	dl.add("idle", durString(r.Deadlines.Idle))
	dl.add("total", durString(r.Deadlines.Total))
	m.add("deadlines", dl)
	rc := jsonObject{}
	rc.add("max", r.Reconnect.Max)
	rc.add("delay", durString(r.Reconnect.Delay))
	rc.add("honor_retry", r.Reconnect.HonorRetry)
	rc.add("last_event_id", r.Reconnect.LastEventID)
	if r.Reconnect.AfterCleanEnd {
		rc.add("after_clean_end", true)
	}
	m.add("reconnect", rc)
	if r.Abort.Fraction > 0 {
		ab := jsonObject{}
		ab.add("fraction", r.Abort.Fraction)
		if r.Abort.AfterEvents > 0 {
			ab.add("after_events", r.Abort.AfterEvents)
		}
		if r.Abort.After > 0 {
			ab.add("after", durString(r.Abort.After))
		}
		m.add("abort", ab)
	}
	th := []string{}
	for _, t := range r.Thresholds {
		th = append(th, t.Expr)
	}
	m.add("thresholds", th)
	m.add("http2", r.HTTP2)
	m.add("insecure", r.Insecure)
	if r.DisableCompression {
		m.add("compression", "off")
	}
	if len(r.SourceIPs) > 0 {
		m.add("source_ips", addrRanges(r.SourceIPs))
	}
	if r.MaxLine > 0 {
		m.add("max_line", r.MaxLine)
	}
	if r.MaxEvent > 0 {
		m.add("max_event", r.MaxEvent)
	}
	return m.MarshalJSON()
}

// setupJSON is the setup: mapping of MarshalJSON.
func setupJSON(s *Setup) jsonObject {
	st := jsonObject{}
	st.add("method", s.Method)
	st.add("url", s.URL)
	addRequestJSON(&st, &s.Request)
	ex := jsonObject{}
	for k, v := range s.Extract {
		ex.add(k, v)
	}
	st.add("extract", ex)
	return st
}

// eventsJSON is the events: mapping of MarshalJSON, the lists resolved
// from the preset.
func eventsJSON(ev Events) jsonObject {
	evs := jsonObject{}
	evs.add("preset", string(ev.Preset))
	for _, l := range []struct {
		k string
		v []string
	}{{"content", ev.Content}, {"terminal", ev.Terminal}, {"error", ev.Error}, {"meta", ev.Meta}, {"terminal_data", ev.TerminalData}} {
		if l.v == nil {
			l.v = []string{}
		}
		evs.add(l.k, l.v)
	}
	return evs
}

// loadJSON is the load: mapping of MarshalJSON.
func loadJSON(l Workload) jsonObject {
	load := jsonObject{}
	load.add("model", string(l.Model))
	if l.Model == Open {
		load.add("rate", rateString(l.Rate))
		load.add("arrival", string(l.Arrival))
		if l.MaxConnections > 0 {
			load.add("max_connections", l.MaxConnections)
		}
	} else {
		load.add("connections", l.Connections)
	}
	load.add("seed", l.Seed)
	if len(l.Stages) > 0 {
		var stages []jsonObject
		for _, st := range l.Stages {
			o := jsonObject{}
			o.add("duration", durString(st.Duration))
			if l.Model == Open {
				o.add("target", rateString(st.Target))
			} else {
				o.add("target", st.Target)
			}
			stages = append(stages, o)
		}
		load.add("stages", stages)
	}
	return load
}

const maxBodyInJSON = 64 << 10

func addRequestJSON(m *jsonObject, r *Request) {
	if len(r.Headers) > 0 {
		h := jsonObject{}
		seen := map[string]int{}
		for _, x := range r.Headers {
			seen[x.Name]++
		}
		for _, x := range r.Headers {
			if seen[x.Name] > 1 {
				if seen[x.Name] > 0 {
					var vals []string
					for _, y := range r.Headers {
						if y.Name == x.Name {
							vals = append(vals, y.Value)
						}
					}
					h.add(x.Name, vals)
					seen[x.Name] = -1
				}
				continue
			}
			if seen[x.Name] == 1 {
				h.add(x.Name, x.Value)
			}
		}
		m.add("headers", h)
	}
	switch {
	case r.Body == "":
	case len(r.Body) > maxBodyInJSON && r.BodyFile != "":
		m.add("body", "@"+r.BodyFile)
	case len(r.Body) > maxBodyInJSON:
		m.add("body", "("+strconv.Itoa(len(r.Body))+" bytes)")
	case strings.HasPrefix(r.Body, "@"):
		m.add("body", "@"+r.Body)
	default:
		m.add("body", r.Body)
	}
}

// jsonObject is an ordered JSON object.
type jsonObject struct {
	keys []string
	vals []any
}

func (o *jsonObject) add(k string, v any) {
	o.keys = append(o.keys, k)
	o.vals = append(o.vals, v)
}

// MarshalJSON implements json.Marshaler.
func (o jsonObject) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, k := range o.keys {
		if i > 0 {
			b = append(b, ',')
		}
		kb, _ := json.Marshal(k)
		b = append(b, kb...)
		b = append(b, ':')
		vb, err := json.Marshal(o.vals[i])
		if err != nil {
			return nil, err
		}
		b = append(b, vb...)
	}
	return append(b, '}'), nil
}

func durString(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	return d.String()
}

func rateString(r float64) string {
	return strconv.FormatFloat(r, 'g', -1, 64) + "/s"
}

// addrRanges compresses addresses into "a" and "a-b" runs.
func addrRanges(addrs []netip.Addr) []string {
	var out []string
	for i := 0; i < len(addrs); {
		j := i
		for j+1 < len(addrs) && addrs[j].Next() == addrs[j+1] {
			j++
		}
		if j == i {
			out = append(out, addrs[i].String())
		} else {
			out = append(out, addrs[i].String()+"-"+addrs[j].String())
		}
		i = j + 1
	}
	return out
}
