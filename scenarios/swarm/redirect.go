package swarm

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/ssebench/ssebench/scenarios/secret"
)

// Redirects are followed as fetch follows them for EventSource
// (https://fetch.spec.whatwg.org/#http-redirect-fetch), on the direct path
// and over the Transport alike: a 301, 302, 303, 307 or 308 with a
// Location is followed, at most maxRedirects times per attempt; a 303, and
// a 301 or 302 answering a POST, turn the request into a GET without a
// body (and without the headers that describe one); a hop to another
// origin (scheme, host, port) drops every credential header
// (secret.DropCredentials: Authorization, Cookie, X-Api-Key, ...), which
// stay dropped for the rest of the attempt. A reconnect starts again from
// the scenario's URL, as EventSource does.

// maxRedirects is the most redirects one attempt follows (fetch's limit);
// the next one fails the attempt (class http_status).
const maxRedirects = secret.MaxRedirects

// redirectBodyMax bounds the bytes of a redirect response's body read (to
// keep the connection for the next hop); a longer one closes it.
const redirectBodyMax = 4 << 10

// sampleWait bounds how long reading a failed response's body (the
// Sample, or a redirect's body) may take.
const sampleWait = time.Second

// isRedirect reports whether status is one fetch follows.
func isRedirect(status int) bool {
	switch status {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

// bodyHeaders are fetch's "request-body-header names", removed when a
// redirect drops the body.
var bodyHeaders = []string{"Content-Encoding", "Content-Language", "Content-Location", "Content-Type"}

// redirectRequest returns the request for the hop resp (a redirect of
// req) points to.
func redirectRequest(req *http.Request, resp *http.Response) (*http.Request, error) {
	loc, err := req.URL.Parse(resp.Header.Get("Location"))
	if err != nil {
		return nil, errors.New("redirect to a Location that is not a URL")
	}
	if loc.Scheme != "http" && loc.Scheme != "https" {
		return nil, fmt.Errorf("redirect to a %q URL (want http or https)", loc.Scheme)
	}
	next := req.Clone(req.Context())
	next.URL = loc
	next.Host = ""
	if secret.SameOrigin(req.URL, loc) {
		next.Host = req.Host
	} else {
		secret.DropCredentials(next.Header)
	}
	code := resp.StatusCode
	if code == http.StatusSeeOther && req.Method != http.MethodGet && req.Method != http.MethodHead ||
		(code == http.StatusMovedPermanently || code == http.StatusFound) && req.Method == http.MethodPost {
		next.Method = http.MethodGet
		next.Body, next.GetBody, next.ContentLength = nil, nil, 0
		for _, h := range bodyHeaders {
			next.Header.Del(h)
		}
		return next, nil
	}
	if req.GetBody != nil {
		if next.Body, err = req.GetBody(); err != nil {
			return nil, fmt.Errorf("redirect: the body cannot be sent again: %w", err)
		}
	}
	return next, nil
}

// locationOf returns the redirect's target for Details: its origin and
// path, without query or user information (they may hold secrets).
func locationOf(req *http.Request, resp *http.Response) string {
	loc, err := req.URL.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Host == "" {
		return "an invalid Location"
	}
	u := url.URL{Scheme: loc.Scheme, Host: loc.Host, Path: loc.Path}
	return u.String()
}

// discard reads a little of a response nobody will look at (a redirect)
// so that its connection can serve the next request, and ends it.
func (st *stream) discard(h response) {
	stop := time.AfterFunc(sampleWait, h.abort)
	n, err := io.Copy(io.Discard, io.LimitReader(h.resp.Body, redirectBodyMax+1))
	clean := stop.Stop() && err == nil && n <= redirectBodyMax
	st.done(h, clean)
}
