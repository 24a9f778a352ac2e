package mockserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"
)

// chatRequest is the part of an OpenAI chat completion request the mock
// reads; every other field is ignored.
type chatRequest struct {
	Model         string          `json:"model"`
	Messages      json.RawMessage `json:"messages"`
	Stream        bool            `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	MaxTokens           *int64 `json:"max_tokens"`
	MaxCompletionTokens *int64 `json:"max_completion_tokens"`
	Seed                *int64 `json:"seed"`
}

// readJSON decodes the request body into v: at most MaxBodyBytes, read
// within BodyTimeout of the handler's start. It returns the HTTP status and
// message to answer with when that fails.
func (s *Server) readJSON(w http.ResponseWriter, r *http.Request, v any) (int, error) {
	body, err := s.readBody(w, r)
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(body))
		err = dec.Decode(v)
		if err == nil {
			if _, terr := dec.Token(); terr != io.EOF {
				err = errors.New("unexpected data after the JSON value")
			}
		}
	}
	if err == nil {
		return http.StatusOK, nil
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return http.StatusRequestEntityTooLarge, fmt.Errorf("request body over %d bytes", tooBig.Limit)
	case errors.Is(err, os.ErrDeadlineExceeded):
		// The rest of the body may still be on its way: the connection
		// cannot serve another request.
		w.Header().Set("Connection", "close")
		return http.StatusRequestTimeout, fmt.Errorf("request body not received within %v (%d bytes arrived)", s.cfg.BodyTimeout, len(body))
	case errors.Is(err, io.EOF):
		return http.StatusBadRequest, errors.New("invalid JSON: empty body")
	default:
		return http.StatusBadRequest, fmt.Errorf("invalid JSON: %w", err)
	}
}

// readBody reads the whole request body, at most MaxBodyBytes, under a read
// deadline of BodyTimeout on the connection, which it clears afterwards (a
// stream's connection must not time out while the client only listens).
// Behind a ResponseWriter without deadlines (a test recorder, some
// wrappers) the body is read without one.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	rc := http.NewResponseController(w)
	if rc.SetReadDeadline(time.Now().Add(s.cfg.BodyTimeout)) == nil {
		defer func() { _ = rc.SetReadDeadline(time.Time{}) }()
	}
	var buf bytes.Buffer
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	return buf.Bytes(), err
}

// handleChat serves POST /v1/chat/completions. Parameters resolve in this
// order, later winning: server defaults, the body (model, max_tokens or
// max_completion_tokens, seed, stream_options.include_usage), the query
// string.
func (s *Server) handleChat(w http.ResponseWriter, r *http.Request) {
	p := s.base
	var req chatRequest
	if status, err := s.readJSON(w, r, &req); err != nil {
		fs := s.requestFaults(r)
		s.jsonError(w, r, &fs, epChat, status, "invalid_request", err.Error())
		return
	}
	if err := p.applyChat(&req); err == nil {
		err = p.applyValues(r.URL.Query())
		if err != nil {
			fs := s.requestFaults(r)
			s.jsonError(w, r, &fs, epChat, http.StatusBadRequest, "invalid_parameter", err.Error())
			return
		}
	} else {
		fs := s.requestFaults(r)
		s.jsonError(w, r, &fs, epChat, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	if p.explicitToken {
		p.finishLength = false
	}
	if !req.Stream {
		s.serveCompletion(w, r, &p)
		return
	}
	s.serveEvents(w, r, &p, kindChat, epChat)
}

// applyChat applies the fields of a chat request body.
func (p *params) applyChat(req *chatRequest) error {
	if req.Model != "" {
		if err := checkModel(req.Model); err != nil {
			return err
		}
		p.model = req.Model
	}
	if m := bytes.TrimSpace(req.Messages); len(m) > 0 && !bytes.Equal(m, []byte("null")) {
		if m[0] != '[' {
			return errors.New("messages must be an array")
		}
		p.promptTokens = (len(m) + 3) / 4 // about four bytes per token
	}
	mt := req.MaxTokens
	if req.MaxCompletionTokens != nil {
		mt = req.MaxCompletionTokens
	}
	if mt != nil {
		if *mt < 0 {
			return fmt.Errorf("max_tokens %d is negative", *mt)
		}
		p.tokens = int(min(*mt, MaxTokens)) // a real server would stop earlier anyway
		p.finishLength = true
	}
	if req.Seed != nil {
		p.seed = uint64(*req.Seed)
	}
	if req.StreamOptions != nil {
		p.includeUsage = req.StreamOptions.IncludeUsage
	}
	return nil
}

// serveCompletion answers stream:false with one chat.completion object
// after the whole generation time (TTFT plus one ITL per further content
// event), holding a slot meanwhile. Of the faults, status=CODE,
// wrong-content-type and no-cors apply.
func (s *Server) serveCompletion(w http.ResponseWriter, r *http.Request, p *params) {
	c := s.newCompletion()
	f := &p.faults
	s.countFaults(f)
	if f.has(fStatus) && f.status != http.StatusOK {
		if f.status == http.StatusNoContent || f.status == http.StatusNotModified {
			s.setCORS(w, r, f)
			w.WriteHeader(f.status)
			s.m.requests.WithLabelValues(epChat, strconv.Itoa(f.status)).Inc()
			return
		}
		s.jsonError(w, r, f, epChat, f.status, "mock_fault", "injected status (fault status="+strconv.Itoa(f.status)+")")
		return
	}
	ticket, err := s.slots.enter()
	if err != nil {
		w.Header().Set("Retry-After", "1")
		s.jsonError(w, r, f, epChat, http.StatusTooManyRequests, "queue_full", err.Error())
		return
	}
	defer ticket.release()
	st := &stream{s: s, p: p, l: newLayout(p, kindChat)}
	var gen time.Duration
	if st.l.content > 0 {
		gen = p.ttft.Sample()
		for i := 1; i < st.l.content; i++ {
			gen += p.itl.Sample()
		}
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	if ready := ticket.wait(); ready != nil {
		select {
		case <-ready:
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		}
	}
	timer.Reset(gen)
	select {
	case <-timer.C:
	case <-r.Context().Done():
		return
	case <-s.done:
		return
	}
	ticket.release()

	b := make([]byte, 0, 256+8*p.tokens)
	b = append(b, `{"id":"chatcmpl-`...)
	b = appendHex16(b, c.id)
	b = append(b, `","object":"chat.completion","created":`...)
	b = strconv.AppendInt(b, c.created, 10)
	b = append(b, `,"model":`...)
	b = appendJSONString(b, p.model)
	b = append(b, `,"system_fingerprint":"fp_ssebench","choices":[{"index":0,"message":{"role":"assistant","content":"`...)
	b = appendTokens(b, p.seed, 0, p.tokens)
	b = append(b, `"},"logprobs":null,"finish_reason":"`...)
	b = append(b, st.finishReason()...)
	b = append(b, `"}],`...)
	b = st.appendUsage(b)
	b = append(b, '\n')

	s.setCORS(w, r, f)
	h := w.Header()
	if f.has(fWrongContentType) {
		h.Set("Content-Type", "text/plain; charset=utf-8")
	} else {
		h.Set("Content-Type", "application/json")
	}
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	s.m.requests.WithLabelValues(epChat, "200").Inc()
}
