package mockserver

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/net/http/httpguts"
)

// Server is the mock SSE/LLM server, an http.Handler. Its endpoints:
//
//	GET  /v1/stream                   named events: info, add..., finish (or error)
//	POST /v1/chat/completions         OpenAI-compatible; stream:true is SSE, stream:false one JSON
//	POST /v1/sessions                 JSON parameters in, {"id":...} out (the id encodes them)
//	GET  /v1/sessions/{id}/stream     the session's stream, as /v1/stream
//	GET  /v1/models                   the one model, OpenAI-style
//	GET  /metrics                     Prometheus text format (this Server's own registry, or Config.Metrics)
//	GET  /healthz                     "ok", or 503 once closing
//
// Every streaming endpoint resumes from Last-Event-ID without stored state:
// event content is a pure function of the parameters and the event index.
// A Server is safe for concurrent use; each stream is served by its
// request's goroutine alone.
type Server struct {
	cfg       Config
	base      params
	token     []byte
	m         *metrics
	faultCtr  [numFaults]prometheus.Counter
	slots     *slots
	promh     http.Handler
	done      chan struct{}
	closeOnce sync.Once

	// Chat completion identities: completion n gets the id
	// mix(idSalt+n), unique within the Server (mix is a bijection), and
	// unpredictable across Servers.
	idSalt      uint64
	completions atomic.Uint64
}

// New returns a Server with the given configuration, or an error listing
// every problem with it.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("mockserver: invalid config: %w", err)
	}
	if cfg.Chunk == 0 {
		cfg.Chunk = 1
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.BodyTimeout == 0 {
		cfg.BodyTimeout = DefaultBodyTimeout
	}
	if cfg.Model == "" {
		cfg.Model = DefaultModel
	}
	cfg.Faults = append([]string(nil), cfg.Faults...)
	s := &Server{cfg: cfg, done: make(chan struct{}), token: []byte(cfg.Token), idSalt: rand.Uint64()}
	s.base = params{
		ttft: cfg.TTFT, itl: cfg.ITL, tokens: cfg.Tokens, chunk: cfg.Chunk, seed: cfg.Seed,
		retryMS: int64(cfg.Retry / 1e6), heartbeat: cfg.Heartbeat, model: cfg.Model,
	}
	for _, f := range cfg.Faults {
		_ = s.base.faults.add(f) // validated above
	}
	s.m = newMetrics(cfg.Slots)
	for i := range s.faultCtr {
		s.faultCtr[i] = s.m.faults.WithLabelValues(faultTable[i].Name)
	}
	s.slots = newSlots(cfg.Slots, cfg.QueueMax, func(busy, queued int) {
		s.m.slotsBusy.Set(float64(busy))
		s.m.queue.Set(float64(queued))
	})
	s.promh = promhttp.HandlerFor(s.m.reg, promhttp.HandlerOpts{})
	if cfg.Metrics != nil {
		s.promh = cfg.Metrics
	}
	return s, nil
}

// Registry returns the Server's own Prometheus registry (what /metrics
// serves), for embedding its metrics elsewhere.
func (s *Server) Registry() *prometheus.Registry { return s.m.reg }

// Close ends every open stream promptly (each finishes its response where
// it is, with a clean end of the body), wakes the streams waiting for a
// slot, and makes new requests get 503. It does not close listeners; Serve
// and Running.Stop do. Close is idempotent and safe for concurrent use.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.done) })
}

func (s *Server) closing() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// ServeHTTP routes a request to its endpoint.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if r.Method == http.MethodOptions {
		s.preflight(w, r)
		return
	}
	switch {
	case path == "/healthz":
		s.healthz(w, r)
		return
	case path == "/metrics":
		s.setCORS(w, r, &s.base.faults)
		s.promh.ServeHTTP(w, r)
		return
	case path == "/" || path == "":
		s.index(w, r)
		return
	}
	ep := endpointOf(path)
	if ep == "" {
		s.jsonError(w, r, &s.base.faults, "other", http.StatusNotFound, "not_found", "no such endpoint: "+path+" (see GET /)")
		return
	}
	if s.closing() {
		s.jsonError(w, r, &s.base.faults, ep, http.StatusServiceUnavailable, "server_closing", "the mock server is shutting down")
		return
	}
	if len(s.token) > 0 && !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="ssebench-mock"`)
		s.jsonError(w, r, &s.base.faults, ep, http.StatusUnauthorized, "invalid_api_key", "missing or wrong bearer token (Authorization: Bearer ...)")
		return
	}
	switch ep {
	case epStream:
		if !s.allow(w, r, ep, http.MethodGet) {
			return
		}
		s.handleNamed(w, r, epStream, nil)
	case epChat:
		if !s.allow(w, r, ep, http.MethodPost) {
			return
		}
		s.handleChat(w, r)
	case "sessions":
		if !s.allow(w, r, ep, http.MethodPost) {
			return
		}
		s.createSession(w, r)
	case epSession:
		if !s.allow(w, r, ep, http.MethodGet) {
			return
		}
		s.sessionStream(w, r)
	case "models":
		if !s.allow(w, r, ep, http.MethodGet) {
			return
		}
		s.models(w, r)
	}
}

// endpointOf maps a path to its metrics label, or "" for an unknown path.
func endpointOf(path string) string {
	switch path {
	case "/v1/stream":
		return epStream
	case "/v1/chat/completions":
		return epChat
	case "/v1/sessions":
		return "sessions"
	case "/v1/models":
		return "models"
	}
	if rest, ok := strings.CutPrefix(path, "/v1/sessions/"); ok {
		if id, ok := strings.CutSuffix(rest, "/stream"); ok && id != "" && !strings.Contains(id, "/") {
			return epSession
		}
	}
	return ""
}

// allow answers 405 unless r uses method (GET also admits HEAD).
func (s *Server) allow(w http.ResponseWriter, r *http.Request, ep, method string) bool {
	if r.Method == method || method == http.MethodGet && r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", method+", OPTIONS")
	s.jsonError(w, r, &s.base.faults, ep, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed here; use "+method)
	return false
}

func (s *Server) authorized(r *http.Request) bool {
	const prefix = "Bearer "
	h := r.Header.Get("Authorization")
	if len(h) < len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(h[len(prefix):])), s.token) == 1
}

// requestFaults returns the server-wide faults plus the request's ?fault=,
// ignoring errors (for CORS on responses written before validation).
func (s *Server) requestFaults(r *http.Request) faultSet {
	fs := s.base.faults
	if strings.Contains(r.URL.RawQuery, "fault") {
		for _, f := range r.URL.Query()["fault"] {
			_ = fs.add(f)
		}
	}
	return fs
}

// setCORS adds the CORS response headers for r, unless the no-cors fault
// is on. Without credentials, Access-Control-Allow-Origin is the configured
// value as it is; with them it is r's exact Origin, when the configured
// value admits it, with Access-Control-Allow-Credentials: true, and the
// response varies by Origin.
func (s *Server) setCORS(w http.ResponseWriter, r *http.Request, fs *faultSet) {
	allow := s.cfg.CORSOrigin
	if allow == "" || fs.has(fNoCORS) {
		return
	}
	h := w.Header()
	if !s.cfg.CORSCredentials {
		h.Set("Access-Control-Allow-Origin", allow)
		return
	}
	h.Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	if origin == "" || allow != "*" && origin != allow || strings.ContainsAny(origin, "\r\n") {
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Credentials", "true")
}

// preflightHeaders are the request headers a preflight always admits: the
// ones EventSource and OpenAI-style clients send.
const preflightHeaders = "Last-Event-ID, Authorization, Content-Type, Accept, Cache-Control"

// Bounds on the header names a preflight echoes from
// Access-Control-Request-Headers.
const (
	maxPreflightNames   = 64
	maxPreflightNameLen = 128
)

// preflight answers a CORS preflight, by GET or POST: the headers named in
// Access-Control-Request-Headers are admitted (each valid header name, at
// most 64), besides Last-Event-ID, Authorization, Content-Type, Accept and
// Cache-Control.
func (s *Server) preflight(w http.ResponseWriter, r *http.Request) {
	fs := s.requestFaults(r)
	h := w.Header()
	if s.cfg.CORSOrigin != "" && !fs.has(fNoCORS) {
		s.setCORS(w, r, &fs)
		h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		h.Set("Access-Control-Allow-Headers", allowedHeaders(r.Header.Values("Access-Control-Request-Headers")))
		h.Set("Access-Control-Max-Age", "600")
		h.Add("Vary", "Access-Control-Request-Headers")
	}
	h.Set("Allow", "GET, POST, OPTIONS")
	w.WriteHeader(http.StatusNoContent)
	s.m.requests.WithLabelValues("preflight", "204").Inc()
}

// allowedHeaders returns the Access-Control-Allow-Headers value for the
// comma-separated header names a preflight asks for: the fixed list plus
// every requested name that is a valid header name and not in it yet.
// Invalid names are left out (the browser then refuses the request).
func allowedHeaders(requested []string) string {
	b := []byte(preflightHeaders)
	seen := map[string]bool{}
	for _, f := range strings.Split(preflightHeaders, ", ") {
		seen[strings.ToLower(f)] = true
	}
	n := 0
	for _, v := range requested {
		for _, name := range strings.Split(v, ",") {
			name = strings.TrimSpace(name)
			low := strings.ToLower(name)
			if n == maxPreflightNames || len(name) > maxPreflightNameLen || seen[low] || !httpguts.ValidHeaderFieldName(name) {
				continue
			}
			seen[low] = true
			n++
			b = append(b, ", "...)
			b = append(b, low...)
		}
	}
	return string(b)
}

// apiError is the OpenAI-style JSON error body.
type apiError struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    string  `json:"code"`
	} `json:"error"`
}

// jsonError writes an OpenAI-style JSON error with the given status.
func (s *Server) jsonError(w http.ResponseWriter, r *http.Request, fs *faultSet, ep string, status int, code, msg string) {
	var e apiError
	e.Error.Message = msg
	e.Error.Code = code
	e.Error.Type = "invalid_request_error"
	if status >= 500 {
		e.Error.Type = "server_error"
	}
	body, _ := json.Marshal(&e)
	s.setCORS(w, r, fs)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
	s.m.requests.WithLabelValues(ep, strconv.Itoa(status)).Inc()
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	s.setCORS(w, r, &s.base.faults)
	if s.closing() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "closing\n")
		return
	}
	_, _ = io.WriteString(w, "ok\n")
}

func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	s.setCORS(w, r, &s.base.faults)
	_, _ = io.WriteString(w, `ssebench mock server
  GET  /v1/stream?ttft=200ms&itl=20ms&tokens=64&chunk=1&seed=7&fault=NAME
  POST /v1/chat/completions      {"model":..,"messages":[..],"stream":true,"stream_options":{"include_usage":true},"max_tokens":64}
  POST /v1/sessions              {"tokens":64,"itl":"20ms",...} -> {"id":..}
  GET  /v1/sessions/{id}/stream
  GET  /v1/models
  GET  /metrics
  GET  /healthz
Faults (?fault=a,b=1): see 'ssebench mock --help'.
`)
}

func (s *Server) models(w http.ResponseWriter, r *http.Request) {
	b := []byte(`{"object":"list","data":[{"id":`)
	b = appendJSONString(b, s.cfg.Model)
	b = append(b, `,"object":"model","created":`...)
	b = appendInt(b, mockCreated)
	b = append(b, `,"owned_by":"ssebench"}]}`+"\n"...)
	s.setCORS(w, r, &s.base.faults)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
	s.m.requests.WithLabelValues("models", "200").Inc()
}

// handleNamed serves /v1/stream, and session streams with the session's
// parameters in extra.
func (s *Server) handleNamed(w http.ResponseWriter, r *http.Request, ep string, extra url.Values) {
	p := s.base
	var err error
	if extra != nil {
		err = p.applyValues(extra)
	}
	if err == nil {
		err = p.applyValues(r.URL.Query())
	}
	if err != nil {
		fs := s.requestFaults(r)
		s.jsonError(w, r, &fs, ep, http.StatusBadRequest, "invalid_parameter", err.Error())
		return
	}
	s.serveEvents(w, r, &p, kindNamed, ep)
}

// errBadLastEventID answers a Last-Event-ID that names no event.
var errBadLastEventID = errors.New("unknown Last-Event-ID")

// resume decides where a request starts. It returns the first event index,
// or a status other than 200 to answer instead (204 after the end, 503 for
// refuse-reconnect, 400 for an unknown id).
func resume(r *http.Request, p *params, l *layout) (start, status int, err error) {
	vals, present := r.Header["Last-Event-Id"]
	f := &p.faults
	if !present {
		return 0, http.StatusOK, nil
	}
	if f.has(fRefuseReconnect) {
		return 0, http.StatusServiceUnavailable, errors.New("reconnects are refused (fault refuse-reconnect)")
	}
	lei := ""
	if len(vals) > 0 {
		lei = vals[0]
	}
	if lei == "" || f.has(fIgnoreLastEventID) {
		return 0, http.StatusOK, nil
	}
	k, perr := strconv.Atoi(lei)
	last := l.n - 1
	switch {
	case perr != nil || k < 0 || k > last || lei[0] == '+' || len(lei) > 1 && lei[0] == '0':
		if f.has(fUnknownIDSilent) {
			return l.n / 2, http.StatusOK, nil
		}
		return 0, http.StatusBadRequest, fmt.Errorf("%w %q: this stream's ids are 0..%d (decimal)", errBadLastEventID, clip(lei, 64), last)
	case k == last:
		if f.has(fRerunOnReconnect) {
			return 0, http.StatusOK, nil
		}
		return 0, http.StatusNoContent, nil
	case f.has(fSkipOnResume):
		return min(k+2, l.n), http.StatusOK, nil
	default:
		return k + 1, http.StatusOK, nil
	}
}

// clip shortens hostile input before it is echoed in an error message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// serveEvents answers a streaming request: resume decision, status faults,
// slot admission, headers, then the stream itself.
func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request, p *params, k kind, ep string) {
	f := &p.faults
	s.countFaults(f)
	l := newLayout(p, k)
	if f.has(fStatus) && f.status != http.StatusOK {
		s.setCORS(w, r, f)
		h := w.Header()
		h.Set("Content-Type", "text/event-stream; charset=utf-8")
		h.Set("Cache-Control", "no-cache")
		w.WriteHeader(f.status)
		if f.status != http.StatusNoContent && f.status != http.StatusNotModified {
			_, _ = io.WriteString(w, "data: status "+strconv.Itoa(f.status)+"\n\n")
		}
		s.m.requests.WithLabelValues(ep, strconv.Itoa(f.status)).Inc()
		return
	}
	start, status, err := resume(r, p, &l)
	switch status {
	case http.StatusOK:
	case http.StatusNoContent:
		s.setCORS(w, r, f)
		w.WriteHeader(http.StatusNoContent)
		s.m.requests.WithLabelValues(ep, "204").Inc()
		return
	default:
		code := "invalid_last_event_id"
		if status == http.StatusServiceUnavailable {
			code = "reconnect_refused"
		}
		s.jsonError(w, r, f, ep, status, code, err.Error())
		return
	}
	ticket, err := s.slots.enter()
	if err != nil {
		w.Header().Set("Retry-After", "1")
		s.jsonError(w, r, f, ep, http.StatusTooManyRequests, "queue_full", err.Error())
		return
	}
	defer ticket.release()

	em := s.m.endpoints[ep]
	em.streams.Inc()
	em.active.Inc()
	defer em.active.Dec()
	s.m.requests.WithLabelValues(ep, "200").Inc()

	s.setCORS(w, r, f)
	h := w.Header()
	if f.has(fWrongContentType) {
		h.Set("Content-Type", "text/plain; charset=utf-8")
	} else {
		h.Set("Content-Type", "text/event-stream; charset=utf-8")
	}
	if !f.has(fNoCacheControl) {
		h.Set("Cache-Control", "no-cache")
	}
	h.Set("X-Accel-Buffering", "no")
	if f.has(fGzipBuffered) {
		h.Set("Content-Encoding", "gzip")
		h.Add("Vary", "Accept-Encoding")
	}
	w.WriteHeader(http.StatusOK)

	st := &stream{s: s, ctx: r.Context(), w: w, rc: http.NewResponseController(w), m: em, p: p, l: l,
		buf: make([]byte, 0, 256)}
	if k == kindChat {
		st.prefix = chatPrefix(p, s.newCompletion())
	}
	if f.has(fBuffered) || f.has(fGzipBuffered) {
		st.hold = new(bytes.Buffer)
	}
	st.run(start, ticket)
}

// completion is the identity of one chat completion: the id after
// "chatcmpl-" and the Unix time it was created.
type completion struct {
	id      uint64
	created int64
}

// newCompletion returns the identity of a new chat completion: an id no
// other completion of this Server has, and the current time. Every
// request is a completion of its own, a resume with Last-Event-ID too: the
// mock keeps no state, so the resumed text and event ids continue exactly
// while the id and created fields are the new request's.
func (s *Server) newCompletion() completion {
	return completion{id: mix(s.idSalt + s.completions.Add(1)), created: time.Now().Unix()}
}

func (s *Server) countFaults(f *faultSet) {
	if !f.empty() {
		f.each(func(x fault) { s.faultCtr[x].Inc() })
	}
}
