package conformance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/ssebench/ssebench/conformance/checks"
	"github.com/ssebench/ssebench/scenarios/health"
)

// session runs the probes of one target, each once, independent ones
// concurrently, and hands their captures to the checks. Probes start when
// start is called and run in the background under the session's context;
// the specs only wait for the ones they need, so a spec's timeout or an
// interrupt ends the wait, and cancelling the context ends the probes.
type session struct {
	ctx    context.Context
	p      *prober
	cfg    Config
	shares map[string]*share
	need   map[checks.Probe]bool
	gate   chan struct{} // limits concurrent sessions; nil for no limit
	once   sync.Once
	done   map[checks.Probe]chan struct{}
	mu     sync.Mutex
	input  checks.Input
	// mainEvent is closed when the main read dispatched its first event or
	// ended: the resume probe's first connection opens only then, so that
	// it is a later read of the stream (see the resume checks' identity).
	mainEvent chan struct{}
}

// newSession prepares the probes that the given checks need against cfg
// (already defaulted and validated).
func newSession(ctx context.Context, cfg Config, cs []*checks.Check) (*session, error) {
	client := cfg.Client
	if client == nil {
		var err error
		if client, err = newClient(cfg); err != nil {
			return nil, err
		}
	}
	s := &session{
		ctx:       ctx,
		p:         &prober{cfg: cfg, client: client},
		cfg:       cfg,
		shares:    newShares(cfg.MaxMemory),
		need:      make(map[checks.Probe]bool),
		done:      make(map[checks.Probe]chan struct{}),
		mainEvent: make(chan struct{}),
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
	return s, nil
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
			select {
			case <-s.mainEvent:
			case <-s.ctx.Done():
			}
			p := s.resume("resume", readPlan{maxEvents: cfg.ResumeAfter, maxTime: cfg.MaxTime},
				readPlan{maxEvents: max(1, cfg.MaxEvents-cfg.ResumeAfter), untilEvent: cfg.UntilEvent, maxTime: cfg.MaxTime}, true, s.shares["resume"])
			s.set(func(in *checks.Input) { in.Boundary = p })
		})
	}
	if s.need[checks.ProbeMidEvent] {
		wg.Go(func() {
			defer s.finished(checks.ProbeMidEvent)
			p := s.resume("mid-event", readPlan{maxEvents: cfg.MidEventAfter, cutInside: true, maxTime: cfg.MaxTime},
				s.shortPlan(), false, s.shares["mid-event"])
			s.set(func(in *checks.Input) { in.MidEvent = p })
		})
	}
	if s.need[checks.ProbeUnknownID] {
		wg.Go(func() {
			defer s.finished(checks.ProbeUnknownID)
			c := s.p.capture(s.ctx, "unknown-id", unknownID(), s.shortPlan(), s.shares["unknown-id"])
			s.set(func(in *checks.Input) { in.UnknownID = c })
		})
	}
	if s.need[checks.ProbeControl] {
		wg.Go(func() {
			defer s.finished(checks.ProbeControl)
			plan := s.shortPlan()
			plan.method, plan.maxEvents, plan.maxBody = http.MethodOptions, 1, 4<<10
			c := s.p.capture(s.ctx, "headers control (OPTIONS)", "", plan, s.shares["control"])
			s.set(func(in *checks.Input) { in.Control = c })
		})
	}
	// The main read, then the probes that depend on how it ended.
	var first sync.Once
	signal := func() { first.Do(func() { close(s.mainEvent) }) }
	// How late this process ran during the main read: the timing checks
	// give no verdict on what a starved client saw.
	mon := health.Start()
	main := s.p.capture(s.ctx, "main", "", readPlan{maxEvents: cfg.MaxEvents, untilEvent: cfg.UntilEvent, maxTime: cfg.MaxTime, onEvent: signal}, s.shares["main"])
	late := mon.Stop()
	signal()
	s.set(func(in *checks.Input) {
		in.Main = main
		in.Client = checks.Lateness{Measured: late.TimerSamples > 0, TimerMax: late.TimerMax, TimerP99: late.TimerP99, SchedP99: late.SchedP99}
	})
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
// does; reconnect/accepted judges it); otherwise only with one. It
// reconnects only when the first connection reached its drop point: a read
// that timed out or ended first has nothing to resume.
func (s *session) resume(name string, first, second readPlan, always bool, sh *share) *checks.ResumeProbe {
	c := s.p.capture(s.ctx, name+": first connection", "", first, sh)
	p := &checks.ResumeProbe{First: c}
	st := c.Stream()
	p.After = len(st.Events)
	switch {
	case c.Err != nil:
		p.Reason = "the first request failed: " + c.Err.Error()
		return p
	case c.Status != 200:
		p.Reason = fmt.Sprintf("the first request answered %d", c.Status)
		return p
	case c.End != checks.EndCut:
		p.Reason = fmt.Sprintf("the first connection got %d events before the drop point, and then %s", len(st.Events), endedHow(c))
		return p
	}
	if st.LastEventID == "" && !always {
		p.Reason = "no id to resume from"
		return p
	}
	p.Resumed = s.p.capture(s.ctx, name+": reconnect", st.LastEventID, second, sh)
	return p
}

// endedHow says how a capture ended, for the probes' reasons.
func endedHow(c *checks.Capture) string {
	switch c.End {
	case checks.EndEOF:
		return "the stream ended by itself"
	case checks.EndTimeout:
		return fmt.Sprintf("the read timed out after %s", c.EndAt.Round(time.Millisecond))
	case checks.EndLimit:
		return "the read used up its share of the memory budget"
	case checks.EndBroken:
		return "the body's framing broke"
	case checks.EndInterrupted:
		return "the run was interrupted"
	}
	return "the connection broke"
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
	p.Resumed = s.p.capture(s.ctx, "reconnect after the server's drop", st.LastEventID, s.shortPlan(), s.shares["server-drop"])
	return p
}

// finiteEnd reconnects, as a browser does, after a stream that ended by
// itself: with the last event ID when the stream had one, without
// Last-Event-ID otherwise (a browser re-runs such a stream from its start).
// Or it says why it does not.
func (s *session) finiteEnd(main *checks.Capture) (*checks.Capture, string) {
	if main.Status != 200 {
		return nil, ""
	}
	if main.End != checks.EndEOF {
		return nil, fmt.Sprintf("the stream did not end by itself within the read (%s); not a finite stream", endedHow(main))
	}
	st := main.Stream()
	if s.cfg.Method != http.MethodGet && st.LastEventID == "" {
		return nil, fmt.Sprintf("a %s stream without ids is read by fetch-based clients, which do not reconnect after a clean end by themselves (a browser's EventSource, which does, only sends GET)", s.cfg.Method)
	}
	// Wait long enough for a re-run's first event: twice the main read's
	// time to its first event, plus a margin.
	wait := 2 * time.Second
	if len(st.Events) > 0 && st.Events[0].HasAt {
		wait += 2 * st.Events[0].At
	}
	plan := readPlan{maxEvents: 3, maxTime: min(s.cfg.MaxTime, wait)}
	return s.p.capture(s.ctx, "reconnect after the end", st.LastEventID, plan, s.shares["finite-end"]), ""
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
