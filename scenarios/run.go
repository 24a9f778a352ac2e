package scenarios

import (
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ssebench/ssebench/scenarios/pacer"
	"github.com/ssebench/ssebench/scenarios/secret"
)

// Pacer returns the open model's arrival schedule: hit k (counted from 0
// in this shard) is due at When(k), measured from the start of the run.
// It accounts for Stages, the Arrival process, the shard's Offset and, for
// Poisson, a seed mixed from Load.Seed and the shard index. It is an error
// to call it on a closed-model scenario.
func (s *Scenario) Pacer() (pacer.Scheduler, error) {
	l := &s.Load
	if l.Model != Open {
		return nil, fmt.Errorf("scenario %q: Pacer: the load model is %s, not open", s.Name, l.Model)
	}
	var curve interface {
		pacer.Scheduler
		pacer.Curve
	}
	if len(l.Stages) == 0 {
		curve = pacer.Constant{Freq: l.Rate, Per: time.Second, Offset: l.Offset}
	} else {
		curve = pacer.Stages{Start: l.Rate, Offset: l.Offset, Stages: slices.Clone(l.Stages)}
	}
	if l.Arrival == Poisson {
		seed := l.Seed
		if s.ShardCount > 1 {
			seed = mix(l.Seed, uint64(s.ShardIndex), 0x7368617264)
		}
		return pacer.NewPoisson(curve, seed), nil
	}
	return curve, nil
}

// Ramp returns the closed model's schedule of concurrent streams (a
// constant Load.Connections when there are no Stages).
func (s *Scenario) Ramp() pacer.Ramp {
	return pacer.Ramp{Start: s.Load.Connections, Stages: slices.Clone(s.Load.Stages)}
}

// Vars returns the template values of the stream numbered stream (see
// StreamNumber). Values from a Setup are added by the caller.
func (s *Scenario) Vars(stream uint64) Vars {
	return Vars{Stream: stream, Shard: max(s.ShardIndex, 1), Seed: s.Load.Seed, Getenv: s.Getenv}
}

// Aborts reports whether the abort rule picks the stream numbered stream:
// a pure function of Load.Seed and the stream number, true for a fraction
// Abort.Fraction of streams.
func (s *Scenario) Aborts(stream uint64) bool {
	f := s.Abort.Fraction
	if f <= 0 {
		return false
	}
	if f >= 1 {
		return true
	}
	return float64(mix(s.Load.Seed, stream, 0x61626f7274)>>11)/(1<<53) < f
}

// SourceIP returns the local address the stream numbered stream dials
// from (SourceIPs[SourceIndex(stream)]), or the zero Addr for the system's
// choice.
func (s *Scenario) SourceIP(stream uint64) netip.Addr {
	if len(s.SourceIPs) == 0 {
		return netip.Addr{}
	}
	return s.SourceIPs[s.SourceIndex(stream)]
}

// SourceIndex returns the index in SourceIPs (of n addresses) the stream
// numbered stream dials from: round robin over the shard's own streams. A
// shard's stream numbers step by ShardCount (see StreamNumber), so a round
// robin over the numbers themselves would give a shard only the addresses
// congruent to its index (with 6 shards and 2 addresses each, one of the
// two): the shard-local counter is spread instead.
func (s *Scenario) SourceIndex(stream uint64) int {
	n := uint64(len(s.SourceIPs))
	if n <= 1 {
		return 0
	}
	return int(stream / uint64(max(s.ShardCount, 1)) % n)
}

// SetTarget points the scenario at target (the CLI's --target). The
// target's scheme and host (and port) replace those of the stream URL and
// of the setup URL. A target with a path other than "/" is the whole stream
// URL: its path and query replace the scenario's, so
// "--target http://host/v1/stream" does not inherit another endpoint's
// parameters. A target with a query but no path replaces only the stream
// URL's query. A scenario without a URL takes target as its whole URL.
// Credentials in target are refused (they would be sent and logged); the
// error never repeats them.
func (s *Scenario) SetTarget(target string) error {
	t, err := parseTarget(target)
	if err != nil {
		return err
	}
	origin := t.Scheme + "://" + t.Host
	// rehost swaps the scheme://host of raw, which may hold templates, so
	// it is split by hand rather than parsed.
	rehost := func(raw string) (string, error) {
		rest, ok := strings.CutPrefix(raw, "http://")
		if !ok {
			rest, ok = strings.CutPrefix(raw, "https://")
		}
		if !ok {
			return "", fmt.Errorf("url %q is not an http or https URL", raw)
		}
		if i := strings.IndexAny(rest, "/?#"); i >= 0 {
			return origin + rest[i:], nil
		}
		return origin, nil
	}
	if s.Setup != nil && s.Setup.URL != "" {
		if s.Setup.URL, err = rehost(s.Setup.URL); err != nil {
			return err
		}
	}
	if path := t.EscapedPath(); s.URL == "" || (path != "" && path != "/") {
		s.URL = origin + t.EscapedPath()
		if t.RawQuery != "" {
			s.URL += "?" + t.RawQuery
		}
		return nil
	}
	if s.URL, err = rehost(s.URL); err != nil {
		return err
	}
	if t.RawQuery != "" {
		base, _, _ := strings.Cut(s.URL, "?")
		s.URL = base + "?" + t.RawQuery
	}
	return nil
}

// parseTarget parses a --target URL: http or https with a host, and no
// credentials (they would be sent and logged; the error never repeats them).
func parseTarget(target string) (*url.URL, error) {
	t, err := url.Parse(target)
	if err != nil || (t.Scheme != "http" && t.Scheme != "https") || t.Host == "" {
		return nil, fmt.Errorf("target %q is not an http or https URL with a host", secret.URL(target))
	}
	if t.User != nil {
		return nil, fmt.Errorf("target %q has credentials, which are never sent from a URL; use a header in the scenario (Authorization: Bearer {{env.TOKEN}})", secret.URL(target))
	}
	return t, nil
}

// ForTarget returns the scenario for a target given without a scenario
// file (the CLI's --target alone): the embedded default's load (see
// Default) against target as the whole stream URL, its path "/" when it
// has none, with PresetGeneric, since nothing is known of the server's
// conventions. The mock's query parameters and its finish event belong to
// the embedded default only. Credentials in target are refused as by
// SetTarget.
func ForTarget(target string) (*Scenario, error) {
	t, err := parseTarget(target)
	if err != nil {
		return nil, err
	}
	s := Default()
	s.Name = "target"
	path := t.EscapedPath()
	if path == "" {
		path = "/"
	}
	s.URL = t.Scheme + "://" + t.Host + path
	if t.RawQuery != "" {
		s.URL += "?" + t.RawQuery
	}
	s.Events = Events{Preset: PresetGeneric}
	return s, nil
}

// UseConnections switches to the closed model with n constant
// connections (the CLI's --connections), dropping stages and open-model
// settings.
func (s *Scenario) UseConnections(n int) {
	s.Load = Workload{Model: Closed, Connections: n, Seed: s.Load.Seed, DialRate: s.Load.DialRate, DialBurst: s.Load.DialBurst}
}

// UseRate switches to the open model at rate arrivals per second (the
// CLI's --rate), dropping stages and closed-model settings but keeping the
// arrival process and the cap on streams in flight.
func (s *Scenario) UseRate(rate float64) {
	arr := s.Load.Arrival
	if arr == "" {
		arr = Constant
	}
	mc := 0
	if s.Load.Model == Open {
		mc = s.Load.MaxConnections
	}
	s.Load = Workload{Model: Open, Rate: rate, Arrival: arr, Seed: s.Load.Seed, MaxConnections: mc}
}
