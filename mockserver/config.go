package mockserver

import (
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits on per-request and server-wide parameters. A request asking for
// more gets a 400 with a JSON error.
const (
	// MaxTokens is the largest token count of one stream. The finish event
	// carries the whole text, so keep tokens below about 8,000 to keep it
	// under 64 KiB.
	MaxTokens = 100_000
	// MaxChunk is the largest number of tokens in one content event.
	MaxChunk = 10_000
	// DefaultMaxBodyBytes is the request body limit when Config.MaxBodyBytes
	// is 0: 1 MiB.
	DefaultMaxBodyBytes = 1 << 20
	// DefaultBodyTimeout is the request body read timeout when
	// Config.BodyTimeout is 0: 10s.
	DefaultBodyTimeout = 10 * time.Second
	// DefaultModel is the model name reported when the request names none.
	DefaultModel = "ssebench-mock"
	// DefaultAddr is the address `ssebench mock` binds: loopback only.
	DefaultAddr = "127.0.0.1:8080"
	maxRetryMS  = 1<<31 - 1
	minBeat     = 10 * time.Millisecond
)

// Config is the server-wide behaviour of a mock Server: the defaults every
// request starts from (a request may override most of them with query
// parameters), capacity and access settings. It is plain data; start from
// DefaultConfig and change fields. New copies it.
type Config struct {
	// TTFT is the time to first token: from the moment a stream holds a slot
	// to its first content event.
	TTFT Dist
	// ITL is the inter-token latency: the gap between consecutive content
	// events.
	ITL Dist
	// Tokens is the number of tokens a stream generates (0..MaxTokens).
	Tokens int
	// Chunk is the number of tokens per content event (1..MaxChunk); 0 means 1.
	Chunk int
	// Seed selects the generated text; the same seed gives the same bytes.
	Seed uint64
	// Heartbeat is the idle time after which a ": heartbeat" comment is
	// written (0 disables heartbeats; otherwise at least 10ms).
	Heartbeat time.Duration
	// Retry is the reconnection time advertised in the first event's retry
	// field, with millisecond resolution.
	Retry time.Duration
	// Slots is the number of streams that may generate at once, like an
	// inference server's parallel slots; the others wait in a FIFO queue
	// (their time to first token grows). 0 means unlimited.
	Slots int
	// QueueMax bounds the queue when Slots > 0: a stream arriving when
	// QueueMax streams already wait gets 429. 0 means unbounded.
	QueueMax int
	// Token, when not empty, is the bearer token every /v1/ request must
	// carry (Authorization: Bearer TOKEN); otherwise it gets 401.
	Token string
	// Faults are fault profiles applied to every request, each "name" or
	// "name=value", or comma-separated lists of them (see Faults()). A
	// request's ?fault= adds to them; ?fault=none clears them.
	Faults []string
	// CORSOrigin is the Access-Control-Allow-Origin value sent on every
	// response and preflight; empty sends none. With CORSCredentials it is
	// the origin admitted ("*": any), and the value sent is the request's
	// own Origin.
	CORSOrigin string
	// CORSCredentials serves EventSource and fetch clients that send
	// credentials (withCredentials: true, credentials: "include"): a
	// browser refuses such a response when Access-Control-Allow-Origin is
	// "*", so the request's exact Origin is echoed (when CORSOrigin admits
	// it), with Access-Control-Allow-Credentials: true and Vary: Origin.
	CORSCredentials bool
	// Model is the model name reported when a request names none.
	Model string
	// MaxBodyBytes limits request bodies; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// BodyTimeout bounds the time to read a request body, from the end of
	// its headers; a body still incomplete then gets 408 and the
	// connection is closed, so a client that trickles its body cannot hold
	// a handler. 0 means DefaultBodyTimeout.
	BodyTimeout time.Duration
	// WriteTimeout, when positive, is the deadline for each write to a
	// client, so a client that stops reading cannot park a stream forever.
	WriteTimeout time.Duration
	// ShutdownTimeout bounds the graceful shutdown in Serve; 0 means 5s.
	ShutdownTimeout time.Duration
	// ErrorLog receives net/http's server errors in Serve; nil discards them.
	ErrorLog *log.Logger
	// Metrics, when not nil, answers GET /metrics instead of the Server's
	// own registry: a supervisor of several mock processes serves the sum
	// of all of them through every one (see mockserver/fleet). CORS
	// headers are set before it is called.
	Metrics http.Handler
}

// DefaultConfig returns the defaults of `ssebench mock`: TTFT 200ms, ITL
// 20ms, 64 tokens, one token per event, seed 1, heartbeat every 15s, retry
// 3000ms, unlimited slots, no auth, no faults, CORS "*" without
// credentials, write timeout 30s, body timeout 10s.
func DefaultConfig() Config {
	return Config{
		TTFT:         Fixed(200 * time.Millisecond),
		ITL:          Fixed(20 * time.Millisecond),
		Tokens:       64,
		Chunk:        1,
		Seed:         1,
		Heartbeat:    15 * time.Second,
		Retry:        3 * time.Second,
		CORSOrigin:   "*",
		Model:        DefaultModel,
		MaxBodyBytes: DefaultMaxBodyBytes,
		BodyTimeout:  DefaultBodyTimeout,
		WriteTimeout: 30 * time.Second,
	}
}

// Validate reports every problem with c at once (errors.Join), or nil.
func (c *Config) Validate() error {
	var errs []error
	if c.Tokens < 0 || c.Tokens > MaxTokens {
		errs = append(errs, fmt.Errorf("tokens %d out of range [0, %d]", c.Tokens, MaxTokens))
	}
	if c.Chunk < 0 || c.Chunk > MaxChunk {
		errs = append(errs, fmt.Errorf("chunk %d out of range [1, %d]", c.Chunk, MaxChunk))
	}
	if c.Heartbeat < 0 || c.Heartbeat > 0 && c.Heartbeat < minBeat || c.Heartbeat > MaxDelay {
		errs = append(errs, fmt.Errorf("heartbeat %v: want 0 (off) or %v..%v", c.Heartbeat, minBeat, MaxDelay))
	}
	if c.Retry < 0 || c.Retry/time.Millisecond > maxRetryMS {
		errs = append(errs, fmt.Errorf("retry %v out of range", c.Retry))
	}
	if c.Slots < 0 {
		errs = append(errs, fmt.Errorf("slots %d: want 0 (unlimited) or more", c.Slots))
	}
	if c.QueueMax < 0 {
		errs = append(errs, fmt.Errorf("queue %d: want 0 (unbounded) or more", c.QueueMax))
	}
	if c.MaxBodyBytes < 0 {
		errs = append(errs, fmt.Errorf("max body %d bytes: want 0 (default) or more", c.MaxBodyBytes))
	}
	if c.WriteTimeout < 0 || c.ShutdownTimeout < 0 || c.BodyTimeout < 0 {
		errs = append(errs, errors.New("write, body and shutdown timeouts must not be negative"))
	}
	if strings.ContainsAny(c.CORSOrigin, "\r\n") {
		errs = append(errs, errors.New("CORS origin contains a line break"))
	}
	if c.CORSCredentials && c.CORSOrigin == "" {
		errs = append(errs, errors.New("CORS credentials need a CORS origin to admit (\"*\" admits any)"))
	}
	if err := checkModel(c.Model); err != nil {
		errs = append(errs, err)
	}
	var fs faultSet
	for _, f := range c.Faults {
		if err := fs.add(f); err != nil {
			errs = append(errs, err)
		}
	}
	if err := fs.check(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func checkModel(m string) error {
	if len(m) > 256 || !utf8.ValidString(m) {
		return fmt.Errorf("model name: want at most 256 bytes of UTF-8")
	}
	return nil
}

// params is everything one stream needs, resolved from the Config, then the
// session id, then the request body, then the query string.
type params struct {
	ttft, itl     Dist
	tokens        int
	chunk         int
	seed          uint64
	retryMS       int64
	heartbeat     time.Duration
	faults        faultSet
	model         string
	includeUsage  bool
	promptTokens  int
	finishLength  bool // the token count came from max_tokens: finish_reason "length"
	explicitToken bool // tokens was set by the query or session (beats max_tokens)
	explicitSeed  bool
}

// The query parameters a stream request understands.
const (
	qTTFT      = "ttft"
	qITL       = "itl"
	qTokens    = "tokens"
	qChunk     = "chunk"
	qSeed      = "seed"
	qRetry     = "retry"
	qHeartbeat = "heartbeat"
	qFault     = "fault"
	qModel     = "model"
	qPrompt    = "prompt_tokens"
)

// queryKeys are the query parameters, in the order they are applied and
// their errors reported.
var queryKeys = []string{qTTFT, qITL, qTokens, qChunk, qSeed, qRetry, qHeartbeat, qFault, qModel, qPrompt}

// applyValues overrides p with the recognised keys of v, reporting every bad
// value at once. Unknown keys are ignored (clients add cache busters).
func (p *params) applyValues(v url.Values) error {
	var errs []error
	bad := func(key string, err error) { errs = append(errs, fmt.Errorf("parameter %s: %w", key, err)) }
	for _, key := range queryKeys {
		vals := v[key]
		if len(vals) == 0 {
			continue
		}
		val := vals[len(vals)-1]
		switch key {
		case qTTFT:
			if err := p.ttft.Set(val); err != nil {
				bad(key, err)
			}
		case qITL:
			if err := p.itl.Set(val); err != nil {
				bad(key, err)
			}
		case qTokens:
			n, err := intIn(val, 0, MaxTokens)
			if err != nil {
				bad(key, err)
			}
			p.tokens, p.explicitToken = n, true
		case qChunk:
			n, err := intIn(val, 1, MaxChunk)
			if err != nil {
				bad(key, err)
			}
			p.chunk = n
		case qSeed:
			n, err := strconv.ParseUint(strings.TrimSpace(val), 10, 64)
			if err != nil {
				bad(key, fmt.Errorf("%q is not an unsigned integer", val))
			}
			p.seed, p.explicitSeed = n, true
		case qRetry:
			d, err := parseDelay(val)
			if err != nil {
				bad(key, err)
			}
			p.retryMS = int64(d / time.Millisecond)
		case qHeartbeat:
			d, err := parseDelay(val)
			if err == nil && d > 0 && d < minBeat {
				err = fmt.Errorf("want 0 (off) or at least %v", minBeat)
			}
			if err != nil {
				bad(key, err)
			}
			p.heartbeat = d
		case qFault:
			for _, f := range vals {
				if err := p.faults.add(f); err != nil {
					bad(key, err)
				}
			}
		case qModel:
			if err := checkModel(val); err != nil {
				bad(key, err)
			}
			p.model = val
		case qPrompt:
			n, err := intIn(val, 0, 1<<30)
			if err != nil {
				bad(key, err)
			}
			p.promptTokens = n
		}
	}
	if err := p.faults.check(); err != nil {
		bad(qFault, err)
	}
	return errors.Join(errs...)
}

// contentEvents returns the number of content events.
func (p *params) contentEvents() int {
	return (p.tokens + p.chunk - 1) / p.chunk
}
