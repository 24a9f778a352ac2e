package mockserver

import (
	"container/list"
	"errors"
	"sync"
)

// errQueueFull is returned by slots.enter when QueueMax streams already wait.
var errQueueFull = errors.New("all slots busy and the queue is full")

// slots is a counting semaphore with a FIFO queue whose depth is observable,
// the way an inference server's parallel slots behave. A nil *slots means
// unlimited. It is safe for concurrent use.
type slots struct {
	mu       sync.Mutex
	capacity int
	queueMax int
	busy     int
	queue    list.List // of *slotTicket, oldest first
	onChange func(busy, queued int)
}

// slotTicket is one stream's claim: granted at once, or queued until a slot
// frees. ready is closed when the slot is granted.
type slotTicket struct {
	s       *slots
	ready   chan struct{}
	elem    *list.Element
	granted bool
	done    bool
}

func newSlots(capacity, queueMax int, onChange func(busy, queued int)) *slots {
	if capacity <= 0 {
		return nil
	}
	return &slots{capacity: capacity, queueMax: queueMax, onChange: onChange}
}

// enter claims a slot or a place in the queue, without blocking. The
// returned ticket must be released exactly once.
func (s *slots) enter() (*slotTicket, error) {
	if s == nil {
		return nil, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := &slotTicket{s: s}
	if s.busy < s.capacity {
		s.busy++
		t.granted = true
	} else {
		if s.queueMax > 0 && s.queue.Len() >= s.queueMax {
			return nil, errQueueFull
		}
		t.ready = make(chan struct{})
		t.elem = s.queue.PushBack(t)
	}
	s.changed()
	return t, nil
}

// wait returns a channel closed once the slot is granted (nil when it
// already is).
func (t *slotTicket) wait() <-chan struct{} {
	if t == nil {
		return nil
	}
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	if t.granted {
		return nil
	}
	return t.ready
}

// release gives the slot (or the place in the queue) back. A freed slot goes
// straight to the oldest waiter. Calling release again does nothing.
func (t *slotTicket) release() {
	if t == nil {
		return
	}
	s := t.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.done {
		return
	}
	t.done = true
	if !t.granted {
		s.queue.Remove(t.elem)
		s.changed()
		return
	}
	if front := s.queue.Front(); front != nil {
		next := s.queue.Remove(front).(*slotTicket)
		next.granted = true
		close(next.ready)
	} else {
		s.busy--
	}
	s.changed()
}

func (s *slots) changed() {
	if s.onChange != nil {
		s.onChange(s.busy, s.queue.Len())
	}
}
