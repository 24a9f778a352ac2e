package scenarios

import (
	_ "embed"
	"path/filepath"
	"strings"
	"time"
)

// given reports whether the YAML set path.
func (s *Scenario) given(path string) bool {
	_, ok := s.pos[path]
	return ok
}

// Defaults for fields the file leaves out.
const (
	DefaultDuration       = 10 * time.Second
	DefaultGrace          = 30 * time.Second
	DefaultFirstByte      = 30 * time.Second
	DefaultIdle           = 60 * time.Second
	DefaultReconnectDelay = 3 * time.Second
	DefaultSeed           = 1
	// DefaultMaxLine and DefaultMaxEvent bound what one stream's parser
	// holds (an LLM event is rarely over 64 KiB): with them a stream
	// costs at most about half a MiB of buffers however hostile its
	// server, so 1,000 streams of an event that never ends stay under
	// 1 GiB. Raise them in the scenario for larger events.
	DefaultMaxLine  = 256 << 10
	DefaultMaxEvent = 256 << 10
)

// applyDefaults is the one place defaults are merged: every field the file
// did not set gets its default. Preset-dependent event lists stay nil and
// are resolved by Events.Classifier.
func applyDefaults(s *Scenario) {
	if !s.given("name") && s.File != "" {
		base := filepath.Base(s.File)
		s.Name = strings.TrimSuffix(base, filepath.Ext(base))
	}
	if !s.given("method") {
		s.Method = "GET"
		if s.Body != "" {
			s.Method = "POST"
		}
	}
	if s.Setup != nil && !s.given("setup.method") {
		s.Setup.Method = "GET"
		if s.Setup.Body != "" {
			s.Setup.Method = "POST"
		}
	}
	if !s.given("events.preset") {
		s.Events.Preset = PresetGeneric
	}
	l := &s.Load
	if !s.given("load.model") {
		l.Model = Closed
		if s.given("load.rate") {
			l.Model = Open
		}
	}
	if !s.given("load.connections") && l.Model == Closed && len(l.Stages) == 0 {
		l.Connections = 1
	}
	if !s.given("load.arrival") && l.Model == Open {
		l.Arrival = Constant
	}
	if !s.given("load.seed") {
		l.Seed = DefaultSeed
	}
	if !s.given("duration") {
		s.Duration = DefaultDuration
		if len(l.Stages) > 0 {
			s.Duration = l.StagesDuration()
		}
	}
	if !s.given("grace") {
		s.Grace = DefaultGrace
	}
	if !s.given("deadlines.first_byte") {
		s.Deadlines.FirstByte = DefaultFirstByte
	}
	if !s.given("deadlines.idle") {
		s.Deadlines.Idle = DefaultIdle
	}
	if !s.given("max_line") {
		s.MaxLine = DefaultMaxLine
	}
	if !s.given("max_event") {
		s.MaxEvent = DefaultMaxEvent
	}
	if !s.given("reconnect.delay") {
		s.Reconnect.Delay = DefaultReconnectDelay
	}
	if !s.given("reconnect.honor_retry") {
		s.Reconnect.HonorRetry = true
	}
	if !s.given("reconnect.last_event_id") {
		s.Reconnect.LastEventID = true
	}
	if s.ShardCount == 0 {
		s.ShardIndex, s.ShardCount = 1, 1
	}
}

// StagesDuration returns the sum of the stage durations.
func (l *Workload) StagesDuration() time.Duration {
	var d time.Duration
	for _, st := range l.Stages {
		d += st.Duration
	}
	return d
}
