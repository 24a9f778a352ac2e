package mockserver

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Sessions are stateless: the id is "s1_" followed by the base64url
// (unpadded) encoding of the session's parameters as a query string, so the
// server stores nothing and a session never expires. The id is at most
// maxSessionID bytes.
const (
	sessionPrefix = "s1_"
	maxSessionID  = 2048
)

// createSession serves POST /v1/sessions. The body is a JSON object with
// any of the stream query parameters as keys (string or number values;
// "fault" may also be an array of strings), plus, from a chat request,
// "max_tokens"/"max_completion_tokens" (the token count when "tokens" is
// absent) and "messages" (sets prompt_tokens). Other keys are ignored.
// The answer is 200 {"id":..., "object":"stream.session", "stream_url":...}.
func (s *Server) createSession(w http.ResponseWriter, r *http.Request) {
	fs := s.requestFaults(r)
	var raw map[string]json.RawMessage
	if status, err := s.readJSON(w, r, &raw); err != nil {
		s.jsonError(w, r, &fs, "sessions", status, "invalid_request", err.Error())
		return
	}
	v, err := sessionValues(raw)
	if err == nil {
		p := s.base
		err = p.applyValues(v)
	}
	if err != nil {
		s.jsonError(w, r, &fs, "sessions", http.StatusBadRequest, "invalid_parameter", err.Error())
		return
	}
	id := sessionPrefix + base64.RawURLEncoding.EncodeToString([]byte(v.Encode()))
	if len(id) > maxSessionID {
		s.jsonError(w, r, &fs, "sessions", http.StatusBadRequest, "invalid_parameter",
			fmt.Sprintf("session parameters too long: the id would be %d bytes (at most %d)", len(id), maxSessionID))
		return
	}
	b := append([]byte(`{"id":"`), id...)
	b = append(b, `","object":"stream.session","stream_url":"/v1/sessions/`...)
	b = append(b, id...)
	b = append(b, "/stream\"}\n"...)
	s.setCORS(w, r, &fs)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
	s.m.requests.WithLabelValues("sessions", "200").Inc()
}

// sessionValues turns a session body into query parameters.
func sessionValues(raw map[string]json.RawMessage) (url.Values, error) {
	v := url.Values{}
	var errs []error
	for key, val := range raw {
		switch key {
		case qTTFT, qITL, qTokens, qChunk, qSeed, qRetry, qHeartbeat, qModel, qPrompt:
			str, err := scalar(val)
			if err != nil {
				errs = append(errs, fmt.Errorf("field %s: %w", key, err))
				continue
			}
			v.Set(key, str)
		case qFault:
			var list []string
			if err := json.Unmarshal(val, &list); err == nil {
				v.Set(key, strings.Join(list, ","))
			} else if str, err := scalar(val); err == nil {
				v.Set(key, str)
			} else {
				errs = append(errs, fmt.Errorf("field fault: want a string or an array of strings"))
			}
		case "max_tokens", "max_completion_tokens":
			if _, ok := raw[qTokens]; ok {
				continue
			}
			str, err := scalar(val)
			if err != nil {
				errs = append(errs, fmt.Errorf("field %s: %w", key, err))
				continue
			}
			v.Set(qTokens, str)
		case "messages":
			m := bytes.TrimSpace(val)
			if len(m) == 0 || m[0] != '[' {
				errs = append(errs, errors.New("field messages: want an array"))
				continue
			}
			if _, ok := raw[qPrompt]; !ok {
				v.Set(qPrompt, strconv.Itoa((len(m)+3)/4))
			}
		}
	}
	return v, errors.Join(errs...)
}

// scalar returns a JSON string's value or a JSON number's text.
func scalar(raw json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		return n.String(), nil
	}
	return "", errors.New("want a string or a number")
}

// sessionStream serves GET /v1/sessions/{id}/stream: the stream of
// /v1/stream with the session's parameters, which the query may override.
func (s *Server) sessionStream(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/v1/sessions/"), "/stream")
	v, err := decodeSession(id)
	if err != nil {
		fs := s.requestFaults(r)
		s.jsonError(w, r, &fs, epSession, http.StatusNotFound, "unknown_session", err.Error())
		return
	}
	s.handleNamed(w, r, epSession, v)
}

func decodeSession(id string) (url.Values, error) {
	enc, ok := strings.CutPrefix(id, sessionPrefix)
	if !ok || len(id) > maxSessionID {
		return nil, fmt.Errorf("unknown session id %q", clip(id, 64))
	}
	q, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return nil, fmt.Errorf("unknown session id %q: %w", clip(id, 64), err)
	}
	v, err := url.ParseQuery(string(q))
	if err != nil {
		return nil, fmt.Errorf("unknown session id %q: %w", clip(id, 64), err)
	}
	return v, nil
}
