package swarm

import (
	"fmt"
	"math"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/ssebench/ssebench/scenarios"
)

// ResourceError says that this process cannot hold the connections the
// plan needs: not enough file descriptors, or not enough ephemeral ports
// for the source addresses given. Its message says how to shard the run.
// The CLI maps it to exit code 3.
type ResourceError struct {
	// Resource is "files" or "ports".
	Resource string
	// Need is the number of connections the plan holds open at its peak
	// (plus the reserve, for files).
	Need int
	// Have is what this process may use: the open-file limit (after
	// raising the soft limit to the hard one) or the ephemeral ports over
	// all source addresses.
	Have int
	// Shards is the smallest number of shards (processes) that fits.
	Shards int
	// Hint is the advice beyond sharding, if any.
	Hint string
}

func (e *ResourceError) Error() string {
	var msg string
	switch e.Resource {
	case "ports":
		// Ports are shared by every process of a host: more processes do
		// not help, more source addresses (or hosts) do.
		msg = fmt.Sprintf("plan needs %s connections but the source addresses have %s ephemeral ports towards one target: %s run it as %d shards on different hosts: ssebench run --shard 1/%d ..., --shard %d/%d ...",
			thousands(e.Need), thousands(e.Have), e.Hint, e.Shards, e.Shards, e.Shards, e.Shards)
	default:
		msg = fmt.Sprintf("plan needs %s connections but this process may open %s files: run it as %d shards: ssebench run --procs %d (or --procs auto) on one host, or ssebench run --shard 1/%d ..., --shard %d/%d ... over hosts",
			thousands(e.Need), thousands(e.Have), e.Shards, e.Shards, e.Shards, e.Shards, e.Shards)
		if e.Hint != "" {
			msg += "; " + e.Hint
		}
	}
	return msg
}

// Whole describes the whole run a Swarm's scenario is a share of (a
// --shard, a worker of run --procs), so that the resource checks judge
// the whole run and their advice names the process count for all of it.
type Whole struct {
	// Peak is the whole run's peak streams, every shard and worker
	// together. 0: this scenario's peak times its shard count.
	Peak int
	// Sources is the number of distinct source addresses the whole run
	// dials from. 0: this scenario's (at least one).
	Sources int
}

// Peak returns the most streams sc holds open at once: the closed
// model's highest level (connections, or a stage target rounded up), the
// open model's max_connections (0: unbounded). It is the one measure of a
// plan's size for the open-file and port checks.
func Peak(sc *scenarios.Scenario) int {
	if sc.Load.Model == scenarios.Open {
		return sc.Load.MaxConnections
	}
	need := sc.Load.Connections
	for _, st := range sc.Load.Stages {
		need = max(need, int(math.Ceil(st.Target)))
	}
	return need
}

// LoopbackTarget reports whether sc's target host is a loopback address
// (or localhost): then every shard of the run runs on this host, and the
// ephemeral ports are judged for the whole run.
func LoopbackTarget(sc *scenarios.Scenario) (netip.Addr, bool) {
	u, err := url.Parse(sc.URL)
	if err != nil {
		return netip.Addr{}, false
	}
	h := u.Hostname()
	if h == "localhost" {
		return netip.MustParseAddr("127.0.0.1"), true
	}
	a, err := netip.ParseAddr(h)
	if err != nil || !a.IsLoopback() {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// FDReserve is the default number of file descriptors kept for things
// other than stream connections: stdio, output files, the progress view,
// setup-request connections, an in-process mock server's listener.
const FDReserve = 64

// fdPlan checks that need connections fit in the open-file limit, each
// costing perConn descriptors (2 when the server runs in this process). It
// raises the soft limit to the hard limit first. It returns the number of
// connections that fit (-1: no limit).
//
// whole is the whole run's need (every shard and worker), for the advice.
func fdPlan(need, whole, perConn, reserve int) (usable int, err error) {
	limit, err := raiseNoFile()
	if err != nil {
		return 0, fmt.Errorf("swarm: reading the open-file limit: %w", err)
	}
	if limit < 0 { // unlimited or unknown: nothing to check
		return -1, nil
	}
	perConn = max(perConn, 1)
	usable = max((limit-reserve)/perConn, 1)
	if need > usable {
		e := &ResourceError{
			Resource: "files", Need: need, Have: limit - reserve,
			Shards: ceilDiv(max(need, whole), usable),
			Hint:   "or raise the hard limit (ulimit -Hn, LimitNOFILE=)",
		}
		if perConn > 1 {
			e.Hint = fmt.Sprintf("each connection costs %d files when the server runs in this process; %s", perConn, e.Hint)
		}
		return usable, e
	}
	return usable, nil
}

// EphemeralPorts returns the size of the local port range used for
// outgoing connections (each source address has that many towards one
// target), or -1 if unknown.
func EphemeralPorts() int { return ephemeralPorts() }

// ephemeralPorts is EphemeralPorts.
func ephemeralPorts() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return -1
	}
	lo, err1 := strconv.Atoi(f[0])
	hi, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil || hi < lo {
		return -1
	}
	return hi - lo + 1
}

// portPlan checks that need connections to one target fit in the
// ephemeral ports of the source addresses (each source address can hold
// one connection per local port towards one target ip:port).
func portPlan(need, sources int) error {
	ports := ephemeralPorts()
	if ports < 0 || sources < 1 {
		return nil
	}
	have := ports * sources
	if need <= have {
		return nil
	}
	return &ResourceError{
		Resource: "ports", Need: need, Have: have, Shards: ceilDiv(need, have),
		Hint: fmt.Sprintf("add source addresses (--source-ips auto picks 127.0.0.x addresses for a loopback target; or source_ips: 127.0.0.1-127.0.0.%d) or", ceilDiv(need, ports)),
	}
}

func ceilDiv(a, b int) int {
	if b <= 0 {
		return 1
	}
	return (a + b - 1) / b
}

// thousands formats n with commas: 25000 -> "25,000".
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
