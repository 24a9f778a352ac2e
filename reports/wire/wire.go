// Package wire is the frame protocol between a `run --procs` (or
// `capacity --procs`) worker and its parent, over a pipe: the worker says
// hello, sends a Delta (and its swarm status) four times a second, with
// --hlog each closed tick's histograms (an Interval frame), and ends with
// its result's path or an error.
//
// A frame is an 8-byte header and a payload:
//
//	byte 0-1  magic "SB"
//	byte 2    protocol version (Version)
//	byte 3    frame type (Hello, DeltaFrame, StatusFrame, ResultFrame, ErrorFrame, IntervalFrame)
//	byte 4-7  payload length, big endian, at most MaxPayload
//	payload   JSON
//
// The reader checks the header before it reads the payload, and reads a
// payload into a buffer that grows with the bytes that actually arrive, so
// a hostile or corrupt length costs no allocation of its size. A frame of
// another version, an unknown type, a payload over MaxPayload or one that
// does not decode is an error naming what is wrong; the stream is then
// unusable (frames have no resynchronisation marker).
package wire

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/ssebench/ssebench/reports"
)

// Version is the protocol version this package writes and reads.
const Version = 1

// MaxPayload bounds a frame's payload: 4 MiB. A Delta carries at most one
// compressed histogram per metric (a few KiB each); the result travels as
// a file path, not as its JSON.
const MaxPayload = 4 << 20

// HeaderSize is the length of a frame header.
const HeaderSize = 8

// Type is a frame's type.
type Type byte

// The frame types.
const (
	// HelloFrame opens the stream: who the worker is.
	HelloFrame Type = iota + 1
	// DeltaFrame carries a reports.Delta.
	DeltaFrame
	// StatusFrame carries the worker swarm's Status.
	StatusFrame
	// ResultFrame ends a worker's stream: where its result File is.
	ResultFrame
	// ErrorFrame ends a worker's stream: why it could not run.
	ErrorFrame
	// IntervalFrame carries a reports.HLogTick: one closed tick's
	// histograms, for the parent's --hlog. Unlike Deltas, these are never
	// folded together, so each tick arrives exactly.
	IntervalFrame
	numTypes
)

func (t Type) String() string {
	switch t {
	case HelloFrame:
		return "hello"
	case DeltaFrame:
		return "delta"
	case StatusFrame:
		return "status"
	case ResultFrame:
		return "result"
	case ErrorFrame:
		return "error"
	case IntervalFrame:
		return "interval"
	}
	return fmt.Sprintf("type %d", byte(t))
}

var magic = [2]byte{'S', 'B'}

// Hello is the first frame of a worker.
type Hello struct {
	Shard string `json:"shard"` // "I/N"
	PID   int    `json:"pid"`
}

// Status is the worker's swarm as it sees itself (for the live view).
type Status struct {
	Elapsed   time.Duration `json:"elapsed_ns"`
	StageName string        `json:"stage,omitempty"`
	Target    float64       `json:"target"`
	Active    int64         `json:"active"`
}

// Result is the last frame of a worker that ran: the path of its JSON
// result File and the exit code it will return.
type Result struct {
	Path string `json:"path"`
	Exit int    `json:"exit"`
}

// Error is the last frame of a worker that could not run.
type Error struct {
	Message string `json:"message"`
	Exit    int    `json:"exit"`
}

// Frame is one decoded frame: Type says which field is set.
type Frame struct {
	Type     Type
	Hello    *Hello
	Delta    *reports.Delta
	Status   *Status
	Result   *Result
	Error    *Error
	Interval *reports.HLogTick
}

// Writer writes frames. It is safe for concurrent use; each frame is one
// Write of the underlying writer.
type Writer struct {
	mu  sync.Mutex
	w   io.Writer
	buf bytes.Buffer
}

// NewWriter returns a Writer on w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write encodes v (a *Hello, *reports.Delta, *Status, *Result, *Error or
// *reports.HLogTick) as a frame of its type and writes it.
func (w *Writer) Write(v any) error {
	var t Type
	switch v.(type) {
	case *Hello:
		t = HelloFrame
	case *reports.Delta:
		t = DeltaFrame
	case *Status:
		t = StatusFrame
	case *Result:
		t = ResultFrame
	case *Error:
		t = ErrorFrame
	case *reports.HLogTick:
		t = IntervalFrame
	default:
		return fmt.Errorf("wire: cannot send a %T", v)
	}
	payload, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("wire: %s frame: %w", t, err)
	}
	if len(payload) > MaxPayload {
		return fmt.Errorf("wire: %s frame of %d bytes is over the %d-byte bound", t, len(payload), MaxPayload)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Reset()
	var h [HeaderSize]byte
	h[0], h[1], h[2], h[3] = magic[0], magic[1], Version, byte(t)
	binary.BigEndian.PutUint32(h[4:], uint32(len(payload)))
	w.buf.Write(h[:])
	w.buf.Write(payload)
	if _, err := w.w.Write(w.buf.Bytes()); err != nil {
		return fmt.Errorf("wire: write %s frame: %w", t, err)
	}
	return nil
}

// Reader reads frames.
type Reader struct {
	r   *bufio.Reader
	buf bytes.Buffer
	n   int // frames read
}

// NewReader returns a Reader on r.
func NewReader(r io.Reader) *Reader { return &Reader{r: bufio.NewReader(r)} }

// ErrProtocol is wrapped by every error about a malformed frame.
var ErrProtocol = errors.New("wire: bad frame")

// Next reads the next frame. At a clean end of the stream (between
// frames) it returns io.EOF; a stream cut inside a frame is
// io.ErrUnexpectedEOF; a malformed frame wraps ErrProtocol.
func (r *Reader) Next() (*Frame, error) {
	var h [HeaderSize]byte
	if _, err := io.ReadFull(r.r, h[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("wire: frame %d header: %w", r.n+1, err)
	}
	r.n++
	if h[0] != magic[0] || h[1] != magic[1] {
		return nil, fmt.Errorf("%w: frame %d: no magic (got %q)", ErrProtocol, r.n, h[:2])
	}
	if h[2] != Version {
		return nil, fmt.Errorf("%w: frame %d: protocol version %d, this ssebench speaks %d (a worker of another build?)", ErrProtocol, r.n, h[2], Version)
	}
	t := Type(h[3])
	if t < HelloFrame || t >= numTypes {
		return nil, fmt.Errorf("%w: frame %d: unknown %s", ErrProtocol, r.n, t)
	}
	size := binary.BigEndian.Uint32(h[4:])
	if size > MaxPayload {
		return nil, fmt.Errorf("%w: frame %d (%s): payload of %d bytes is over the %d-byte bound", ErrProtocol, r.n, t, size, MaxPayload)
	}
	r.buf.Reset()
	// CopyN grows the buffer as bytes arrive: a large declared size costs
	// nothing until its bytes are there.
	if _, err := io.CopyN(&r.buf, r.r, int64(size)); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("wire: frame %d (%s) payload: %w", r.n, t, err)
	}
	f := &Frame{Type: t}
	var dst any
	switch t {
	case HelloFrame:
		f.Hello = &Hello{}
		dst = f.Hello
	case DeltaFrame:
		f.Delta = &reports.Delta{}
		dst = f.Delta
	case StatusFrame:
		f.Status = &Status{}
		dst = f.Status
	case ResultFrame:
		f.Result = &Result{}
		dst = f.Result
	case ErrorFrame:
		f.Error = &Error{}
		dst = f.Error
	case IntervalFrame:
		f.Interval = &reports.HLogTick{}
		dst = f.Interval
	}
	if err := json.Unmarshal(r.buf.Bytes(), dst); err != nil {
		return nil, fmt.Errorf("%w: frame %d (%s): %w", ErrProtocol, r.n, t, err)
	}
	if r.buf.Cap() > 64<<10 { // do not keep a large buffer between frames
		r.buf = bytes.Buffer{}
	}
	return f, nil
}
