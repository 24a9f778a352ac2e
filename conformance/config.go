// Package conformance checks a Server-Sent Events endpoint against the
// catalogue of package checks, as a Ginkgo/Gomega suite.
//
// The split follows the OCI distribution-spec lesson: the checks are plain
// Go functions over recorded HTTP exchanges (package checks, unit-tested on
// byte strings); this package records those exchanges (the prober: a
// browser-like request, redirects followed as a browser does, every body
// read timed at the socket, gzip decoded with both the wire and the decoded
// arrival kept, resume and reconnect sequences done the way a browser does
// them) and makes Ginkgo the thin layer that runs the checks: one spec per
// check, grouped http, stream, framing, resume, reconnect and lifecycle,
// interruptible, with per-spec timeouts and evidence attached to every
// finding that is not a pass. The outcome is one report model,
// reports.ConformanceReport, that the reports package renders to the
// console, JSON, HTML and JUnit.
//
// # Memory
//
// A run keeps at most Config.MaxMemory bytes of the responses (default
// 128 MiB), all connections together, in fixed shares per probe (see
// memory.go): half for the main read, 1/8 each for the resume and
// mid-event chains, 1/16 each for the unknown-id request, the reconnect
// after a server's drop, the reconnect after the end and the headers
// control. A connection's body is kept in one buffer, the only copy of its
// bytes; the checks see it through an index of offsets (checks.Index), so
// a flood of empty lines or comments costs nothing beyond its bytes, and
// an event's data is hashed, not copied. A read that used up its share
// stops (End "limit") and the checks judge what it kept; an event larger
// than that is reported by framing/event-size with the size it reached.
// Peak memory is about the budget plus the Go runtime; a buffer that
// doubles holds its old copy for a moment too.
//
// # Redirects and secrets
//
// Redirects are followed as the Fetch Standard says a browser's
// EventSource follows them (https://fetch.spec.whatwg.org/#http-redirect-fetch):
// at most MaxRedirects (20); a POST becomes a GET on a 301, 302 or 303; a
// hop to another origin (scheme, host or port) drops every credential
// header (secret.IsCredentialHeader) for the rest of the chain. Each hop is
// recorded and shown by http/redirect. Every URL, header value and message
// in the report is redacted by the one rule of package secret.
//
// Run is the entry point of `ssebench conform`: it runs the same suite from
// a built binary, without a Go toolchain. Ginkgo runs one suite per process,
// so Run may be called once per process.
package conformance

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ssebench/ssebench/conformance/checks"
	"github.com/ssebench/ssebench/scenarios/secret"
)

// Defaults of Config.
const (
	DefaultMaxEvents   = 1000
	DefaultMaxTime     = 30 * time.Second
	DefaultResumeAfter = 2
	DefaultMidEvent    = 1
	// DefaultMaxMemory is the default memory budget of a run: 128 MiB.
	DefaultMaxMemory = 128 << 20
	// MinMaxMemory is the smallest budget a run accepts: 1 MiB.
	MinMaxMemory = 1 << 20
)

// Config says what to check and how: the target and the request to send,
// how much of the stream to read, and the thresholds. It is plain data; the
// zero value of each field means its default (see WithDefaults).
type Config struct {
	// Target is the stream's URL (http or https).
	Target string
	// Method is the request method; "" means GET (POST for LLM APIs).
	Method string
	// Header holds extra request headers (Authorization, Content-Type...).
	// They override the browser-like defaults: Accept: text/event-stream,
	// Cache-Control: no-cache, Pragma: no-cache, Accept-Encoding: gzip.
	Header http.Header
	// Body is the request body, sent with every request of the run
	// (reconnects too, as a fetch-based client resends it). When it is not
	// empty and Header has no Content-Type, application/json is sent.
	Body []byte
	// Origin, when set, is sent as the Origin header and enables
	// http/cors.
	Origin string
	// MaxEvents stops the main read after this many events (default
	// 1000). The read also stops when the stream ends.
	MaxEvents int
	// MaxTime bounds each read of the stream (default 30s).
	MaxTime time.Duration
	// UntilEvent stops the main read after the first event of this type.
	UntilEvent string
	// FirstEvent is the deadline of stream/first-event (default 10s).
	FirstEvent time.Duration
	// Idle is the idle window of stream/heartbeat (default 15s).
	Idle time.Duration
	// ResumeAfter is k, the number of events the resume probe reads
	// before it drops the connection (default 2).
	ResumeAfter int
	// MidEventAfter is the number of complete events the mid-event probe
	// reads before it cuts inside the next one (default 1).
	MidEventAfter int
	// MaxMemory is the memory budget of the whole run, in bytes (default
	// 128 MiB): what all the captures together may keep of the responses
	// (their bytes, and the index of their events and read times). It is
	// split into fixed shares per probe (half of it for the main read); a
	// read that used up its share stops, and the checks judge what it
	// kept.
	MaxMemory int64
	// Insecure skips the verification of the server's TLS certificate.
	Insecure bool
	// CACertFile names a PEM file of CA certificates to trust instead of
	// the system's.
	CACertFile string
	// Checks selects checks by glob ("framing/*", "resume/last-event-id");
	// empty selects all.
	Checks []string
	// Client sends the requests; nil means a dedicated client with a 10s
	// dial timeout, HTTP/2 when offered, and no transparent decompression.
	Client *http.Client `json:"-"`
}

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	if c.Method == "" {
		c.Method = http.MethodGet
	}
	if c.MaxEvents == 0 {
		c.MaxEvents = DefaultMaxEvents
	}
	if c.MaxTime == 0 {
		c.MaxTime = DefaultMaxTime
	}
	d := checks.DefaultConfig()
	if c.FirstEvent == 0 {
		c.FirstEvent = d.FirstEvent
	}
	if c.Idle == 0 {
		c.Idle = d.Idle
	}
	if c.ResumeAfter == 0 {
		c.ResumeAfter = DefaultResumeAfter
	}
	if c.MidEventAfter == 0 {
		c.MidEventAfter = DefaultMidEvent
	}
	if c.MaxMemory == 0 {
		c.MaxMemory = DefaultMaxMemory
	}
	return c
}

// Validate reports every problem with c at once (errors.Join), or nil. Call
// it on the result of WithDefaults.
func (c Config) Validate() error {
	var errs []error
	u, err := url.Parse(c.Target)
	switch {
	case c.Target == "":
		errs = append(errs, errors.New("--target is required"))
	case err != nil:
		// url.Error quotes the whole URL, user information included.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		errs = append(errs, fmt.Errorf("--target %q: %w", secret.URL(c.Target), err))
	case u.Scheme != "http" && u.Scheme != "https":
		errs = append(errs, fmt.Errorf("--target %q: want an http:// or https:// URL", secret.URL(c.Target)))
	case u.Host == "":
		errs = append(errs, fmt.Errorf("--target %q: no host", secret.URL(c.Target)))
	}
	if c.Method != strings.ToUpper(c.Method) || strings.ContainsAny(c.Method, " \t\r\n/") {
		errs = append(errs, fmt.Errorf("--method %q: want an upper-case HTTP method such as GET or POST", c.Method))
	}
	if c.MaxEvents < 1 {
		errs = append(errs, fmt.Errorf("--max-events %d: want at least 1", c.MaxEvents))
	}
	if c.MaxTime < 0 || c.FirstEvent < 0 || c.Idle < 0 {
		errs = append(errs, errors.New("--max-time, the first-event deadline and --idle must not be negative"))
	}
	if c.ResumeAfter < 1 || c.MidEventAfter < 1 {
		errs = append(errs, errors.New("the resume drop points must be at least 1 event"))
	}
	if c.MaxMemory < MinMaxMemory {
		errs = append(errs, fmt.Errorf("--max-memory %d bytes: want at least 1 MiB", c.MaxMemory))
	}
	if c.CACertFile != "" {
		if _, err := loadCAs(c.CACertFile); err != nil {
			errs = append(errs, err)
		}
	}
	if strings.ContainsAny(c.Origin, "\r\n") {
		errs = append(errs, errors.New("--origin contains a line break"))
	}
	for k, vs := range c.Header {
		for _, v := range vs {
			if strings.ContainsAny(k+v, "\r\n") {
				errs = append(errs, fmt.Errorf("--header %s contains a line break", k))
			}
		}
	}
	if _, err := checks.Select(c.Checks); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// checkConfig returns the thresholds the checks judge against.
func (c Config) checkConfig() checks.Config {
	cc := checks.DefaultConfig()
	cc.FirstEvent = c.FirstEvent
	cc.Idle = c.Idle
	cc.Origin = c.Origin
	return cc
}
