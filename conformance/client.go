package conformance

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/ssebench/ssebench/conformance/checks"
	"github.com/ssebench/ssebench/scenarios/secret"
)

// MaxRedirects is how many redirects a request follows before it fails,
// as a browser's EventSource does (secret.MaxRedirects, fetch's limit).
const MaxRedirects = secret.MaxRedirects

// errTooManyRedirects ends a request that was redirected MaxRedirects
// times.
var errTooManyRedirects = fmt.Errorf("stopped after %d redirects (a browser gives up there too)", MaxRedirects)

// newClient returns the prober's HTTP client: no overall timeout (reads
// are bounded by contexts), a 10s dial and TLS handshake timeout, HTTP/2
// when the server offers it, no transparent decompression (the prober
// sends Accept-Encoding: gzip itself and decodes, to time both sides), and
// the TLS trust of cfg (--insecure, --ca-cert). The CA file was checked by
// Validate.
func newClient(cfg Config) (*http.Client, error) {
	tc := &tls.Config{InsecureSkipVerify: cfg.Insecure} //nolint:gosec // --insecure asks for it
	if cfg.CACertFile != "" {
		pool, err := loadCAs(cfg.CACertFile)
		if err != nil {
			return nil, err
		}
		tc.RootCAs = pool
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		TLSClientConfig:       tc,
		TLSHandshakeTimeout:   10 * time.Second,
		DisableCompression:    true,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       30 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{Transport: tr}, nil
}

// loadCAs reads a PEM file of CA certificates: every block must be a
// CERTIFICATE that parses, and there must be at least one.
func loadCAs(name string) (*x509.CertPool, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("--ca-cert: %w", err)
	}
	pool := x509.NewCertPool()
	n := 0
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		n++
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("--ca-cert %s: PEM block %d is a %q, not a CERTIFICATE", name, n, b.Type)
		}
		cert, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("--ca-cert %s: certificate %d: %w", name, n, err)
		}
		pool.AddCert(cert)
	}
	if n == 0 {
		return nil, fmt.Errorf("--ca-cert %s: no PEM certificate in the file (want -----BEGIN CERTIFICATE----- blocks)", name)
	}
	return pool, nil
}

// requestBodyHeaders are the headers a redirect that turns the request
// into a GET without a body removes (the Fetch Standard's "request-body-
// header names").
var requestBodyHeaders = []string{"Content-Encoding", "Content-Language", "Content-Location", "Content-Type"}

// followRedirects returns client with a redirect policy that follows
// redirects as a browser's fetch does and records each hop in c: at most
// MaxRedirects; a hop to another origin (scheme, host or port) drops every
// credential header for the rest of the chain (the Fetch Standard removes
// Authorization there; ssebench removes every header secret.IsCredentialHeader
// names, since it cannot know which of them a server treats as one); a
// redirect that turns a POST into a GET drops the body headers.
func followRedirects(client *http.Client, c *checks.Capture) *http.Client {
	cl := *client
	cl.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > MaxRedirects {
			return errTooManyRedirects
		}
		prev := via[len(via)-1]
		hop := checks.Redirect{
			From: secret.URL(prev.URL.String()), To: secret.URL(req.URL.String()),
			CrossOrigin: !secret.SameOrigin(prev.URL, req.URL), Method: req.Method,
		}
		if req.Response != nil {
			hop.Status = req.Response.StatusCode
		}
		crossed := hop.CrossOrigin
		for _, h := range c.Redirects {
			crossed = crossed || h.CrossOrigin
		}
		if crossed {
			hop.Dropped = secret.DropCredentials(req.Header)
		}
		if req.Method != prev.Method && req.Body == nil {
			for _, h := range requestBodyHeaders {
				req.Header.Del(h)
			}
		}
		c.Redirects = append(c.Redirects, hop)
		return nil
	}
	return &cl
}
