package swarm

import (
	"context"
	"io"
	"net/http"
	"net/http/httptrace"
	"time"

	"github.com/ssebench/ssebench/scenarios"
)

// setupMaxBody bounds the setup response read into memory.
const setupMaxBody = 1 << 20

// setupError is a failed setup request.
type setupError struct {
	class  scenarios.ErrorClass
	status int
	msg    string
}

// buildRequest returns the stream's request for one attempt. On a
// reconnect it sends Last-Event-ID with the last event ID when that is not
// empty (SPEC-NOTES B).
func (st *stream) buildRequest(ctx context.Context, resume bool) (*http.Request, error) {
	req, err := st.s.req.New(ctx, &st.vars)
	if err != nil {
		return nil, err
	}
	if resume && st.lastID != "" {
		req.Header.Set("Last-Event-ID", st.lastID)
	}
	return req, nil
}

// runSetup makes the stream's setup request and adds the values it
// extracts to st.vars. It returns nil when the context was cancelled.
func (st *stream) runSetup(ctx context.Context) *setupError {
	s := st.s
	if d := s.sc.Deadlines.FirstByte; d > 0 {
		// The setup is a short request-response: one deadline bounds it.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, d, errFirstByte)
		defer cancel()
	}
	ct := &connTrace{start: time.Now()}
	req, err := s.setup.New(httptrace.WithClientTrace(ctx, ct.hooks()), &st.vars)
	if err != nil {
		return &setupError{class: scenarios.ErrOther, msg: "setup: building the request: " + err.Error()}
	}
	timedOut := func() bool { return context.Cause(ctx) == errFirstByte }
	resp, err := st.transport().RoundTrip(req)
	if err != nil {
		switch {
		case timedOut():
			return &setupError{class: scenarios.ErrTimeoutFirstByte, msg: "setup: " + err.Error()}
		case ctx.Err() != nil:
			return nil
		}
		return &setupError{class: roundTripClass(err, ct), msg: "setup: " + err.Error()}
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &setupError{class: scenarios.ErrHTTPStatus, status: resp.StatusCode, msg: "setup: " + resp.Status}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, setupMaxBody))
	if err != nil {
		switch {
		case timedOut():
			return &setupError{class: scenarios.ErrTimeoutFirstByte, status: resp.StatusCode, msg: "setup: " + err.Error()}
		case ctx.Err() != nil:
			return nil
		}
		return &setupError{class: scenarios.ErrReset, status: resp.StatusCode, msg: "setup: reading the response: " + err.Error()}
	}
	vals, err := s.sc.Setup.Values(data)
	if err != nil {
		return &setupError{class: scenarios.ErrOther, status: resp.StatusCode, msg: "setup: " + err.Error()}
	}
	st.vars.Values = vals
	return nil
}
