package scenarios

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the YAML -> Scenario path: it must
// never panic, every problem must carry the file name, and a scenario that
// parses must validate, prepare and survive a JSON round trip.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("examples/*.yaml")
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("url: http://h/\nload: {rate: 5/s, stages: [{duration: 1s, target: 9/s}]}\n"))
	f.Add([]byte("url: http://h/{{x}}\nsetup: {url: 'http://h/', extract: {x: a.0}}\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := parse("fuzz.yaml", data)
		if err != nil {
			ve, ok := err.(*ValidationError)
			if !ok || len(ve.Problems) == 0 {
				t.Fatalf("error %T %v is not a *ValidationError with problems", err, err)
			}
			for _, p := range ve.Problems {
				if p.File != "fuzz.yaml" || p.Msg == "" {
					t.Fatalf("bad problem %+v", p)
				}
			}
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("parsed but does not validate: %v", err)
		}
		if _, err := s.PrepareRequest(); err != nil {
			t.Fatalf("PrepareRequest: %v", err)
		}
		s.Events.Classifier().Classify([]byte("x"), data)
		if s.Load.Model == Open {
			if _, err := s.Pacer(); err != nil {
				t.Fatal(err)
			}
		}
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("MarshalJSON: %v", err)
		}
		if _, err := parse("fuzz.yaml", b); err != nil {
			t.Fatalf("JSON %s does not parse back: %v", b, err)
		}
	})
}
