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

// setupError is a failed setup request: its Detail and Sample, already
// scrubbed of the setup request's secrets.
type setupError struct {
	class          scenarios.ErrorClass
	status         int
	detail, sample string
}

// buildRequest returns the stream's request for one attempt. On a
// reconnect it sends Last-Event-ID with the last event ID when that is not
// empty, as EventSource does
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#sse-processing-model).
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
		return setupFailed(nil, scenarios.ErrOther, 0, "building the request: "+err.Error(), "")
	}
	timedOut := func() bool { return context.Cause(ctx) == errFirstByte }
	timeout := "no answer within " + s.sc.Deadlines.FirstByte.String() + " (deadlines.first_byte)"
	resp, err := st.transport().RoundTrip(req)
	if err != nil {
		switch {
		case timedOut():
			return setupFailed(req, scenarios.ErrTimeoutFirstByte, 0, timeout, err.Error())
		case ctx.Err() != nil:
			return nil
		}
		cls := roundTripClass(err, ct)
		return setupFailed(req, cls, 0, connDetail(cls, req, err), err.Error())
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, scenarios.MaxSample))
		return setupFailed(req, scenarios.ErrHTTPStatus, resp.StatusCode, statusDetail(resp), string(data))
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, setupMaxBody))
	if err != nil {
		switch {
		case timedOut():
			return setupFailed(req, scenarios.ErrTimeoutFirstByte, resp.StatusCode, timeout, err.Error())
		case ctx.Err() != nil:
			return nil
		}
		return setupFailed(req, scenarios.ErrReset, resp.StatusCode, "reading the response: "+resetDetail(err, resp), err.Error())
	}
	vals, err := s.sc.Setup.Values(data)
	if err != nil {
		return setupFailed(req, scenarios.ErrOther, resp.StatusCode, err.Error(), string(data))
	}
	st.vars.Values = vals
	return nil
}

// setupFailed returns a setupError, its texts prefixed "setup: " and
// scrubbed of req's secrets.
func setupFailed(req *http.Request, cls scenarios.ErrorClass, status int, detail, sample string) *setupError {
	red := requestRedactor(req)
	e := &setupError{class: cls, status: status, detail: clipString(red.String("setup: "+detail), maxDetail)}
	if sample != "" {
		e.sample = sampleText([]byte(red.String(sample)))
	}
	return e
}
