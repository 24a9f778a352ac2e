package swarm

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

// TestDialPacer: a burst at once, then one dial per interval; an idle
// spell refills the burst; a cancelled wait returns false.
func TestDialPacer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newDialPacer(10, 3) // 3 at once, then one per 100 ms
		start := time.Now()
		var at []time.Duration
		for range 6 {
			if !p.wait(t.Context()) {
				t.Fatal("wait failed")
			}
			at = append(at, time.Since(start))
		}
		want := []time.Duration{0, 0, 0, 100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond}
		for i := range want {
			if at[i] != want[i] {
				t.Fatalf("dial times %v, want %v", at, want)
			}
		}
		time.Sleep(10 * time.Second) // idle: the burst is back
		t0 := time.Now()
		for range 3 {
			p.wait(t.Context())
		}
		if d := time.Since(t0); d != 0 {
			t.Errorf("after an idle spell the burst waited %v", d)
		}
		ctx, cancel := context.WithCancel(t.Context())
		go func() { time.Sleep(10 * time.Millisecond); cancel() }()
		for p.wait(ctx) {
		}
		if ctx.Err() == nil {
			t.Error("wait returned false before the context ended")
		}
		if newDialPacer(0, 5) != nil || (*dialPacer)(nil).wait(t.Context()) != true {
			t.Error("a zero rate paces")
		}
	})
}
