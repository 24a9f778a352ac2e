package reports

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReadFileErrors(t *testing.T) {
	dir := t.TempDir()
	good := buildSynth(synth{streams: 5, every: time.Millisecond, events: 3}, fixedStart, time.Second, nil, "")
	var gb bytes.Buffer
	if err := WriteJSON(&gb, good); err != nil {
		t.Fatal(err)
	}
	mismatch := strings.Replace(gb.String(), `"count": 5,`, `"count": 6,`, 1)
	tests := []struct {
		name, body, want string
	}{
		{"empty", "", "the file is empty"},
		{"not an object", "[1,2]", "not a JSON object"},
		{"invalid JSON", `{"schema": 1,`, "invalid JSON"},
		{"no schema", `{"tool": "ssebench"}`, `no "schema" field`},
		{"newer schema", `{"schema": 2, "tool": "ssebench"}`, "schema version 2, this ssebench reads version 1"},
		{"other tool", `{"schema": 1, "tool": "k6"}`, `written by "k6"`},
		{"wrong type", `{"schema": 1, "tool": "ssebench", "duration_s": "ten"}`, "duration_s"},
		{"bad histogram", `{"schema":1,"tool":"ssebench","metrics":{"gap":{"count":1,"hdr":"nope"}}}`, "metric gap"},
		{"null metric", `{"schema":1,"tool":"ssebench","metrics":{"gap":null}}`, "metric gap is null"},
		{"count mismatch", mismatch, "count 6, but its histogram holds 5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".json")
			if err := os.WriteFile(p, []byte(tt.body), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ReadFile(p)
			if err == nil || !errors.Is(err, ErrBadFile) || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrBadFile naming %s and saying %q", err, p, tt.want)
			}
		})
	}
	_, err := ReadFile(filepath.Join(dir, "missing.json"))
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing file: %v", err)
	}
}

func TestWriteJSONRejectsNaN(t *testing.T) {
	f := buildSynth(synth{streams: 5, every: time.Millisecond, events: 3}, fixedStart, time.Second, nil, "")
	f.Rates.EventsPerS = nanValue()
	if err := WriteJSON(&bytes.Buffer{}, f); err == nil || !strings.Contains(err.Error(), "rates") {
		t.Errorf("err = %v, want one naming rates", err)
	}
}

func nanValue() float64 {
	zero := 0.0
	return zero / zero
}

func TestJUnitIsWellFormed(t *testing.T) {
	for name, f := range goldenFiles(t) {
		var b bytes.Buffer
		if err := WriteJUnit(&b, f); err != nil {
			t.Fatal(err)
		}
		var s junitSuites
		if err := xml.Unmarshal(b.Bytes(), &s); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		failed := 0
		for _, th := range f.Thresholds {
			if !th.Pass {
				failed++
			}
		}
		if s.Failures != failed || s.Suites[0].Tests != len(f.Thresholds) || s.Suites[1].Cases[0].SystemOut == nil {
			t.Errorf("%s: %d failures, %d threshold cases", name, s.Failures, s.Suites[0].Tests)
		}
	}
}

// FuzzDecodeFile: a result file is untrusted input. Decoding must not
// panic, and whatever decodes must write back and decode to the same.
func FuzzDecodeFile(f *testing.F) {
	good := buildSynth(synth{streams: 5, every: time.Millisecond, events: 3, failEach: 2}, fixedStart, time.Second, nil, "")
	var gb bytes.Buffer
	if err := WriteJSON(&gb, good); err != nil {
		f.Fatal(err)
	}
	f.Add(gb.Bytes())
	f.Add([]byte(`{"schema":1,"tool":"ssebench"}`))
	f.Add([]byte(`{"schema":1,"metrics":{"x":{"count":1,"hdr":"HISTFAAAACh42pJpmSzMwMDAxgABzFCaEURcm7yEwf4DRGC7OxMzEysKJMQHBAAA//8="}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := decodeFile(b)
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := WriteJSON(&out, file); err != nil {
			return // e.g. a scenario that is not valid JSON on its own
		}
		again, err := decodeFile(out.Bytes())
		if err != nil {
			t.Fatalf("a written file does not read back: %v", err)
		}
		var out2 bytes.Buffer
		if err := WriteJSON(&out2, again); err != nil || !bytes.Equal(out.Bytes(), out2.Bytes()) {
			t.Fatalf("write-read-write is not stable: %v", err)
		}
	})
}

// FuzzDecodeHistogram: encoded histograms come from files too.
func FuzzDecodeHistogram(f *testing.F) {
	h := NewHistogram()
	h.Record(time.Millisecond)
	h.Record(time.Second)
	enc, err := h.Encode()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(enc)
	f.Add("HISTFAAAAAA=")
	f.Fuzz(func(t *testing.T, s string) {
		d, err := DecodeHistogram(s)
		if err != nil {
			return
		}
		_ = d.Quantile(0.99)
		if _, err := d.Encode(); err != nil {
			t.Fatalf("a decoded histogram does not encode: %v", err)
		}
	})
}
