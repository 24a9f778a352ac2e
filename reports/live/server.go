package live

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// MetricsPath and DashboardPath are what the Server serves.
const (
	MetricsPath   = "/metrics"
	DashboardPath = "/grafana-dashboard.json"
)

// Bounds of the server: a scrape's request must arrive within
// readHeaderTimeout and its answer be sent within writeTimeout; at most
// maxScrapes are answered at once (more get 503 Service Unavailable, so a
// scraper storm cannot multiply the cost of collecting, one histogram copy
// per metric and shard each).
const (
	readHeaderTimeout = 10 * time.Second
	writeTimeout      = 30 * time.Second
	maxScrapes        = 4
)

// Server serves a Collector over HTTP: GET /metrics (the Prometheus text
// exposition, or the protobuf one that carries native histograms when the
// scraper asks for it) and GET /grafana-dashboard.json (the dashboard built
// on these metrics). It counts scrapes so that the run can wait, at its
// end, for one that reads the final values (AwaitFinalScrape).
type Server struct {
	ln  net.Listener
	srv *http.Server

	c          *Collector
	scrapes    atomic.Int64 // scrapes answered
	mu         sync.Mutex
	final      chan struct{} // closed by the final scrape (see counting)
	finished   bool          // Finish was called
	finalReads int           // scrapes that read the final values
	served     chan struct{}
	err        error
}

// Listen binds addr (host:port; port 0 picks one) and serves c there until
// Close. The error names the address.
func Listen(addr string, c *Collector) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	reg := prometheus.NewRegistry() // the tests check the collector with a pedantic one
	if err := reg.Register(c); err != nil {
		ln.Close()
		return nil, fmt.Errorf("metrics: %w", err)
	}
	s := &Server{ln: ln, served: make(chan struct{}), final: make(chan struct{}), c: c}
	metrics := promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: maxScrapes,
		Timeout:             writeTimeout - time.Second,
	})
	mux := http.NewServeMux()
	mux.Handle("GET "+MetricsPath, s.counting(metrics))
	mux.HandleFunc("GET "+DashboardPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(Dashboard())
	})
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: readHeaderTimeout, WriteTimeout: writeTimeout}
	go func() {
		defer close(s.served)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.mu.Lock()
			s.err = err
			s.mu.Unlock()
		}
	}()
	return s, nil
}

// FinalReads is how many scrapes must read the final values before
// AwaitFinalScrape stops waiting: two, so that one lost to its scraper
// (a timeout under load, which the server cannot always see) still leaves
// the final values with the scraper.
const FinalReads = 2

// counting wraps the metrics handler: it counts each answered scrape, and
// the FinalReads-th that read the final values closes the final channel:
// a scrape whose collection saw every view done, or one begun after
// Finish (a worker that died is never done). Such a scrape counts only
// when its scraper likely got it: its request was not cancelled, and it
// was answered within half the timeout Prometheus announces
// (X-Prometheus-Scrape-Timeout-Seconds).
func (s *Server) counting(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		began := time.Now()
		s.mu.Lock()
		afterFinish := s.finished
		s.mu.Unlock()
		finals := s.c.Finals()
		h.ServeHTTP(w, r)
		s.scrapes.Add(1)
		if !afterFinish && s.c.Finals() == finals {
			return
		}
		if r.Context().Err() != nil || tooSlow(r.Header.Get(scrapeTimeoutHeader), time.Since(began)) {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.finalReads++; s.finalReads == FinalReads {
			close(s.final)
		}
	})
}

// scrapeTimeoutHeader is where Prometheus says how long it waits for a
// scrape, in seconds.
const scrapeTimeoutHeader = "X-Prometheus-Scrape-Timeout-Seconds"

// tooSlow reports whether a scrape answered in took may have outlived half
// its scraper's timeout (header, seconds; none or malformed: no limit).
func tooSlow(header string, took time.Duration) bool {
	secs, err := strconv.ParseFloat(header, 64)
	if err != nil || secs <= 0 || math.IsNaN(secs) || math.IsInf(secs, 0) {
		return false
	}
	return took.Seconds() > secs/2
}

// Addr returns the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// URL returns the URL of the metrics, http://ADDR/metrics.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() + MetricsPath }

// Scrapes returns the number of scrapes answered so far.
func (s *Server) Scrapes() int64 { return s.scrapes.Load() }

// Finish says that the views are final: a scrape that begins from now on
// reads the run's final values (even when a view never says it is done).
// Calling it again has no effect.
func (s *Server) Finish() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.finished = true
}

// AwaitFinalScrape waits until FinalReads scrapes have read the final
// values (see counting), at most linger, and reports whether they did. When nothing scraped the
// server before the run ended (scrapedBefore false: no scraper is
// watching) or linger is not positive, it only reports whether that
// scrape already happened. Call Finish first.
func (s *Server) AwaitFinalScrape(ctx context.Context, scrapedBefore bool, linger time.Duration) bool {
	return awaitFinal(ctx, s.final, scrapedBefore, linger)
}

// awaitFinal is AwaitFinalScrape's wait: final closed, linger passed, or
// ctx done, whichever comes first.
func awaitFinal(ctx context.Context, final <-chan struct{}, scrapedBefore bool, linger time.Duration) bool {
	select {
	case <-final:
		return true
	default:
	}
	if !scrapedBefore || linger <= 0 {
		return false
	}
	t := time.NewTimer(linger)
	defer t.Stop()
	select {
	case <-final:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}

// Close stops the server at once (a scrape in progress is cut) and returns
// the error that stopped serving early, if any.
func (s *Server) Close() error {
	err := s.srv.Close()
	<-s.served
	s.mu.Lock()
	defer s.mu.Unlock()
	return errors.Join(err, s.err)
}
