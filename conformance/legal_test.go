package conformance

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// legalServer serves streams that are legal but unusual, to show that the
// checks do not cry wolf on them. It is a small resumable server written
// for this test only (the mock server is the other, independent one): n
// events with ids 0..n-1, one every 20ms, Last-Event-ID: k resumes at k+1,
// the final id gets 204, an unknown id gets 400 with a JSON error.
//
// The variant is the path: /bom (a leading BOM), /nospace (data: without
// the space), /multiline (multi-line data, a comment inside the block, an
// event split over several writes), /slow (the first event of every
// connection comes after 1.2s, with a comment every 200ms until then).
type legalServer struct{ n int }

func (ls legalServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	variant := strings.TrimPrefix(r.URL.Path, "/")
	from := 0
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		k, err := strconv.Atoi(id)
		if err != nil || k < 0 || k >= ls.n {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"unknown Last-Event-ID"}`))
			return
		}
		if k == ls.n-1 {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		from = k + 1
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Access-Control-Allow-Origin", "*")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	write := func(s string) bool {
		if _, err := w.Write([]byte(s)); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	head := "retry: 2000\n\n"
	if variant == "bom" && from == 0 {
		head = "\xEF\xBB\xBF" + head
	}
	if !write(head) {
		return
	}
	for i := from; i < ls.n; i++ {
		wait := 20 * time.Millisecond
		if variant == "slow" && i == from {
			for range 6 {
				select {
				case <-r.Context().Done():
					return
				case <-time.After(200 * time.Millisecond):
				}
				if !write(": waiting\n\n") {
					return
				}
			}
		}
		select {
		case <-r.Context().Done():
			return
		case <-time.After(wait):
		}
		id := strconv.Itoa(i)
		var parts []string
		switch variant {
		case "nospace":
			parts = []string{"id:" + id + "\nevent:tick\ndata:{\"n\":" + id + "}\n\n"}
		case "multiline":
			// One event in three writes: a client must wait for the empty
			// line before it dispatches.
			parts = []string{"id: " + id + "\ndata: line one of " + id + "\n", ": a comment inside the block\ndata:\n", "data:  two spaces kept\n\n"}
		default:
			parts = []string{"id: " + id + "\ndata: event " + id + "\n\n"}
		}
		for _, p := range parts {
			if !write(p) {
				return
			}
		}
	}
}
