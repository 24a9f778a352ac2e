package swarm

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/ssebench/ssebench/conformance/sse"
	"github.com/ssebench/ssebench/scenarios"
	"github.com/ssebench/ssebench/scenarios/secret"
)

// Failure reasons. A failed attempt's Detail is stable, so that the
// reports can group failures by it: it never holds the client's address or
// port, stream numbers, event ids, byte offsets or times; the variable
// evidence goes to Sample. Both are scrubbed of the request's secrets
// (its credential header values, its URL's secret parts) and of URL
// secrets in general. They are built only on failure, off the per-event
// path.

// maxDetail is the most bytes of a Detail (the reports clip further).
const maxDetail = 300

// tlsHint says how to get past a certificate the client does not trust.
const tlsHint = " (use --insecure, or SSL_CERT_FILE=ca.pem to trust the CA)"

// redactor returns the scrubber of the stream's failure texts: it knows
// the secret values of the stream's request. It is built at the stream's
// first failure, from the request built again (templates are pure
// functions of the stream's values), so that no request is kept alive
// meanwhile.
func (st *stream) redactor() *secret.Redactor {
	if st.red == nil {
		req, err := st.s.req.New(context.Background(), &st.vars)
		if err != nil {
			req = nil
		}
		st.red = requestRedactor(req)
	}
	return st.red
}

// requestRedactor returns a Redactor that knows req's secrets (req may be
// nil).
func requestRedactor(req *http.Request) *secret.Redactor {
	r := &secret.Redactor{}
	if req != nil {
		for name, vals := range req.Header {
			for _, v := range vals {
				r.AddHeader(name, v)
			}
		}
		r.AddURL(req.URL.String())
	}
	return r
}

// tlsReason returns the stable reason of a TLS handshake failure: the
// x509 verdict (without the times of an expired certificate) or the TLS
// alert, with a hint when the certificate is not trusted.
func tlsReason(err error) string {
	var (
		ua x509.UnknownAuthorityError
		hn x509.HostnameError
		ci x509.CertificateInvalidError
		rh tls.RecordHeaderError
		al tls.AlertError
	)
	switch {
	case errors.As(err, &ua):
		return "x509: certificate signed by unknown authority" + tlsHint
	case errors.As(err, &hn):
		return hn.Error() + " (use --insecure, or a certificate valid for the target's host)"
	case errors.As(err, &ci):
		msg := ci.Error()
		if ci.Reason == x509.Expired {
			msg = "x509: certificate has expired or is not yet valid"
		}
		return msg + tlsHint
	case errors.As(err, &rh):
		return "tls: the server did not answer with TLS (is the target http://?)"
	case errors.As(err, &al):
		return "tls: the server refused the handshake: " + al.Error()
	}
	return "tls: " + netReason(err)
}

// netReason returns the reason of a network error without its addresses:
// the system's error text ("connection refused", "connection reset by
// peer"), a name that does not resolve, a timeout.
func netReason(err error) string {
	var (
		errno syscall.Errno
		dns   *net.DNSError
		op    *net.OpError
	)
	switch {
	case errors.As(err, &dns):
		return "lookup " + dns.Name + ": " + dns.Err
	case errors.As(err, &errno):
		return errno.Error()
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "connection closed"
	case errors.As(err, &op) && op.Timeout():
		return "i/o timeout"
	case errors.As(err, &op):
		return op.Err.Error()
	}
	return err.Error()
}

// dialDetail is the Detail of a failed dial of addr (the target's
// host:port).
func dialDetail(addr string, err error) string {
	return "connect to " + addr + ": " + netReason(err)
}

// resetDetail is the Detail of a connection that broke, before the
// response headers (resp nil) or while its body was read.
func resetDetail(err error, resp *http.Response) string {
	switch {
	case errors.Is(err, errHeaderTooLarge), err != nil && strings.Contains(err.Error(), "server response headers exceeded"):
		return "response head over 1 MiB"
	case errors.Is(err, errTruncated):
		return "compressed body cut before its end"
	case resp == nil && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)):
		return "connection closed before the response headers"
	case resp == nil && strings.HasPrefix(err.Error(), "malformed HTTP"):
		return "malformed HTTP response"
	case errors.Is(err, io.ErrUnexpectedEOF):
		switch {
		case len(resp.TransferEncoding) > 0:
			return "unexpected EOF in the chunked body"
		case resp.ContentLength >= 0:
			return "body shorter than its Content-Length"
		}
		return "unexpected EOF"
	}
	if msg := err.Error(); strings.Contains(msg, "stream error: stream ID") {
		// HTTP/2: "stream error: stream ID 3; INTERNAL_ERROR; ...": the
		// stream's id varies, its error code does not.
		msg = msg[strings.Index(msg, "stream error: "):]
		if i := strings.Index(msg, "; "); i >= 0 {
			msg = "stream error: " + msg[i+2:]
		}
		return "HTTP/2 " + msg
	}
	return netReason(err)
}

// limitDetail is the Detail of a parser limit: which one, and how to
// raise it.
func limitDetail(err error) string {
	var le *sse.LimitError
	if !errors.As(err, &le) {
		return err.Error()
	}
	key := "max_event"
	if le.What == "line" {
		key = "max_line"
	}
	return le.What + " over " + strconv.Itoa(le.Limit) + " bytes (" + key + "; raise it in the scenario)"
}

// timeoutDetail is the Detail of a deadline that passed.
func (st *stream) timeoutDetail(cls scenarios.ErrorClass) string {
	dl := st.s.sc.Deadlines
	switch cls {
	case scenarios.ErrTimeoutFirstByte:
		return "no response headers within " + dl.FirstByte.String() + " (deadlines.first_byte)"
	case scenarios.ErrTimeoutIdle:
		return "no bytes for " + dl.Idle.String() + " (deadlines.idle)"
	case scenarios.ErrTimeoutTotal:
		return "attempt open for " + dl.Total.String() + " (deadlines.total)"
	}
	return cls.String()
}

// statusDetail is the Detail of an unexpected HTTP status.
func statusDetail(resp *http.Response) string {
	s := resp.Status
	if s == "" {
		s = strconv.Itoa(resp.StatusCode)
	}
	return "HTTP " + clipString(s, 100)
}

// sampleText turns evidence bytes into a Sample: valid UTF-8, at most
// scenarios.MaxSample bytes.
func sampleText(b []byte) string {
	if len(b) > scenarios.MaxSample {
		b = b[:scenarios.MaxSample]
		for len(b) > 0 && !utf8.Valid(b) && len(b) > scenarios.MaxSample-utf8.UTFMax {
			b = b[:len(b)-1]
		}
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// bodySample reads the first bytes of a failed response's body (decoded
// when its encoding is one the swarm decodes), bounded in size and time.
func (st *stream) bodySample(h response) string {
	stop := time.AfterFunc(sampleWait, h.abort)
	defer stop.Stop()
	var src io.Reader = h.resp.Body
	var dec *decoder
	if enc := parseEncoding(h.resp.Header.Get("Content-Encoding")); enc != scenarios.EncOther {
		src, dec = newDecoder(enc, src, &st.s.decoders)
	}
	buf := make([]byte, scenarios.MaxSample)
	n, _ := io.ReadFull(src, buf)
	dec.release()
	return sampleText(buf[:n])
}

// clipString clips s to at most n bytes, on a rune boundary.
func clipString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// roundTripClass classifies an error of RoundTrip (no response).
func roundTripClass(err error, ct *connTrace) scenarios.ErrorClass {
	if ct.dialFailed.Load() {
		return scenarios.ErrDial
	}
	if ct.tlsFailed.Load() {
		return scenarios.ErrTLS
	}
	var (
		op   *net.OpError
		rh   tls.RecordHeaderError
		cv   *tls.CertificateVerificationError
		ua   x509.UnknownAuthorityError
		hn   x509.HostnameError
		ci   x509.CertificateInvalidError
		alrt tls.AlertError
	)
	switch {
	case errors.As(err, &op) && op.Op == "dial":
		return scenarios.ErrDial
	case errors.As(err, &rh), errors.As(err, &cv), errors.As(err, &ua), errors.As(err, &hn),
		errors.As(err, &ci), errors.As(err, &alrt):
		return scenarios.ErrTLS
	case ct.tlsStart.Load() != 0 && ct.tlsDone.Load() == 0:
		return scenarios.ErrTLS
	case !ct.gotConn.Load() && ct.connStart.Load() != 0 && ct.connDone.Load() == 0:
		return scenarios.ErrDial
	}
	// The connection was made and broke before the response headers.
	return scenarios.ErrReset
}

// connDetail is the Detail of a failure to get a response: a dial, a TLS
// handshake, or a connection that broke before the headers.
func connDetail(cls scenarios.ErrorClass, req *http.Request, err error) string {
	switch cls {
	case scenarios.ErrDial:
		addr, _ := directAddr(&urlParts{scheme: req.URL.Scheme, host: req.URL.Hostname(), port: req.URL.Port()})
		return dialDetail(addr, err)
	case scenarios.ErrTLS:
		return tlsReason(err)
	case scenarios.ErrReset:
		return resetDetail(err, nil)
	}
	return err.Error()
}
