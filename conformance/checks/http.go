package checks

import (
	"net/http"
	"strings"
)

// checkStatus: the stream request answers 200.
// https://html.spec.whatwg.org/multipage/server-sent-events.html#the-eventsource-interface
// (processResponse: a status other than 200 fails the connection).
func checkStatus(in *Input) Finding {
	c := in.Main
	if c == nil {
		return skipf("the main probe did not run")
	}
	if c.Err != nil {
		return failf(&Evidence{Connection: c.Label, Detail: c.Err.Error()}, "no response: %v", c.Err)
	}
	if c.Status == http.StatusOK {
		return passf("200 OK")
	}
	ev := &Evidence{Connection: c.Label, Detail: "Content-Type: " + c.Header.Get("Content-Type")}
	if len(c.Body) > 0 {
		ev.Bytes, ev.Offset = Quote(c.Body), ptr(int64(0))
	}
	why := "a browser fails the connection and never reconnects"
	switch {
	case c.Status == http.StatusNoContent:
		why = "204 tells a browser to stop for good"
	case c.Status >= 500:
		why = "a browser fails the connection for good: EventSource does not retry a 5xx"
	}
	return failf(ev, "answered %d %s: %s", c.Status, http.StatusText(c.Status), why)
}

// mediaType splits a Content-Type value into its lower-case essence and
// its parameters (names lower-cased, values unquoted).
func mediaType(v string) (string, map[string]string) {
	parts := strings.Split(v, ";")
	essence := strings.ToLower(strings.TrimSpace(parts[0]))
	params := make(map[string]string)
	for _, p := range parts[1:] {
		name, val, _ := strings.Cut(p, "=")
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "" {
			continue
		}
		params[name] = strings.Trim(strings.TrimSpace(val), `"`)
	}
	return essence, params
}

// checkContentType: Content-Type is text/event-stream, charset (if any)
// utf-8. Browsers ignore parameters and case (whatwg/html#7630), so those
// pass; a charset other than UTF-8 is a lie about the bytes and fails.
func checkContentType(in *Input) Finding {
	if _, skip := mainStream(in); skip != nil {
		return *skip
	}
	c := in.Main
	vals := c.Header.Values("Content-Type")
	ev := &Evidence{Connection: c.Label}
	switch {
	case len(vals) == 0:
		return failf(ev, "no Content-Type header: a browser fails the connection")
	case len(vals) > 1:
		first, _ := mediaType(vals[0])
		for _, v := range vals[1:] {
			if e, _ := mediaType(v); e != first {
				ev.Detail = "Content-Type: " + strings.Join(vals, " | ")
				return failf(ev, "%d different Content-Type headers", len(vals))
			}
		}
	}
	essence, params := mediaType(vals[0])
	ev.Detail = "Content-Type: " + vals[0]
	if essence != "text/event-stream" {
		return failf(ev, "Content-Type is %q, not text/event-stream: a browser fails the connection", vals[0])
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return failf(ev, "charset=%s: an event stream is always UTF-8 and clients decode it so", cs)
	}
	return passf("%s", vals[0])
}

// checkCacheControl: Cache-Control carries no-cache or no-store.
func checkCacheControl(in *Input) Finding {
	if _, skip := mainStream(in); skip != nil {
		return *skip
	}
	c := in.Main
	vals := c.Header.Values("Cache-Control")
	if len(vals) == 0 {
		return failf(&Evidence{Connection: c.Label}, "no Cache-Control header: caches and proxies may store or coalesce the stream")
	}
	all := strings.Join(vals, ", ")
	for _, d := range strings.Split(all, ",") {
		name, _, _ := strings.Cut(d, "=")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "no-cache", "no-store":
			return passf("Cache-Control: %s", all)
		}
	}
	return failf(&Evidence{Connection: c.Label, Detail: "Cache-Control: " + all},
		"Cache-Control %q has neither no-cache nor no-store", all)
}

// checkCORS: with an Origin, Access-Control-Allow-Origin admits it.
// https://html.spec.whatwg.org/multipage/server-sent-events.html#the-eventsource-interface
// (a potential-CORS request in mode "cors").
func checkCORS(in *Input) Finding {
	if in.Config.Origin == "" {
		return skipf("no --origin given (cross-origin browser clients not checked)")
	}
	if _, skip := mainStream(in); skip != nil {
		return *skip
	}
	c := in.Main
	vals := c.Header.Values("Access-Control-Allow-Origin")
	ev := &Evidence{Connection: c.Label, Detail: "Origin: " + in.Config.Origin}
	switch {
	case len(vals) == 0:
		return failf(ev, "no Access-Control-Allow-Origin for Origin %s: a cross-origin EventSource fails the connection", in.Config.Origin)
	case len(vals) > 1:
		ev.Detail += "; Access-Control-Allow-Origin: " + strings.Join(vals, " | ")
		return failf(ev, "%d Access-Control-Allow-Origin headers: browsers reject the response", len(vals))
	case vals[0] == "*":
		return passf("Access-Control-Allow-Origin: * (enough without credentials)")
	case vals[0] == in.Config.Origin:
		return passf("Access-Control-Allow-Origin: %s", vals[0])
	}
	ev.Detail += "; Access-Control-Allow-Origin: " + vals[0]
	return failf(ev, "Access-Control-Allow-Origin is %q, not %s: a cross-origin EventSource fails the connection", vals[0], in.Config.Origin)
}
