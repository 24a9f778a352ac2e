// Package golden is the tests' one golden-file helper: Check compares a
// test's output with a file under testdata, and the -update flag of the
// test binary rewrites the files instead (go test ./reports -update). Only
// tests import it.
package golden

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// update is the -update flag, registered once for every test binary that
// imports the package.
var update = flag.Bool("update", false, "rewrite the golden files (and fixtures) under testdata instead of comparing")

// Update reports whether the test binary runs with -update.
func Update() bool { return *update }

// maxShown bounds how much of a differing line a failure prints.
const maxShown = 300

// Check compares got with the golden file at path. With -update it writes
// got to path (creating its directory) instead. A mismatch fails t with the
// first differing line, or the line counts; a missing file fails t saying
// how to create it.
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatalf("golden: %v", err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatalf("golden: %v", err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden: %v (run the test with -update to create it)", err)
	}
	if msg := Diff(got, want); msg != "" {
		t.Errorf("%s differs from the golden file (run the test with -update if the change is intended): %s", path, msg)
	}
}

// Diff describes the first difference between got and want ("" when they
// are equal): the line number and both lines, clipped to 300 bytes, or the
// line counts when one is a prefix of the other.
func Diff(got, want []byte) string {
	if bytes.Equal(got, want) {
		return ""
	}
	gl, wl := bytes.Split(got, []byte("\n")), bytes.Split(want, []byte("\n"))
	for i := range min(len(gl), len(wl)) {
		if !bytes.Equal(gl[i], wl[i]) {
			return fmt.Sprintf("line %d:\n got: %s\nwant: %s", i+1, clip(gl[i]), clip(wl[i]))
		}
	}
	return fmt.Sprintf("%d lines, want %d", len(gl), len(wl))
}

func clip(b []byte) string {
	if len(b) > maxShown {
		return string(b[:maxShown]) + "…"
	}
	return string(b)
}
