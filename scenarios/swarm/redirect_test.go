package swarm

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/ssebench/ssebench/scenarios"
)

// seen records the requests a test server received.
type seen struct {
	mu   sync.Mutex
	reqs []seenRequest
}

type seenRequest struct {
	method, path, body string
	header             http.Header
}

func (s *seen) add(r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, seenRequest{r.Method, r.URL.RequestURI(), string(b), r.Header.Clone()})
}

func (s *seen) all() []seenRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seenRequest(nil), s.reqs...)
}

// credentialHeaders are the scenario's secret headers in these tests.
const credentialHeaders = "headers: {Authorization: Bearer s3cr3t-token, X-Api-Key: k3y-value, Cookie: sid=c00kie, X-Trace: keep}\n"

// TestRedirectCrossOrigin: a redirect to another loopback port (another
// origin) is followed, but the credential headers are not sent there;
// the other headers are. The redirect is counted.
func TestRedirectCrossOrigin(t *testing.T) {
	for _, path := range []string{"direct", "transport"} {
		t.Run(path, func(t *testing.T) {
			var other seen
			dst := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				other.add(r)
				writeEvents(w, "data: hello\n\n")
			}))
			defer dst.Close()
			src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, dst.URL+"/stream?x=1", http.StatusFound)
			}))
			defer src.Close()
			// One stream (an arrival at 0), the run over after 10ms.
			sc := scenario(t, "url: "+src.URL+"/start\nload: {rate: 1/m}\nduration: 10ms\nevents: generic\n"+credentialHeaders)
			s, err := New(sc, Options{SharedTransport: path == "transport"})
			if err != nil {
				t.Fatal(err)
			}
			c := collect(t, t.Context(), s)
			c.checkWellFormed(t)
			e := c.ends()[0]
			if e.Err != scenarios.ErrNone || c.tokens(0) != 1 {
				t.Fatalf("end: %v %q, tokens %d; want ok after the redirect", e.Err, e.Detail, c.tokens(0))
			}
			if n := sum(c.all, func(r *scenarios.Result) int64 { return r.Redirects }); n != 1 {
				t.Errorf("redirects %d, want 1", n)
			}
			reqs := other.all()
			if len(reqs) != 1 || reqs[0].path != "/stream?x=1" {
				t.Fatalf("the other origin got %v, want one request for /stream?x=1", reqs)
			}
			h := reqs[0].header
			for _, name := range []string{"Authorization", "X-Api-Key", "Cookie"} {
				if v := h.Get(name); v != "" {
					t.Errorf("the other origin received %s: %q", name, v)
				}
			}
			if h.Get("X-Trace") != "keep" || h.Get("Accept") != "text/event-stream" {
				t.Errorf("the other origin lost the other headers: %v", h)
			}
		})
	}
}

// TestRedirectSameOrigin: a redirect within the origin keeps the
// credentials, follows a chain of hops, and turns a POST into a GET as
// fetch does for 303 (and 301/302), keeping method and body for 307/308.
func TestRedirectSameOrigin(t *testing.T) {
	for _, tc := range []struct {
		code         int
		method, body string // of the final request
	}{
		{http.StatusMovedPermanently, "GET", ""},
		{http.StatusFound, "GET", ""},
		{http.StatusSeeOther, "GET", ""},
		{http.StatusTemporaryRedirect, "POST", `{"q":1}`},
		{http.StatusPermanentRedirect, "POST", `{"q":1}`},
	} {
		t.Run(http.StatusText(tc.code), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var got seen
				m := serveMem(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					got.add(r)
					switch r.URL.Path {
					case "/a":
						http.Redirect(w, r, "/b", tc.code)
					case "/b":
						http.Redirect(w, r, "http://sse.test/c", tc.code)
					default:
						writeEvents(w, "data: x\n\n")
					}
				}))
				c := runMem(t, m, scenario(t, one("url: http://sse.test/a\nevents: generic\nbody: '{\"q\":1}'\n"+credentialHeaders)))
				c.checkWellFormed(t)
				if e := c.ends()[0]; e.Err != scenarios.ErrNone {
					t.Fatalf("end: %v %q", e.Err, e.Detail)
				}
				if n := sum(c.all, func(r *scenarios.Result) int64 { return r.Redirects }); n != 2 {
					t.Errorf("redirects %d, want 2", n)
				}
				reqs := got.all()
				if len(reqs) != 3 {
					t.Fatalf("requests %d, want 3", len(reqs))
				}
				last := reqs[2]
				if last.path != "/c" || last.method != tc.method || last.body != tc.body {
					t.Errorf("final request %s %s %q, want %s /c %q", last.method, last.path, last.body, tc.method, tc.body)
				}
				if ct := last.header.Get("Content-Type"); (ct != "") != (tc.body != "") {
					t.Errorf("final request Content-Type %q with body %q", ct, tc.body)
				}
				if last.header.Get("Authorization") != "Bearer s3cr3t-token" || last.header.Get("X-Api-Key") != "k3y-value" {
					t.Errorf("same-origin hop lost the credentials: %v", last.header)
				}
			})
		})
	}
}

// TestRedirectDetailScrubbed: a redirect that cannot be followed fails
// with a Detail that names no secret of the request or of the Location.
func TestRedirectDetailScrubbed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := serveMem(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", "ftp://user:pw@elsewhere/?token=s3cr3t-token")
			w.WriteHeader(http.StatusFound)
			io.WriteString(w, "go away s3cr3t-token")
		}))
		c := runMem(t, m, scenario(t, one("events: generic\n"+credentialHeaders)))
		e := c.ends()[0]
		if e.Err != scenarios.ErrHTTPStatus || e.Status != 302 {
			t.Fatalf("end: %v %d %q, want http_status 302", e.Err, e.Status, e.Detail)
		}
		if e.Detail != `HTTP 302 Found: redirect to a "ftp" URL (want http or https)` {
			t.Errorf("detail %q", e.Detail)
		}
		if strings.Contains(e.Detail+e.Sample, "s3cr3t") || strings.Contains(e.Detail+e.Sample, "pw@") {
			t.Errorf("a secret leaked: %q %q", e.Detail, e.Sample)
		}
	})
}
