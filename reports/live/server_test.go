package live

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ssebench/ssebench/reports"
)

func get(t *testing.T, u string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// TestServer: /metrics in the text format and, when asked, the protobuf
// one; the dashboard; scrapes are counted, and the first one begun after
// Finish ends AwaitFinalScrape's wait.
func TestServer(t *testing.T) {
	l := shardState("1/1", 1)
	s, err := Listen("127.0.0.1:0", NewCollector(testInfo, func() []reports.LiveView { return []reports.LiveView{l.View()} }))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !strings.HasPrefix(s.URL(), "http://127.0.0.1:") || !strings.HasSuffix(s.URL(), MetricsPath) {
		t.Fatalf("URL %q", s.URL())
	}
	resp, body := get(t, s.URL())
	if resp.StatusCode != 200 || !strings.Contains(body, `ssebench_streams_started_total{shard="1/1"} 7`) {
		t.Fatalf("GET /metrics: %s\n%s", resp.Status, body)
	}
	resp, _ = get(t, s.URL(), "Accept", "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited")
	if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, "protobuf") {
		t.Errorf("a protobuf scrape got %q", ct)
	}
	resp, body = get(t, "http://"+s.Addr().String()+DashboardPath)
	if resp.StatusCode != 200 || body != string(Dashboard()) {
		t.Errorf("GET %s: %s", DashboardPath, resp.Status)
	}
	if resp, _ = get(t, "http://"+s.Addr().String()+"/other"); resp.StatusCode != 404 {
		t.Errorf("GET /other: %s", resp.Status)
	}
	if n := s.Scrapes(); n != 2 {
		t.Errorf("%d scrapes counted, want 2 (the dashboard is not a scrape)", n)
	}

	ctx := context.Background()
	if s.AwaitFinalScrape(ctx, true, 0) {
		t.Error("a scrape of values not yet final counted as the final one")
	}
	s.Finish()
	get(t, s.URL())
	if s.AwaitFinalScrape(ctx, true, 0) {
		t.Error("one scrape of the final values ended the wait, want FinalReads")
	}
	go func() {
		if resp, err := http.Get(s.URL()); err == nil {
			resp.Body.Close()
		}
	}()
	if !s.AwaitFinalScrape(ctx, true, time.Hour) {
		t.Error("the second scrape after Finish did not end the wait")
	}
	s.Finish() // again: no effect
	if !s.AwaitFinalScrape(ctx, false, 0) {
		t.Error("a second AwaitFinalScrape does not see the final scrape")
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// TestServerFinalWhenDone: scrapes whose views are all done read the
// final values, before Finish; a view not done keeps them from it.
func TestServerFinalWhenDone(t *testing.T) {
	done, notDone := shardState("1/2", 1), shardState("2/2", 1)
	done.Apply(&reports.Delta{Seq: 3, Done: true})
	views := []*reports.LiveState{done, notDone}
	s, err := Listen("127.0.0.1:0", NewCollector(testInfo, func() []reports.LiveView {
		out := make([]reports.LiveView, len(views))
		for i, l := range views {
			out[i] = l.View()
		}
		return out
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	get(t, s.URL())
	if s.AwaitFinalScrape(context.Background(), true, 0) {
		t.Fatal("a scrape with shard 2/2 still running counted as final")
	}
	notDone.Apply(&reports.Delta{Seq: 3, Done: true})
	get(t, s.URL())
	get(t, s.URL())
	if !s.AwaitFinalScrape(context.Background(), true, 0) {
		t.Fatal("two scrapes that saw every shard done did not end the wait")
	}
}

func TestListenError(t *testing.T) {
	s, err := Listen("127.0.0.1:0", NewCollector(testInfo, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = Listen(s.Addr().String(), NewCollector(testInfo, nil))
	if err == nil || !strings.Contains(err.Error(), s.Addr().String()) {
		t.Errorf("a second Listen on %s: %v, want an error naming the address", s.Addr(), err)
	}
}

// TestAwaitFinal: the wait ends at the final scrape, after linger, or
// when the context ends; without an earlier scrape it does not wait.
func TestAwaitFinal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		final := make(chan struct{})
		start := time.Now()
		if awaitFinal(ctx, final, false, time.Hour) || time.Since(start) != 0 {
			t.Error("waited although nothing scraped before")
		}
		if awaitFinal(ctx, final, true, 0) || time.Since(start) != 0 {
			t.Error("waited with linger 0")
		}
		if awaitFinal(ctx, final, true, 20*time.Second) || time.Since(start) != 20*time.Second {
			t.Errorf("gave up after %s, want the linger, 20s", time.Since(start))
		}
		c, cancel := context.WithCancel(ctx)
		time.AfterFunc(3*time.Second, cancel)
		start = time.Now()
		if awaitFinal(c, final, true, time.Minute) || time.Since(start) != 3*time.Second {
			t.Errorf("the cancelled wait took %s, want 3s", time.Since(start))
		}
		time.AfterFunc(5*time.Second, func() { close(final) })
		start = time.Now()
		if !awaitFinal(ctx, final, true, time.Minute) || time.Since(start) != 5*time.Second {
			t.Errorf("the final scrape ended the wait after %s, want 5s", time.Since(start))
		}
	})
}

func TestTooSlow(t *testing.T) {
	for _, tc := range []struct {
		header string
		took   time.Duration
		want   bool
	}{
		{"", time.Hour, false}, {"junk", time.Hour, false}, {"-1", time.Hour, false}, {"NaN", time.Hour, false},
		{"1", 400 * time.Millisecond, false}, {"1", 600 * time.Millisecond, true}, {"10.5", 5 * time.Second, false},
		{"10.5", 6 * time.Second, true},
	} {
		if got := tooSlow(tc.header, tc.took); got != tc.want {
			t.Errorf("tooSlow(%q, %s) = %v, want %v", tc.header, tc.took, got, tc.want)
		}
	}
}

// TestServerSlowScrapeNotFinal: a scrape answered after half the timeout
// its scraper announced does not count; quick ones do.
func TestServerSlowScrapeNotFinal(t *testing.T) {
	done := shardState("1/1", 1)
	done.Apply(&reports.Delta{Seq: 3, Done: true})
	s, err := Listen("127.0.0.1:0", NewCollector(testInfo, func() []reports.LiveView { return []reports.LiveView{done.View()} }))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	get(t, s.URL(), scrapeTimeoutHeader, "0.000000001") // no collection is that fast
	if s.AwaitFinalScrape(context.Background(), true, 0) {
		t.Fatal("a scrape slower than half its scraper's timeout counted as final")
	}
	get(t, s.URL(), scrapeTimeoutHeader, "3600")
	get(t, s.URL(), scrapeTimeoutHeader, "3600")
	if !s.AwaitFinalScrape(context.Background(), true, 0) {
		t.Fatal("two quick final scrapes did not end the wait")
	}
}
