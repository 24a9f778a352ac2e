package main

import (
	"fmt"
	"net/netip"

	"github.com/ssebench/ssebench/scenarios"
	"github.com/ssebench/ssebench/scenarios/swarm"
)

// maxAutoSourceIPs bounds --source-ips auto: 127.0.0.1 .. 127.0.0.254.
const maxAutoSourceIPs = 254

// autoSourceIPs picks the source addresses of --source-ips auto, which is
// also the default for an IPv4 loopback target whose whole run (every
// worker of procs together) needs more ports than one address has: k
// addresses 127.0.0.1 .. 127.0.0.k, k the whole run's peak streams over
// two fifths of the ephemeral port range, rounded up, and with several
// workers rounded up to a multiple of their number (each worker gets as
// many). It returns nil (keep sc's) when sc names its addresses, when the
// default does not apply, or when ports are unknown. The dialler spreads a
// process's streams round robin over its addresses.
//
// Why two fifths: Linux's connect() looks for a free local port by
// walking the even ports of the range from where its last search ended,
// then the odd ones; while an address holds fewer connections than half
// the range, the walk finds a free port at once, but past that every
// connect walks the whole used half first (thousands of 4-tuple lookups in
// the kernel: a 100,000-stream run over six addresses spent most of its
// CPU in __inet_check_established past ~85,000 connections). Two fifths
// keeps each address under half the range, with headroom for ports in use
// and in TIME_WAIT.
func autoSourceIPs(cfg *runConfig, sc *scenarios.Scenario, procs int) ([]netip.Addr, error) {
	if len(sc.SourceIPs) > 0 && !cfg.sourceIPsAuto {
		return nil, nil
	}
	target, loop := swarm.LoopbackTarget(sc)
	if !loop || !target.Is4() {
		if cfg.sourceIPsAuto {
			return nil, usagef("--source-ips auto picks 127.0.0.x addresses, for an IPv4 loopback target only (the target is %s): name the addresses instead", targetHost(sc))
		}
		return nil, nil
	}
	ports, peak := swarm.EphemeralPorts(), swarm.Peak(sc)
	if ports <= 0 || peak <= 0 || sc.HTTP2 {
		if cfg.sourceIPsAuto {
			return []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1})}, nil
		}
		return nil, nil
	}
	per := max(ports*2/5, 1)
	k := (peak + per - 1) / per
	if k <= 1 && !cfg.sourceIPsAuto {
		return nil, nil
	}
	if (k > 1 || cfg.sourceIPsAuto) && procs > 1 {
		k = (max(k, 1) + procs - 1) / procs * procs
	}
	k = max(k, 1)
	if k > maxAutoSourceIPs {
		return nil, cannotRun(fmt.Errorf("--source-ips auto: %d streams need %d loopback addresses (%d ports each), more than %d: shard the run over hosts", peak, k, per, maxAutoSourceIPs))
	}
	out := make([]netip.Addr, k)
	for i := range out {
		out[i] = netip.AddrFrom4([4]byte{127, 0, 0, byte(i + 1)})
	}
	return out, nil
}

// applySourceIPs sets sc's source addresses as autoSourceIPs says, and
// returns a note for stderr ("" when nothing changed).
func applySourceIPs(cfg *runConfig, sc *scenarios.Scenario, procs int) (string, error) {
	ips, err := autoSourceIPs(cfg, sc, procs)
	if err != nil || ips == nil {
		return "", err
	}
	sc.SourceIPs = ips
	return fmt.Sprintf("source addresses %s-%s (--source-ips auto: %d streams, %d ephemeral ports per address)",
		ips[0], ips[len(ips)-1], swarm.Peak(sc), swarm.EphemeralPorts()), nil
}

// targetHost is the host of sc's URL, for messages (no path or query).
func targetHost(sc *scenarios.Scenario) string {
	if a, ok := swarm.LoopbackTarget(sc); ok {
		return a.String()
	}
	return "not loopback"
}

// procsSourceIPs resolves the whole run's source addresses for n workers
// and returns them as strings (for the workers' specs) with a note.
func procsSourceIPs(cfg *runConfig, sc *scenarios.Scenario, n int) ([]string, string, error) {
	note, err := applySourceIPs(cfg, sc, n)
	if err != nil {
		return nil, "", err
	}
	if note != "" {
		note = "; " + note
	}
	out := make([]string, len(sc.SourceIPs))
	for i, a := range sc.SourceIPs {
		out[i] = a.String()
	}
	return out, note, nil
}

// procsPlanFits judges the whole run of n workers on this host: each
// worker's share of the open files, and the ports of all of them
// together.
func procsPlanFits(sc *scenarios.Scenario, n int, embedded bool, ips []string) error {
	per := 1
	if embedded {
		per = 2
	}
	return swarm.CheckWhole(sc, n, per, len(ips))
}
