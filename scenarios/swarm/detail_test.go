package swarm

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/ssebench/ssebench/scenarios"
)

// TestTLSDetail: a server whose certificate the client does not trust
// fails every attempt as tls with the x509 reason and the way around it,
// on the direct path and over the Transport; Probe fails the same way
// before the run, and passes with insecure.
func TestTLSDetail(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeEvents(w, "data: x\n\n")
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	srv.StartTLS()
	defer srv.Close()
	const want = "x509: certificate signed by unknown authority (use --insecure, or SSL_CERT_FILE=ca.pem to trust the CA)"
	yaml := "url: " + srv.URL + "/\nload: {rate: 1/m}\nduration: 10ms\nevents: generic\n"
	for _, path := range []string{"direct", "transport"} {
		t.Run(path, func(t *testing.T) {
			s, err := New(scenario(t, yaml), Options{SharedTransport: path == "transport"})
			if err != nil {
				t.Fatal(err)
			}
			var ue *UnreachableError
			if err := s.Probe(t.Context()); !errors.As(err, &ue) || !ue.TLS || !strings.Contains(err.Error(), want) {
				t.Errorf("Probe: %v, want a TLS UnreachableError saying %q", err, want)
			}
			c := collect(t, t.Context(), s)
			e := c.ends()[0]
			if e.Err != scenarios.ErrTLS || e.Detail != want {
				t.Errorf("end: %v %q, want tls %q", e.Err, e.Detail, want)
			}
			if !strings.Contains(e.Sample, "x509") {
				t.Errorf("sample %q, want the full error", e.Sample)
			}
		})
	}
	s, err := New(scenario(t, yaml+"insecure: true\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Probe(t.Context()); err != nil {
		t.Errorf("Probe with insecure: %v", err)
	}
}

// TestProbeRefused: a closed loopback port is unreachable at start.
func TestProbeRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s, err := New(scenario(t, "url: http://"+addr+"/\nload: {rate: 1/m}\nduration: 10ms\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ue *UnreachableError
	if err := s.Probe(context.Background()); !errors.As(err, &ue) || ue.TLS || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("Probe: %v, want unreachable (connection refused)", err)
	}
}

// TestResponseHeadTooLarge: a response head over 1 MiB fails the attempt
// with a Detail saying so, on both paths (it was a bare reset).
func TestResponseHeadTooLarge(t *testing.T) {
	for _, path := range []string{"direct", "transport"} {
		t.Run(path, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := serveRaw(t, func(c net.Conn, br *bufio.Reader) {
					if !readRequest(br) {
						return
					}
					io.WriteString(c, sseHead)
					line := "X-Filler: " + strings.Repeat("f", 1000) + "\r\n"
					for range 1100 {
						if _, err := io.WriteString(c, line); err != nil {
							return
						}
					}
					io.WriteString(c, "\r\n")
				})
				s, err := New(scenario(t, one("events: generic\n")), Options{Dial: m.Dial, SharedTransport: path == "transport"})
				if err != nil {
					t.Fatal(err)
				}
				c := collect(t, t.Context(), s)
				if e := c.ends()[0]; e.Err != scenarios.ErrReset || e.Detail != "response head over 1 MiB" {
					t.Errorf("end: %v %q, want reset %q", e.Err, e.Detail, "response head over 1 MiB")
				}
			})
		})
	}
}

// TestFailureTextsScrubbed: a 401 whose body echoes the request's API key
// and token keeps the status as Detail and the body as Sample, with the
// secrets replaced.
func TestFailureTextsScrubbed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := serveMem(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":"bad key `+r.Header.Get("X-Api-Key")+` for `+r.Header.Get("Authorization")+` at `+r.URL.String()+`"}`)
		}))
		c := runMem(t, m, scenario(t, one("url: http://sse.test/v1/stream?api_key=qu3ry-s3cret\nevents: generic\n"+credentialHeaders)))
		e := c.ends()[0]
		if e.Err != scenarios.ErrHTTPStatus || e.Status != 401 || e.Detail != "HTTP 401 Unauthorized" {
			t.Fatalf("end: %v %d %q", e.Err, e.Status, e.Detail)
		}
		if !strings.HasPrefix(e.Sample, `{"error":"bad key REDACTED for`) {
			t.Errorf("sample %q, want the body with the key redacted", e.Sample)
		}
		for _, s := range []string{"k3y-value", "s3cr3t-token", "qu3ry-s3cret"} {
			if strings.Contains(e.Sample, s) {
				t.Errorf("sample %q holds the secret %q", e.Sample, s)
			}
		}
	})
}
