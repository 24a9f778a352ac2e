package checks

import (
	"errors"
	"fmt"
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
		ev := &Evidence{Connection: c.Label, Detail: c.Err.Error()}
		if len(c.Redirects) > 0 {
			ev.Detail += "; " + chain(c.Redirects)
		}
		switch {
		case c.Connected && errors.Is(c.Err, ErrNoHeaders):
			return failf(ev, "the server accepted the connection and the request but sent no response headers within the read's %s: "+
				"something holds the whole response (a buffering proxy: nginx needs proxy_buffering off, or the header X-Accel-Buffering: no, for a stream)", dur(c.EndAt))
		case c.Connected:
			return failf(ev, "no response: %v", c.Err)
		}
		return failf(ev, "no response: %v", c.Err)
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
	case c.Status >= 300 && c.Status < 400:
		why = "a redirect without a usable Location: a browser fails the connection"
	case c.Status >= 500:
		why = "a browser fails the connection for good: EventSource does not retry a 5xx"
	}
	return failf(ev, "answered %d %s: %s", c.Status, http.StatusText(c.Status), why)
}

// ErrNoHeaders is matched (errors.Is) by a capture's Err when the server
// accepted the request but sent no response headers within the read time.
var ErrNoHeaders = errors.New("no response headers")

// checkRedirect: the stream URL answers without a redirect. A browser
// follows redirects (https://fetch.spec.whatwg.org/#http-redirect-fetch),
// but it reconnects to the URL it was given, so every reconnect repeats
// the chain; and a hop to another origin loses the request's credentials.
func checkRedirect(in *Input) Finding {
	c := in.Main
	if c == nil {
		return skipf("the main probe did not run")
	}
	if len(c.Redirects) == 0 {
		if c.Err != nil && !c.Connected {
			return skipf("no response to the stream request (see http/status)")
		}
		return passf("no redirect")
	}
	ev := &Evidence{Connection: c.Label, Detail: chain(c.Redirects)}
	msg := fmt.Sprintf("%d redirect(s) before the stream (to %s): every reconnect repeats them", len(c.Redirects), c.Redirects[len(c.Redirects)-1].To)
	var dropped []string
	for _, h := range c.Redirects {
		dropped = append(dropped, h.Dropped...)
	}
	if len(dropped) > 0 {
		msg += fmt.Sprintf("; the chain crossed to another origin, where %s were not sent (a browser does not send them either)", strings.Join(dropped, ", "))
	}
	return failf(ev, "%s", msg)
}

// chain renders a redirect chain: "302 http://a/ -> http://b/ (cross-origin;
// not sent: Authorization); ...".
func chain(rs []Redirect) string {
	var parts []string
	for _, h := range rs {
		p := fmt.Sprintf("%d %s -> %s %s", h.Status, h.From, h.Method, h.To)
		var notes []string
		if h.CrossOrigin {
			notes = append(notes, "cross-origin")
		}
		if len(h.Dropped) > 0 {
			notes = append(notes, "not sent: "+strings.Join(h.Dropped, ", "))
		}
		if len(notes) > 0 {
			p += " (" + strings.Join(notes, "; ") + ")"
		}
		parts = append(parts, p)
	}
	return "redirects: " + strings.Join(parts, "; ")
}

// checkBodyFraming: the body is framed as its headers say, on every
// connection of the run: chunked encoding that parses, as many bytes as
// the Content-Length declared, a gzip stream that is whole. A connection
// that closes in the middle of a chunked body is a network drop, not a
// framing error (HTTP/1.1 has no other way to abort a response): the resume
// checks judge the recovery.
// https://www.rfc-editor.org/rfc/rfc9112#section-7.1 and
// https://www.rfc-editor.org/rfc/rfc9112#section-6.3
func checkBodyFraming(in *Input) Finding {
	s, skip := mainStream(in)
	if skip != nil {
		return *skip
	}
	for _, c := range in.captures() {
		if c.End != EndBroken {
			continue
		}
		cs := c.Stream()
		if c != in.Main {
			cs = ParseStream(c.Body, c.LastEventID, nil)
		}
		off := int64(len(c.Body))
		ev := at(c, cs, max(0, off-MaxEvidenceBytes), MaxEvidenceBytes)
		ev.Offset = ptr(off)
		ev.Detail = fmt.Sprintf("%v (%s; the evidence is the last body bytes before the break, at byte %d after decoding)", c.EndErr, framing(c), off)
		return failf(ev, "%s: the body's framing broke after %d bytes: %v: a client fails the connection there", c.Label, off, c.EndErr)
	}
	return passf("%s (%d bytes)", framing(in.Main), len(s.Body))
}

// framing names how a body was delimited: "chunked", "Content-Length: N",
// "HTTP/2 frames" or "until the connection closed", and its gzip coding.
func framing(c *Capture) string {
	var f string
	switch {
	case !strings.HasPrefix(c.Proto, "HTTP/1.") && c.Proto != "":
		f = c.Proto + " frames"
	case c.Chunked:
		f = "chunked transfer coding"
	case c.ContentLength >= 0:
		f = fmt.Sprintf("Content-Length: %d", c.ContentLength)
	default:
		f = "delimited by the connection's close"
	}
	if enc := c.Header.Get("Content-Encoding"); enc != "" {
		f += fmt.Sprintf(", Content-Encoding: %s (%d bytes on the wire)", enc, c.WireBytes)
	}
	return f
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
