package fleet

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
)

// Bounds of what the supervisor keeps of a worker's standard error.
const (
	maxLogLine = 2048 // a longer line is cut, and the cut marked with "..."
	tailLines  = 10   // lines kept for the report of a worker's death
)

// logger writes the supervisor's notices and its workers' output lines to
// one io.Writer, a whole line at a time. It is safe for concurrent use.
type logger struct {
	mu  sync.Mutex
	out io.Writer
}

func (l *logger) printf(format string, a ...any) {
	if l.out == nil {
		return
	}
	line := fmt.Sprintf(format, a...)
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = io.WriteString(l.out, strings.TrimRight(line, "\n")+"\n")
}

// lineLog is a worker's standard error: each line goes to the log with the
// worker's prefix, and the last tailLines are kept. It is safe for
// concurrent use.
type lineLog struct {
	log    *logger
	prefix string

	mu      sync.Mutex
	partial []byte
	skip    bool // the current line was cut: drop it up to its end
	tail    []string
}

func (w *lineLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		seg := p
		if i >= 0 {
			seg = p[:i]
		}
		if !w.skip {
			if room := maxLogLine - len(w.partial); len(seg) > room {
				w.partial = append(w.partial, seg[:room]...)
				w.emitLocked(true)
				w.skip = true // the rest of this line
			} else {
				w.partial = append(w.partial, seg...)
			}
		}
		if i < 0 {
			break
		}
		if !w.skip {
			w.emitLocked(false)
		}
		w.skip = false
		p = p[i+1:]
	}
	return n, nil
}

// emitLocked writes the partial line out.
func (w *lineLog) emitLocked(cut bool) {
	line := string(w.partial)
	if cut {
		line += "..."
	}
	w.partial = w.partial[:0]
	w.log.printf("%s%s", w.prefix, line)
	if len(w.tail) == tailLines {
		copy(w.tail, w.tail[1:])
		w.tail = w.tail[:tailLines-1]
	}
	w.tail = append(w.tail, line)
}

// Tail returns the last lines the worker wrote (an unfinished one
// included), indented for a report, or "(nothing)".
func (w *lineLog) Tail() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	lines := append([]string(nil), w.tail...)
	if len(w.partial) > 0 {
		lines = append(lines, string(w.partial))
	}
	if len(lines) == 0 {
		return "    (nothing)"
	}
	return "    " + strings.Join(lines, "\n    ")
}
