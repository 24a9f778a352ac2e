package swarm

import (
	"errors"
	"strings"
	"testing"

	"github.com/ssebench/ssebench/scenarios"
)

// TestWholeRunAdvice: a shard's open-file check names the number of
// processes for the whole run (100,000 streams as --shard 1/2 need as
// many processes as 100,000 in one, not half as many).
func TestWholeRunAdvice(t *testing.T) {
	limit, err := raiseNoFile()
	if err != nil || limit < 0 || limit > 1<<20 {
		t.Skip("no usable open-file limit here")
	}
	whole := limit * 5
	sc := scenario(t, "url: http://127.0.0.1:1/\nload: {connections: "+itoa(whole)+"}\n")
	share, err := sc.Shard(1, 2)
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(share, Options{})
	var re *ResourceError
	if !errors.As(err, &re) || re.Resource != "files" {
		t.Fatalf("shard 1/2 of %d streams (limit %d): %v", whole, limit, err)
	}
	want := ceilDiv(whole, limit-FDReserve)
	if re.Shards != want || !strings.Contains(err.Error(), "--procs "+itoa(want)) {
		t.Errorf("advice names %d processes, want %d for the whole run: %v", re.Shards, want, err)
	}
	// CheckWhole judges the same run before any process starts.
	if err := CheckWhole(sc, 1, 1, 1); !errors.As(err, &re) || re.Shards != want {
		t.Errorf("CheckWhole, one process: %v", err)
	}
}

// TestWholeRunPorts: against a loopback target every shard runs on this
// host, so shards that each fit the ports but together do not are caught
// (30,000 streams from one address when it has 28,232 ports), and the
// whole run's source addresses count.
func TestWholeRunPorts(t *testing.T) {
	ports := ephemeralPorts()
	if ports <= 0 {
		t.Skip("ephemeral port range unknown")
	}
	sc := scenario(t, "url: http://127.0.0.1:1/\nload: {connections: "+itoa(ports+ports/10)+"}\n")
	var re *ResourceError
	if err := CheckWhole(sc, 4, 1, 1); !errors.As(err, &re) || re.Resource != "ports" || !strings.Contains(err.Error(), "--source-ips auto") {
		t.Errorf("whole run over one address's ports: %v", err)
	}
	if err := CheckWhole(sc, 4, 1, 2); err != nil && !strings.Contains(err.Error(), "files") {
		t.Errorf("two addresses: %v", err)
	}
	// A shard of it, with room in its own share, still fails on ports in
	// swarm.New when its file limit allows the share.
	share, err := sc.Shard(1, 4)
	if err != nil {
		t.Fatal(err)
	}
	limit, _ := raiseNoFile()
	if limit >= 0 && limit-FDReserve < Peak(share) {
		t.Skipf("open-file limit %d below a quarter of %d streams", limit, Peak(sc))
	}
	if _, err := New(share, Options{}); !errors.As(err, &re) || re.Resource != "ports" {
		t.Errorf("shard 1/4 of a run past the ports: %v", err)
	}
	if _, err := New(share, Options{Whole: Whole{Sources: 2}}); err != nil {
		t.Errorf("shard 1/4, the whole run dialling from two addresses: %v", err)
	}
	// A target elsewhere: shards may run on other hosts, the share is judged.
	far := scenario(t, "url: http://192.0.2.1:1/\nload: {connections: "+itoa(ports+ports/10)+"}\n")
	farShare, _ := far.Shard(1, 4)
	if _, err := New(farShare, Options{}); err != nil {
		t.Errorf("a non-loopback shard within its ports: %v", err)
	}
}

func TestLoopbackTarget(t *testing.T) {
	for url, want := range map[string]bool{
		"http://127.0.0.1:8080/x": true, "http://localhost/": true, "http://[::1]:1/": true,
		"http://127.9.9.9/": true, "http://10.0.0.1/": false, "https://example.com/": false,
	} {
		if _, got := LoopbackTarget(&scenarios.Scenario{Request: scenarios.Request{URL: url}}); got != want {
			t.Errorf("%s: loopback %v, want %v", url, got, want)
		}
	}
}
