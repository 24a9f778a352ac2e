package conformance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/ssebench/ssebench/conformance/checks"
)

// session runs the probes of one target, each once, independent ones
// concurrently, and hands their captures to the checks. Probes start when
// start is called and run in the background under the session's context;
// the specs only wait for the ones they need, so a spec's timeout or an
// interrupt ends the wait, and cancelling the context ends the probes.
type session struct {
	ctx   context.Context
	p     *prober
	cfg   Config
	need  map[checks.Probe]bool
	gate  chan struct{} // limits concurrent sessions; nil for no limit
	once  sync.Once
	done  map[checks.Probe]chan struct{}
	mu    sync.Mutex
	input checks.Input
}

// newSession prepares the probes that the given checks need against cfg
// (already defaulted and validated).
func newSession(ctx context.Context, cfg Config, cs []*checks.Check) *session {
	client := cfg.Client
	if client == nil {
		client = newClient()
	}
	s := &session{
		ctx:  ctx,
		p:    &prober{cfg: cfg, client: client},
		cfg:  cfg,
		need: make(map[checks.Probe]bool),
		done: make(map[checks.Probe]chan struct{}),
	}
	for _, pr := range checks.NeededProbes(cs) {
		s.need[pr] = true
	}
	for _, pr := range checks.Probes() {
		s.done[pr] = make(chan struct{})
		if !s.need[pr] {
			close(s.done[pr])
		}
	}
	s.input.Config = cfg.checkConfig()
	return s
}

// start launches the probes (once). It does not block.
func (s *session) start() {
	s.once.Do(func() { go s.run() })
}

// finished marks probe pr done.
func (s *session) finished(pr checks.Probe) {
	if s.need[pr] {
		close(s.done[pr])
	}
}

// set stores a probe's result under the lock.
func (s *session) set(f func(in *checks.Input)) {
	s.mu.Lock()
	f(&s.input)
	s.mu.Unlock()
}

func (s *session) run() {
	if s.gate != nil {
		select {
		case s.gate <- struct{}{}:
			defer func() { <-s.gate }()
		case <-s.ctx.Done():
		}
	}
	var wg sync.WaitGroup
	cfg := s.cfg
	if s.need[checks.ProbeBoundary] {
		wg.Go(func() {
			defer s.finished(checks.ProbeBoundary)
			p := s.resume("resume", readPlan{maxEvents: cfg.ResumeAfter, maxTime: cfg.MaxTime},
				readPlan{maxEvents: max(1, cfg.MaxEvents-cfg.ResumeAfter), untilEvent: cfg.UntilEvent, maxTime: cfg.MaxTime}, true)
			s.set(func(in *checks.Input) { in.Boundary = p })
		})
	}
	if s.need[checks.ProbeMidEvent] {
		wg.Go(func() {
			defer s.finished(checks.ProbeMidEvent)
			p := s.resume("mid-event", readPlan{maxEvents: cfg.MidEventAfter, cutInside: true, maxTime: cfg.MaxTime},
				s.shortPlan(), false)
			s.set(func(in *checks.Input) { in.MidEvent = p })
		})
	}
	if s.need[checks.ProbeUnknownID] {
		wg.Go(func() {
			defer s.finished(checks.ProbeUnknownID)
			c := s.p.capture(s.ctx, "unknown-id", unknownID(), s.shortPlan())
			s.set(func(in *checks.Input) { in.UnknownID = c })
		})
	}
	// The main read, then the probes that depend on how it ended.
	main := s.p.capture(s.ctx, "main", "", readPlan{maxEvents: cfg.MaxEvents, untilEvent: cfg.UntilEvent, maxTime: cfg.MaxTime})
	s.set(func(in *checks.Input) { in.Main = main })
	s.finished(checks.ProbeMain)
	if s.need[checks.ProbeServerDrop] {
		wg.Go(func() {
			defer s.finished(checks.ProbeServerDrop)
			p := s.serverDrop(main)
			s.set(func(in *checks.Input) { in.ServerDrop = p })
		})
	}
	if s.need[checks.ProbeFiniteEnd] {
		wg.Go(func() {
			defer s.finished(checks.ProbeFiniteEnd)
			c, reason := s.finiteEnd(main)
			s.set(func(in *checks.Input) { in.FiniteEnd, in.FiniteEndReason = c, reason })
		})
	}
	wg.Wait()
}

// shortPlan is the read of a probe that only needs the first few events of
// an answer.
func (s *session) shortPlan() readPlan {
	return readPlan{maxEvents: 3, maxTime: min(s.cfg.MaxTime, s.cfg.FirstEvent+2*time.Second)}
}

// resume reads a first connection up to its drop point, then reconnects as
// a browser does: the same request, with Last-Event-ID when the client has
// a last event ID. With always, it reconnects even without an id (a browser
// does; reconnect/accepted judges it); otherwise only with one.
func (s *session) resume(name string, first, second readPlan, always bool) *checks.ResumeProbe {
	c := s.p.capture(s.ctx, name+": first connection", "", first)
	p := &checks.ResumeProbe{First: c}
	switch {
	case c.Err != nil:
		p.Reason = "the first request failed: " + c.Err.Error()
		return p
	case c.Status != 200:
		p.Reason = fmt.Sprintf("the first request answered %d", c.Status)
		return p
	case c.End == checks.EndInterrupted:
		p.Reason = "interrupted"
		return p
	}
	st := c.Stream()
	p.After = len(st.Events)
	if st.LastEventID == "" && !always {
		p.Reason = "no id to resume from"
		return p
	}
	p.Resumed = s.p.capture(s.ctx, name+": reconnect", st.LastEventID, second)
	return p
}

// serverDrop resumes after the server aborted the main read inside an
// event: the recovery a browser attempts after such a drop.
func (s *session) serverDrop(main *checks.Capture) *checks.ResumeProbe {
	if main.Status != 200 || main.End != checks.EndAbort {
		return nil
	}
	st := main.Stream()
	if st.Pending == nil || st.LastEventID == "" {
		return nil
	}
	p := &checks.ResumeProbe{First: main, After: len(st.Events)}
	p.Resumed = s.p.capture(s.ctx, "reconnect after the server's drop", st.LastEventID, s.shortPlan())
	return p
}

// finiteEnd reconnects, as a browser does, after a stream that ended by
// itself, with the last event ID; or says why it does not.
func (s *session) finiteEnd(main *checks.Capture) (*checks.Capture, string) {
	if main.Status != 200 {
		return nil, ""
	}
	if main.End != checks.EndEOF {
		return nil, fmt.Sprintf("the stream did not end by itself within the read (it ended: %s); not a finite stream", main.End)
	}
	st := main.Stream()
	if st.LastEventID == "" {
		return nil, "the stream carries no id: a browser reconnects without Last-Event-ID, and the server cannot tell it was over (see resume/ids-present)"
	}
	// Wait long enough for a re-run's first event: twice the main read's
	// time to its first event, plus a margin.
	wait := 2 * time.Second
	if len(st.Events) > 0 && st.Events[0].HasAt {
		wait += 2 * st.Events[0].At
	}
	plan := readPlan{maxEvents: 3, maxTime: min(s.cfg.MaxTime, wait)}
	return s.p.capture(s.ctx, "reconnect after the end", st.LastEventID, plan), ""
}

// wait blocks until the given probes are done, or ctx ends.
func (s *session) wait(ctx context.Context, probes ...checks.Probe) error {
	for _, pr := range probes {
		select {
		case <-s.done[pr]:
		case <-ctx.Done():
			return fmt.Errorf("waiting for the %s probe: %w", pr, context.Cause(ctx))
		}
	}
	return nil
}

// snapshot returns the input as far as the probes have filled it.
func (s *session) snapshot() *checks.Input {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.input
	return &in
}

// unknownID returns a Last-Event-ID no server can know.
func unknownID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "ssebench-unknown-" + hex.EncodeToString(b[:])
}
