package scenarios

import (
	"strings"
	"testing"
)

func TestDialRateDecodeValidateShard(t *testing.T) {
	s, err := Parse("d.yaml", []byte("url: http://h/\nload:\n  connections: 10\n  dial_rate: 300/s\n  dial_burst: 7\n"))
	if err != nil {
		t.Fatal(err)
	}
	if r, b := s.Load.EffectiveDial(); r != 300 || b != 7 {
		t.Errorf("decoded dial %v/s burst %d, want 300/s 7", r, b)
	}
	var rate float64
	burst := 0
	for i := 1; i <= 3; i++ {
		sh, err := s.Shard(i, 3)
		if err != nil {
			t.Fatal(err)
		}
		rate += sh.Load.DialRate
		burst += sh.Load.DialBurst
	}
	if rate != 300 || burst != 7 {
		t.Errorf("shards' dial rates sum to %v/s, bursts to %d; want 300/s and 7", rate, burst)
	}
	d, _ := Parse("d.yaml", []byte("url: http://h/\nload: {connections: 10}\n"))
	if r, b := d.Load.EffectiveDial(); r != DefaultDialRate || b != DefaultDialBurst {
		t.Errorf("defaults %v/s %d", r, b)
	}
	s.UseConnections(20)
	if s.Load.DialRate != 300 {
		t.Error("--connections dropped the dial rate")
	}
	for body, want := range map[string]string{
		"url: http://h/\nload: {connections: 10, dial_burst: -1}\n":                "d.yaml:2",
		"url: http://h/\nload:\n  connections: 10\n  dial_rate: fast\n":            "dial_rate",
		"url: http://h/\nload:\n  rate: 10/s\n  dial_rate: 10/s\n":                 "apply to the closed model",
		"url: http://h/\nload:\n  connections: 10\n  dial_rate: 10/s\n  dial: 1\n": "dial",
	} {
		_, err := Parse("d.yaml", []byte(body))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error with %q", body, err, want)
		}
	}
}
