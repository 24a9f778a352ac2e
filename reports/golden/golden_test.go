package golden

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	for _, tt := range []struct{ got, want, msg string }{
		{"a\nb\n", "a\nb\n", ""},
		{"a\nb\n", "a\nc\n", "line 2:\n got: b\nwant: c"},
		{"a\nb", "a\nb\nc", "2 lines, want 3"},
		{strings.Repeat("x", 400), "y", "line 1:\n got: " + strings.Repeat("x", 300) + "…\nwant: y"},
	} {
		if got := Diff([]byte(tt.got), []byte(tt.want)); got != tt.msg {
			t.Errorf("Diff(%q, %q) = %q, want %q", tt.got, tt.want, got, tt.msg)
		}
	}
}

// TestCheckUpdate: with -update, Check writes the file (and its directory);
// without, the same bytes compare equal.
func TestCheckUpdate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "out.golden")
	saved := *update
	*update = true
	Check(t, path, []byte("hello\n"))
	*update = saved
	if b, err := os.ReadFile(path); err != nil || string(b) != "hello\n" {
		t.Fatalf("written %q, %v", b, err)
	}
	if !*update {
		Check(t, path, []byte("hello\n"))
	}
}
