package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ssebench/ssebench/reports"
)

func TestRoundTrip(t *testing.T) {
	h := reports.NewHistogram()
	h.Record(3 * time.Millisecond)
	h.Record(2 * time.Hour) // out of range: must survive the trip
	d := &reports.Delta{Seq: 7, Elapsed: time.Second, Active: 12,
		Counters: reports.DeltaCounters{Events: 40, StreamsStarted: 3},
		Errors:   map[string]int64{"http_status:503": 2},
		Hist:     map[string]*reports.Histogram{"ttft": h}}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	enc, err := h.Encode()
	if err != nil {
		t.Fatal(err)
	}
	tick := &reports.HLogTick{N: 3, Start: time.Unix(1700000000, 0), Interval: time.Second, From: 2 * time.Second, To: 3 * time.Second, Hist: map[string]string{"ttft": enc}}
	for _, v := range []any{&Hello{Shard: "2/3", PID: 42}, d, &Status{Active: 12, Target: 20}, &Result{Path: "/tmp/x.json", Exit: 1}, &Error{Message: "boom", Exit: 3}, tick} {
		if err := w.Write(v); err != nil {
			t.Fatal(err)
		}
	}
	r := NewReader(&buf)
	var got []*Frame
	for {
		f, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, f)
	}
	if len(got) != 6 {
		t.Fatalf("%d frames, want 6", len(got))
	}
	if gt := got[5].Interval; gt == nil || gt.N != 3 || !gt.Start.Equal(tick.Start) || gt.To != 3*time.Second || gt.Hist["ttft"] != enc {
		t.Errorf("interval %+v", gt)
	}
	if got[0].Hello.Shard != "2/3" || got[0].Hello.PID != 42 {
		t.Errorf("hello %+v", got[0].Hello)
	}
	gd := got[1].Delta
	if gd.Seq != 7 || gd.Counters.Events != 40 || gd.Errors["http_status:503"] != 2 || gd.Active != 12 {
		t.Errorf("delta %+v", gd)
	}
	if gh := gd.Hist["ttft"]; gh == nil || gh.Count() != 2 || gh.OutOfRange() != 1 {
		t.Errorf("histogram did not survive: %+v", gh)
	}
	if got[2].Status.Target != 20 || got[3].Result.Path != "/tmp/x.json" || got[3].Result.Exit != 1 || got[4].Error.Message != "boom" {
		t.Errorf("frames %+v %+v %+v", got[2].Status, got[3].Result, got[4].Error)
	}
}

func header(version, typ byte, size uint32) []byte {
	h := []byte{'S', 'B', version, typ, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(h[4:], size)
	return h
}

func TestBadFrames(t *testing.T) {
	for name, c := range map[string]struct {
		in   []byte
		want string
	}{
		"magic":     {append([]byte("XX"), header(1, 1, 0)[2:]...), "no magic"},
		"version":   {header(9, 1, 2), "protocol version 9"},
		"type":      {header(1, 99, 2), "unknown type 99"},
		"type zero": {header(1, 0, 2), "unknown type 0"},
		"too big":   {header(1, 2, MaxPayload+1), "over the"},
		"cut":       {append(header(1, 1, 10), '{'), "unexpected EOF"},
		"json":      {append(header(1, 1, 3), "{x}"...), "hello"},
		"delta":     {append(header(1, 2, 30), `{"seq":1,"counters":{"events":-1}}`[:30]...), "delta"},
		"header":    {[]byte("SB\x01"), "unexpected EOF"},
		"interval":  {append(header(1, 6, 8), `{"n":0}`+" "...), "interval tick 0"},
	} {
		_, err := NewReader(bytes.NewReader(c.in)).Next()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", name, err, c.want)
		}
	}
	if _, err := NewReader(bytes.NewReader(nil)).Next(); err != io.EOF {
		t.Errorf("empty stream: %v, want io.EOF", err)
	}
	if err := NewWriter(io.Discard).Write(42); err == nil {
		t.Error("writing an int did not fail")
	}
	_, err := NewReader(bytes.NewReader(header(1, 2, MaxPayload+1))).Next()
	if !errors.Is(err, ErrProtocol) {
		t.Errorf("oversize frame: %v does not wrap ErrProtocol", err)
	}
}

// A declared size the stream never delivers costs no allocation of its size.
func TestLargeDeclaredSizeIsNotAllocated(t *testing.T) {
	in := append(header(1, 2, MaxPayload), `{"seq":1}`...)
	allocs := testing.AllocsPerRun(20, func() {
		r := NewReader(bytes.NewReader(in))
		if _, err := r.Next(); err == nil {
			t.Fatal("cut frame accepted")
		}
	})
	r := NewReader(bytes.NewReader(in))
	_, _ = r.Next()
	if c := r.buf.Cap(); c >= MaxPayload/2 {
		t.Errorf("buffer grew to %d bytes for a 9-byte payload (allocs %v)", c, allocs)
	}
}

func FuzzReader(f *testing.F) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	_ = w.Write(&Hello{Shard: "1/2", PID: 1})
	h := reports.NewHistogram()
	h.Record(time.Millisecond)
	_ = w.Write(&reports.Delta{Seq: 1, Hist: map[string]*reports.Histogram{"gap": h}, Errors: map[string]int64{"dial": 1}})
	_ = w.Write(&Result{Path: "p"})
	f.Add(buf.Bytes())
	f.Add(header(1, 2, 4))
	f.Add(append(header(1, 5, 2), "{}"...))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReader(bytes.NewReader(in))
		for range 64 {
			fr, err := r.Next()
			if err != nil {
				return
			}
			// Whatever decoded re-encodes and decodes again.
			var out bytes.Buffer
			var v any
			switch fr.Type {
			case HelloFrame:
				v = fr.Hello
			case DeltaFrame:
				v = fr.Delta
			case StatusFrame:
				v = fr.Status
			case ResultFrame:
				v = fr.Result
			case ErrorFrame:
				v = fr.Error
			case IntervalFrame:
				v = fr.Interval
			}
			if err := NewWriter(&out).Write(v); err != nil {
				t.Fatalf("re-encode %s: %v", fr.Type, err)
			}
			if _, err := NewReader(&out).Next(); err != nil {
				t.Fatalf("decode the re-encoded %s: %v", fr.Type, err)
			}
		}
	})
}
