package scenarios

import (
	"bytes"
	"os"
	"testing"
)

// parse decodes and validates a scenario held in data, the way the CLI
// does with no overrides: nil and every problem unless it is valid.
func parse(name string, data []byte) (*Scenario, error) {
	s, err := Decode(name, data)
	if s == nil {
		return nil, err
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// load is parse of the file at path.
func load(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parse(path, data)
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
