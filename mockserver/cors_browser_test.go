package mockserver

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssebench/ssebench/reports/browsertest"

	"github.com/chromedp/chromedp"
)

// The browser test opens, in headless Chromium (Debian's chromium package,
// or $TEST_CHROMIUM), a page on one loopback origin that reads the mock
// on another (another port) with new EventSource(url, {withCredentials:
// true}) and a credentialed fetch with headers that need a preflight.
// Without Chromium the test skips, except under CI=true, where it fails.

// corsPage is served by the page origin. It sets a cookie (cookies ignore
// ports, so the browser sends it to the mock too, but only in credentials
// mode) and reports what it saw in window.__out.
const corsPage = `<!doctype html><meta charset="utf-8"><title>cors</title><script>
const q = new URLSearchParams(location.search);
const out = window.__out = {events: [], opened: false, errors: 0, closed: false, finished: false, fetch: null};
const es = new EventSource(q.get("src"), {withCredentials: true});
es.onopen = () => { out.opened = true; };
const add = (e) => out.events.push({type: e.type, id: e.lastEventId, data: e.data});
for (const t of ["info", "add"]) es.addEventListener(t, add);
es.addEventListener("finish", (e) => { add(e); out.finished = true; es.close(); });
es.onerror = () => { out.errors++; if (es.readyState === EventSource.CLOSED) out.closed = true; };
fetch(q.get("fetch"), {method: "POST", credentials: "include",
  headers: {"Content-Type": "application/json", "Last-Event-ID": "1", "X-Client-Trace": "t-1"},
  body: JSON.stringify({stream: true, max_tokens: 2, messages: [{role: "user", content: "hi"}]})})
  .then((r) => r.text()).then((t) => { out.fetch = {ok: true, body: t.length}; })
  .catch((e) => { out.fetch = {ok: false, error: String(e)}; });
</script>`

// corsOut is window.__out.
type corsOut struct {
	Events []struct {
		Type, ID, Data string
	} `json:"events"`
	Opened, Closed, Finished bool
	Errors                   int
	Fetch                    *struct {
		OK    bool   `json:"ok"`
		Body  int    `json:"body"`
		Error string `json:"error"`
	} `json:"fetch"`
}

// seenRequest is what the mock's origin received.
type seenRequest struct {
	method, path, cookie, origin, lastEventID, requestHeaders string
}

func TestBrowserCORSCredentials(t *testing.T) {
	exe := browsertest.FindChromium(t)
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "ssebench_session", Value: "c-42", Path: "/"})
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(corsPage))
	}))
	t.Cleanup(page.Close)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	browserCtx, stop := browsertest.Start(t, ctx, exe)
	defer stop()

	for _, creds := range []bool{true, false} {
		t.Run(fmt.Sprintf("cors-credentials=%v", creds), func(t *testing.T) {
			cfg := fastConfig()
			cfg.Tokens, cfg.ITL = 5, Fixed(5*time.Millisecond)
			cfg.CORSCredentials = creds
			s, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			var seen []seenRequest
			mock := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				seen = append(seen, seenRequest{r.Method, r.URL.Path, r.Header.Get("Cookie"), r.Header.Get("Origin"),
					r.Header.Get("Last-Event-ID"), strings.ToLower(r.Header.Get("Access-Control-Request-Headers"))})
				mu.Unlock()
				s.ServeHTTP(w, r)
			}))
			t.Cleanup(func() { s.Close(); mock.Close() })
			// The mock listens on 127.0.0.1 like the page, on another port:
			// another origin, the same site.
			q := url.Values{"src": {mock.URL + "/v1/stream"}, "fetch": {mock.URL + "/v1/chat/completions"}}
			tab, cancelTab := chromedp.NewContext(browserCtx)
			defer cancelTab()
			if err := chromedp.Do(tab, chromedp.Navigate(page.URL+"/?"+q.Encode())); err != nil {
				t.Fatalf("page: %v", err)
			}
			out, err := chromedp.Run(tab, chromedp.Poll[corsOut](
				`window.__out && (window.__out.finished || window.__out.closed) && window.__out.fetch !== null && window.__out`,
				chromedp.WithPollingTimeout(30*time.Second)))
			if err != nil {
				t.Fatalf("the page did not finish: %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			streamReqs, preflights := 0, 0
			for _, r := range seen {
				switch {
				case r.method == "GET" && r.path == "/v1/stream":
					streamReqs++
					if r.cookie != "ssebench_session=c-42" || r.origin != strings.TrimSuffix(page.URL, "/") {
						t.Errorf("the EventSource request carried Cookie %q, Origin %q: not a credentialed cross-origin request", r.cookie, r.origin)
					}
				case r.method == "OPTIONS":
					preflights++
					if !strings.Contains(r.requestHeaders, "last-event-id") || !strings.Contains(r.requestHeaders, "x-client-trace") {
						t.Errorf("preflight asked for %q", r.requestHeaders)
					}
				}
			}
			if streamReqs == 0 || preflights == 0 {
				t.Errorf("the mock saw %d stream requests and %d preflights: %+v", streamReqs, preflights, seen)
			}
			if creds {
				if !out.Opened || !out.Finished || len(out.Events) != cfg.Tokens+2 || out.Fetch == nil || !out.Fetch.OK || out.Fetch.Body == 0 {
					t.Errorf("with --cors-credentials the page got %+v", out)
				}
				for i, ev := range out.Events {
					if ev.ID != fmt.Sprint(i) {
						t.Errorf("event %d has id %q", i, ev.ID)
					}
				}
				return
			}
			// Access-Control-Allow-Origin: * with credentials: the browser
			// refuses the response, and EventSource fails for good.
			if out.Opened || len(out.Events) != 0 || !out.Closed || out.Fetch == nil || out.Fetch.OK {
				t.Errorf("without --cors-credentials the page got %+v", out)
			}
		})
	}
}
