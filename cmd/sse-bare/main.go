// Command sse-bare is the yardstick of .ci/bench-swarm.sh: the least a Go
// client can do to read Server-Sent Events. It keeps N streams open with
// plain net/http GETs, reads each body line by line with bufio, counts the
// events that carried data (a "data:" line, then the empty line that
// dispatches it) and, after the duration, prints its event rate and its own
// memory (VmRSS and VmHWM from /proc/self/status). No parsing beyond that, no
// metrics, no dependencies: ssebench's swarm, which parses spec-exactly on
// its own HTTP path, must read at least as many events per CPU-second.
//
//	sse-bare -url http://127.0.0.1:8080/v1/stream -n 200 -d 10s
//
// Output is one line of JSON on stdout, e.g.
//
//	{"streams":200,"events":4123456,"seconds":10.0002,"started_unix":1796000000.25,"events_per_s":412345.6,"errors":0,"rss_kib":51200,"hwm_kib":53000}
//
// started_unix and seconds are the window the events were counted in
// (wall clock), so that a caller sampling this process's CPU time from
// /proc can measure it over the same window.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:8080/v1/stream", "stream URL (GET)")
	n := flag.Int("n", 100, "concurrent streams; a stream that ends is reopened")
	d := flag.Duration("d", 10*time.Second, "how long to read")
	flag.Parse()
	if *n < 1 || *d <= 0 {
		fmt.Fprintln(os.Stderr, "sse-bare: -n must be >= 1 and -d > 0")
		os.Exit(2)
	}

	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        *n,
		MaxIdleConnsPerHost: *n,
		DisableCompression:  true,
	}
	client := &http.Client{Transport: tr}

	ctx, cancel := context.WithTimeout(context.Background(), *d)
	defer cancel()
	var events, errs atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range *n {
		wg.Go(func() {
			for ctx.Err() == nil {
				ev, err := stream(ctx, client, *url)
				events.Add(ev)
				if err != nil && ctx.Err() == nil {
					errs.Add(1)
					select { // do not spin on a dead server
					case <-ctx.Done():
					case <-time.After(100 * time.Millisecond):
					}
				}
			}
		})
	}
	<-ctx.Done()
	secs := time.Since(start).Seconds()
	wg.Wait() // each stream adds its count when it returns
	total := events.Load()

	rss, hwm := memory()
	out := map[string]any{
		"streams": *n, "events": total, "seconds": secs,
		"started_unix": float64(start.UnixNano()) / 1e9,
		"events_per_s": round1(float64(total) / secs), "errors": errs.Load(),
		"rss_kib": rss, "hwm_kib": hwm,
	}
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(out); err != nil {
		os.Exit(1)
	}
}

// stream reads one stream until it ends or ctx is done and returns the
// number of data events dispatched.
func stream(ctx context.Context, client *http.Client, url string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return 0, fmt.Errorf("status %d", resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	var n int64
	hasData := false
	for sc.Scan() {
		line := sc.Bytes()
		switch {
		case len(line) == 0 || (len(line) == 1 && line[0] == '\r'):
			if hasData {
				n++
			}
			hasData = false
		case bytes.HasPrefix(line, []byte("data:")) || bytes.Equal(line, []byte("data")):
			hasData = true
		}
	}
	return n, sc.Err()
}

// memory returns VmRSS and VmHWM of this process in KiB (0 when /proc is
// not available).
func memory() (rss, hwm int64) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		x, _ := strconv.ParseInt(f[0], 10, 64)
		switch k {
		case "VmRSS":
			rss = x
		case "VmHWM":
			hwm = x
		}
	}
	return rss, hwm
}

func round1(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }
