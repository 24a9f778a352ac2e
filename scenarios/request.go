package scenarios

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// PreparedRequest is a Request with its templates parsed, ready to build
// one *http.Request per stream. Build one with Scenario.PrepareRequest or
// Scenario.PrepareSetup. It is immutable and safe for concurrent use.
type PreparedRequest struct {
	method  string
	url     Template
	headers []preparedHeader
	body    Template
	getenv  func(string) string
	hasBody bool
}

type preparedHeader struct {
	name  string
	value Template
}

// AcceptEncoding is the Accept-Encoding a browser sends, and so the
// stream request unless the scenario turns compression off.
const AcceptEncoding = "gzip, deflate, br, zstd"

// PrepareRequest prepares the stream request. Unless the scenario sets
// them, it adds the headers a browser's EventSource sends: Accept:
// text/event-stream, Cache-Control: no-cache and (unless compression is
// off) Accept-Encoding: AcceptEncoding; and Content-Type:
// application/json when the body starts with { or [. A JSON body (that
// one, or any body sent with a JSON Content-Type) has its template values
// JSON-escaped (Template.ForJSON).
func (s *Scenario) PrepareRequest() (*PreparedRequest, error) {
	defaults := [][2]string{{"Accept", "text/event-stream"}, {"Cache-Control", "no-cache"}}
	if !s.DisableCompression {
		defaults = append(defaults, [2]string{"Accept-Encoding", AcceptEncoding})
	}
	return s.prepare(&s.Request, defaults)
}

// PrepareSetup prepares the setup request (nil when there is none). Unless
// the scenario sets them, it adds Accept: application/json, and
// Content-Type: application/json when the body starts with { or [.
func (s *Scenario) PrepareSetup() (*PreparedRequest, error) {
	if s.Setup == nil {
		return nil, nil
	}
	return s.prepare(&s.Setup.Request, [][2]string{{"Accept", "application/json"}})
}

func (s *Scenario) prepare(r *Request, defaults [][2]string) (*PreparedRequest, error) {
	p := &PreparedRequest{method: r.Method, getenv: s.Getenv, hasBody: r.Body != ""}
	var err error
	if p.url, err = ParseTemplate(r.URL); err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	if p.body, err = ParseTemplate(r.Body); err != nil {
		return nil, fmt.Errorf("body: %w", err)
	}
	has := func(name string) bool {
		for _, h := range r.Headers {
			if strings.EqualFold(h.Name, name) {
				return true
			}
		}
		return false
	}
	for _, h := range r.Headers {
		t, err := ParseTemplate(h.Value)
		if err != nil {
			return nil, fmt.Errorf("header %s: %w", h.Name, err)
		}
		p.headers = append(p.headers, preparedHeader{http.CanonicalHeaderKey(h.Name), t})
	}
	if b := strings.TrimSpace(r.Body); (strings.HasPrefix(b, "{") || strings.HasPrefix(b, "[")) && !has("Content-Type") {
		defaults = append(defaults, [2]string{"Content-Type", "application/json"})
		p.body = p.body.ForJSON()
	} else if isJSONType(r.Headers) {
		p.body = p.body.ForJSON()
	}
	for _, d := range defaults {
		if !has(d[0]) {
			t, _ := ParseTemplate(d[1])
			p.headers = append(p.headers, preparedHeader{d[0], t})
		}
	}
	return p, nil
}

// isJSONType reports whether the headers set a JSON Content-Type
// (application/json, or any application/*+json).
func isJSONType(hs []Header) bool {
	for _, h := range hs {
		if !strings.EqualFold(h.Name, "Content-Type") {
			continue
		}
		mt, _, _ := strings.Cut(h.Value, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
		return mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")
	}
	return false
}

// New builds the request of one stream with v's template values. The
// body can be re-read (GetBody is set) for redirects and reconnects.
func (p *PreparedRequest) New(ctx context.Context, v *Vars) (*http.Request, error) {
	if v.Getenv == nil && p.getenv != nil {
		vv := *v
		vv.Getenv = p.getenv
		v = &vv
	}
	var body io.Reader
	var data []byte
	if p.hasBody {
		data = p.body.Expand(nil, v)
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, p.method, p.url.ExpandString(v), body)
	if err != nil {
		return nil, err
	}
	if p.hasBody {
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	}
	for _, h := range p.headers {
		if h.name == "Host" {
			req.Host = h.value.ExpandString(v)
			continue
		}
		req.Header[h.name] = append(req.Header[h.name], h.value.ExpandString(v))
	}
	return req, nil
}

// Values extracts the setup's template values from a JSON response body.
// A missing field is an error naming it.
func (st *Setup) Values(body []byte) (map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("setup response is not JSON: %w", err)
	}
	out := make(map[string]string, len(st.Extract))
	for _, name := range slices.Sorted(maps.Keys(st.Extract)) {
		v, err := lookup(doc, st.Extract[name])
		if err != nil {
			return nil, fmt.Errorf("setup extract %s: %w", name, err)
		}
		out[name] = v
	}
	return out, nil
}

// lookup follows a dotted path (object keys, array indexes) into doc and
// returns the value as a string: strings as they are, numbers, booleans
// and null in their JSON spelling, objects and arrays as compact JSON.
func lookup(doc any, path string) (string, error) {
	cur := doc
	for _, part := range strings.Split(path, ".") {
		switch x := cur.(type) {
		case map[string]any:
			v, ok := x[part]
			if !ok {
				return "", fmt.Errorf("field %q not found in the response (path %q)", part, path)
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(x) {
				return "", fmt.Errorf("index %q out of range in the response (path %q)", part, path)
			}
			cur = x[i]
		default:
			return "", fmt.Errorf("%q: not an object or array in the response (path %q)", part, path)
		}
	}
	switch x := cur.(type) {
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case nil:
		return "null", nil
	case bool:
		return strconv.FormatBool(x), nil
	}
	b, err := json.Marshal(cur)
	return string(b), err
}
