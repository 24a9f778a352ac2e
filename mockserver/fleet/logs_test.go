package fleet

import (
	"bytes"
	"strings"
	"testing"
)

func TestLineLogPrefixesCutsAndKeepsATail(t *testing.T) {
	var out bytes.Buffer
	w := &lineLog{log: &logger{out: &out}, prefix: "w1: "}
	long := strings.Repeat("x", maxLogLine+100)
	for _, chunk := range []string{"first li", "ne\nsecond\n", long, "\nafter", " the long one\n"} {
		if n, err := w.Write([]byte(chunk)); n != len(chunk) || err != nil {
			t.Fatalf("Write: %d, %v", n, err)
		}
	}
	want := "w1: first line\nw1: second\nw1: " + long[:maxLogLine] + "...\nw1: after the long one\n"
	if out.String() != want {
		t.Errorf("log:\n%q\nwant\n%q", out.String(), want)
	}
	for i := 0; i < 2*tailLines; i++ {
		_, _ = w.Write([]byte("line\n"))
	}
	_, _ = w.Write([]byte("unfinished"))
	tail := w.Tail()
	if strings.Count(tail, "\n") != tailLines || !strings.HasSuffix(tail, "    unfinished") {
		t.Errorf("tail:\n%s", tail)
	}
	if got := (&lineLog{log: &logger{}}).Tail(); got != "    (nothing)" {
		t.Errorf("empty tail %q", got)
	}
}
