package swarm

import (
	"context"
	"io"
	"runtime"
	"strconv"
	"sync"
	"testing"
)

// pacedSource is a body that hands over one event per Read, blocking in
// between, as a socket does when a server writes an event every 100 ms:
// every event wakes the reader's goroutine, after the others have run.
// Before it blocks, a Read says so on ready (room for one word): the
// driver waits for that, so one reader runs at a time, in a fixed order,
// and each event costs the same two goroutine switches in every run.
type pacedSource struct {
	ch    chan []byte   // one event's bytes per receive; closed: EOF
	ready chan struct{} // a Read is about to block for the next event
	cur   []byte
}

func (p *pacedSource) Read(b []byte) (int, error) {
	if len(p.cur) == 0 {
		p.ready <- struct{}{}
		ev, ok := <-p.ch
		if !ok {
			return 0, io.EOF
		}
		p.cur = ev
	}
	n := copy(b, p.cur)
	p.cur = p.cur[n:]
	return n, nil
}

// pacedEvents are the events the mock sends at a paced load (its default
// EventSource shape: a type, an id, one word), made once, so that handing
// one over costs a channel send, not its making.
func pacedEvents(n int) [][]byte {
	evs := make([][]byte, n)
	for i := range evs {
		e := append([]byte("event: add\nid: "), strconv.Itoa(i+1)...)
		evs[i] = append(e, "\ndata: "+staticWords[i%len(staticWords)]+"\n\n"...)
	}
	return evs
}

// benchPaced hands b.N events round robin to streams readers, each on its
// own goroutine, one event per wake-up: the user-space half of
// .ci/bench-swarm.sh's paced figure (the kernel's read path, the same for
// both clients there, is left out). With thousands of streams the state a
// reader touches after waking has left the caches, as it has at a paced
// load; start returns the reader for stream i, which reads src until EOF
// (after a finish event) and reports its data events, or -1 when it
// ended otherwise than well.
func benchPaced(b *testing.B, streams int, start func(i int, src io.Reader) func() int64) {
	const cycle = 4096
	evs := pacedEvents(cycle)
	srcs := make([]*pacedSource, streams)
	counts := make([]int64, streams)
	var wg sync.WaitGroup
	for i := range srcs {
		srcs[i] = &pacedSource{ch: make(chan []byte), ready: make(chan struct{}, 1)}
		run := start(i, srcs[i])
		wg.Add(1)
		go func() {
			defer wg.Done()
			counts[i] = run()
		}()
	}
	// give hands stream k an event and waits until it has dealt with it
	// (its next Read is about to block).
	give := func(k int, ev []byte) {
		srcs[k].ch <- ev
		<-srcs[k].ready
	}
	// Every reader has read one event before the timer starts: their
	// buffers are allocated and their goroutines parked.
	for k, s := range srcs {
		<-s.ready
		give(k, evs[0])
	}
	runtime.GC() // no collection of the set-up's garbage in the timed loop
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		// Stream i%streams's next event: each stream's ids count up.
		give(i%streams, evs[(i/streams+1)%cycle])
	}
	b.StopTimer()
	finish := []byte("event: finish\ndata: {}\n\n")
	for _, s := range srcs {
		// The swarm's reader returns at the finish event, sse-bare's reads
		// on to EOF (its ready has room for that last Read's word).
		s.ch <- finish
		close(s.ch)
	}
	wg.Wait()
	var total int64
	for _, n := range counts {
		total += n
	}
	if want := int64(b.N + 2*streams); total != want { // b.N, and each stream's first and finish
		b.Fatalf("%d data events read, want %d", total, want)
	}
}

// BenchmarkPaced is the paced load without the kernel: ns per event of
// the swarm's read loop (body, sse.Reader, classification, id accounting,
// gap and ITL batches, the Results it sends) and of sse-bare's
// (bufio.Scanner over a 4 KiB bufio.Reader, counting data events), each
// event on a wake-up of its stream's goroutine, at 200 and 2,000 streams.
// Reported, not asserted; compare the two at GOMAXPROCS=1.
func BenchmarkPaced(b *testing.B) {
	for _, streams := range []int{200, 2000} {
		b.Run("swarm/streams="+strconv.Itoa(streams), func(b *testing.B) {
			s, sc, consumed := benchSwarm(b, "url: http://x.test/\nload: {connections: 1}\n", directBodyBuffer)
			benchPaced(b, streams, func(i int, src io.Reader) func() int64 {
				a, rd := benchReading(s, sc, uint64(i), src)
				return func() int64 {
					end := a.read(context.Background(), rd)
					s.send(end.res)
					if end.out != outOK {
						return -1
					}
					return a.events
				}
			})
			consumed()
		})
		b.Run("bare/streams="+strconv.Itoa(streams), func(b *testing.B) {
			benchPaced(b, streams, func(_ int, src io.Reader) func() int64 {
				sc := newBareScanner(src)
				return func() int64 { return bareEvents(sc) }
			})
		})
	}
}
