// Package secret is ssebench's one rule for what is a secret and how it is
// kept out of every output: reports (text, JSON, HTML, JUnit), the live
// view, error messages, and requests that follow a redirect to another
// origin. Every command uses it; no other package decides what is secret.
//
// # What is a secret
//
// A header, query parameter or JSON field is secret when its name says so
// (IsName): one of its words, split at punctuation and at camelCase
// boundaries and compared case-insensitively, is one of auth,
// authorization, token, secret, password, passwd, pwd, pass, passphrase,
// key, apikey, cookie, signature, sig, credential(s), jwt, bearer, session,
// sessionid, sid, code, otp, csrf or xsrf; or a word is a run-together
// compound that ends in token, secret, password, passwd, apikey, sessionid
// or cookie, or starts with auth (authtoken, accesstoken, xauthtoken).
// Names such as max_tokens, keyword or author are not secret. Besides the
// names, the user information of a URL (user:password@) is always secret.
//
// Redacted values become the text REDACTED. A Redactor also remembers the
// secret values it was shown, so that a message built by someone else
// (an error of net/http that quotes a URL, a server's echo of a header)
// is scrubbed of them too.
//
// # Redirects
//
// A request that follows a redirect to another origin (scheme, host and
// port, the default port filled in, compared as the Fetch Standard's
// "same origin", https://fetch.spec.whatwg.org/#http-redirect-fetch) must
// not carry credentials there: DropCredentials removes Authorization,
// Proxy-Authorization, Cookie and every header whose name IsName. A chain
// is followed at most MaxRedirects hops, the Fetch Standard's limit, which
// browsers' EventSource applies.
package secret

import (
	"net/http"
	"net/url"
	"sort"
	"strings"
	"unicode"
)

// MaxRedirects is the most redirects one request follows, as fetch does
// ("If request's redirect count is 20, then return a network error",
// https://fetch.spec.whatwg.org/#http-redirect-fetch): the swarm and
// conform both stop there, so neither judges a chain that a browser
// follows as broken.
const MaxRedirects = 20

// Redacted is the text that replaces a secret.
const Redacted = "REDACTED"

// words are the secret words: a name one of whose words is here is secret.
var words = map[string]bool{
	"auth": true, "authorization": true, "token": true, "secret": true, "password": true,
	"passwd": true, "pwd": true, "pass": true, "passphrase": true, "key": true, "apikey": true,
	"cookie": true, "signature": true, "sig": true, "credential": true, "credentials": true,
	"jwt": true, "bearer": true, "session": true, "sessionid": true, "sid": true, "code": true,
	"otp": true, "csrf": true, "xsrf": true,
}

// suffixes mark run-together compounds (accesstoken, clientsecret).
var suffixes = []string{"token", "secret", "password", "passwd", "apikey", "sessionid", "cookie"}

// authCompounds are what may follow "auth" in a run-together word
// (authtoken, authkey); "author" and "authority" are not secrets.
var authCompounds = []string{"token", "key", "code", "header", "n", "z", "orization", "secret"}

// IsName reports whether a header, query parameter or JSON field named
// name carries a secret, by the rule in the package documentation.
func IsName(name string) bool {
	for _, w := range splitWords(name) {
		if isSecretWord(w) {
			return true
		}
	}
	return false
}

func isSecretWord(w string) bool {
	if words[w] {
		return true
	}
	for _, s := range suffixes {
		if len(w) > len(s) && strings.HasSuffix(w, s) {
			return true
		}
	}
	if rest, ok := strings.CutPrefix(w, "auth"); ok {
		for _, c := range authCompounds {
			if rest == c {
				return true
			}
		}
	}
	return false
}

// splitWords lower-cases name and splits it into words at every character
// that is not a letter or digit and at camelCase boundaries ("accessToken"
// -> access, token; "XAuthToken" -> x, auth, token; "APIKey" -> api, key).
func splitWords(name string) []string {
	var out []string
	rs := []rune(name)
	start := -1
	flush := func(end int) {
		if start >= 0 && end > start {
			out = append(out, strings.ToLower(string(rs[start:end])))
		}
		start = -1
	}
	for i, r := range rs {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			flush(i)
			continue
		}
		if start < 0 {
			start = i
			continue
		}
		prev := rs[i-1]
		switch {
		case unicode.IsUpper(r) && unicode.IsLower(prev):
			// fooBar: a word starts at B.
			flush(i)
			start = i
		case unicode.IsUpper(prev) && unicode.IsUpper(r) && i+1 < len(rs) && unicode.IsLower(rs[i+1]):
			// APIKey: a word starts at K.
			flush(i)
			start = i
		}
	}
	flush(len(rs))
	return out
}

// URL returns raw with its user information and the values of its secret
// query parameters replaced by Redacted. It works on text, not on a parsed
// URL, so it keeps template placeholders ({{...}}) and also redacts URLs
// that do not parse (a malformed --target still must not echo its
// password).
func URL(raw string) string {
	base, query, hasQuery := strings.Cut(raw, "?")
	frag := ""
	if hasQuery {
		query, frag, _ = strings.Cut(query, "#")
		if frag != "" {
			frag = "#" + frag
		}
	}
	if scheme, rest, ok := strings.Cut(base, "://"); ok {
		host, path := rest, ""
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			host, path = rest[:i], rest[i:]
		}
		if i := strings.LastIndexByte(host, '@'); i >= 0 {
			host = Redacted + "@" + host[i+1:]
		}
		base = scheme + "://" + host + path
	} else if i := strings.IndexByte(base, '@'); i >= 0 && !strings.ContainsAny(base[:i], "/") {
		// host-less "user:pass@host" as a bare authority.
		base = Redacted + "@" + base[i+1:]
	}
	if !hasQuery {
		return base
	}
	parts := strings.Split(query, "&")
	for i, p := range parts {
		k, _, ok := strings.Cut(p, "=")
		name, err := url.QueryUnescape(k)
		if err != nil {
			name = k
		}
		if ok && IsName(name) {
			parts[i] = k + "=" + Redacted
		}
	}
	return base + "?" + strings.Join(parts, "&") + frag
}

// IsCredentialHeader reports whether a request header carries credentials:
// Authorization, Proxy-Authorization, Cookie, or a name IsName flags
// (X-Api-Key, X-AuthToken, ...).
func IsCredentialHeader(name string) bool {
	switch http.CanonicalHeaderKey(name) {
	case "Authorization", "Proxy-Authorization", "Cookie":
		return true
	}
	return IsName(name)
}

// DropCredentials removes every credential header (IsCredentialHeader)
// from h and returns their canonical names, sorted.
func DropCredentials(h http.Header) []string {
	var dropped []string
	for k := range h {
		if IsCredentialHeader(k) {
			dropped = append(dropped, http.CanonicalHeaderKey(k))
			delete(h, k)
		}
	}
	sort.Strings(dropped)
	return dropped
}

// SameOrigin reports whether a and b have the same origin: scheme, host
// (case-insensitive) and port, with the scheme's default port filled in.
func SameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) &&
		strings.EqualFold(a.Hostname(), b.Hostname()) &&
		portOf(a) == portOf(b)
}

func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "ws":
		return "80"
	case "https", "wss":
		return "443"
	}
	return ""
}

// Redactor scrubs text of secrets: every URL in it (see URL) and every
// secret value it was told of. The zero value is ready to use; it is not
// safe for concurrent Add, but String may be called concurrently once the
// values are added.
type Redactor struct {
	values []string
}

// minValue is the shortest value a Redactor replaces inside free text:
// shorter ones ("1", "on") would mangle messages without protecting
// anything worth the name.
const minValue = 4

// Add remembers a secret value. An "Authorization: Bearer X" value
// remembers X too.
func (r *Redactor) Add(v string) {
	v = strings.TrimSpace(v)
	if len(v) < minValue {
		return
	}
	for _, have := range r.values {
		if have == v {
			return
		}
	}
	r.values = append(r.values, v)
	if scheme, rest, ok := strings.Cut(v, " "); ok && len(scheme) < 16 {
		r.Add(rest)
	}
	// Longer values first, so a value that holds another is replaced whole.
	sort.SliceStable(r.values, func(i, j int) bool { return len(r.values[i]) > len(r.values[j]) })
}

// AddHeader remembers the value of a credential header.
func (r *Redactor) AddHeader(name, value string) {
	if IsCredentialHeader(name) {
		r.Add(value)
	}
}

// AddURL remembers the secrets of a URL: its user information (the
// password, and the whole user:password) and its secret query values.
func (r *Redactor) AddURL(raw string) {
	base, query, _ := strings.Cut(raw, "?")
	query, _, _ = strings.Cut(query, "#")
	if _, rest, ok := strings.Cut(base, "://"); ok {
		host, _, _ := strings.Cut(rest, "/")
		if i := strings.LastIndexByte(host, '@'); i >= 0 {
			ui := host[:i]
			r.Add(ui)
			if _, pw, ok := strings.Cut(ui, ":"); ok {
				r.Add(pw)
				if u, err := url.PathUnescape(pw); err == nil {
					r.Add(u)
				}
			}
		}
	}
	for _, p := range strings.Split(query, "&") {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		if name, err := url.QueryUnescape(k); err == nil && IsName(name) {
			r.Add(v)
			if u, err := url.QueryUnescape(v); err == nil {
				r.Add(u)
			}
		}
	}
}

// String returns s with every URL in it redacted (see URL) and every
// remembered secret value replaced by Redacted.
func (r *Redactor) String(s string) string {
	s = urlsIn(s)
	if r == nil {
		return s
	}
	for _, v := range r.values {
		if strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, Redacted)
		}
	}
	return s
}

// urlsIn redacts every http:// or https:// URL in s; a URL runs to the
// next space, quote, angle bracket or control character.
func urlsIn(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	var b strings.Builder
	for {
		i := indexScheme(s)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		s = s[i:]
		end := strings.IndexFunc(s, func(r rune) bool {
			return r <= ' ' || r == '"' || r == '\'' || r == '<' || r == '>' || r == '`' || r == 0x7f
		})
		if end < 0 {
			end = len(s)
		}
		b.WriteString(URL(s[:end]))
		s = s[end:]
	}
}

// indexScheme returns the index of the first "http://" or "https://" in s
// (case-insensitive), or -1.
func indexScheme(s string) int {
	l := strings.ToLower(s)
	i, j := strings.Index(l, "http://"), strings.Index(l, "https://")
	switch {
	case i < 0:
		return j
	case j < 0:
		return i
	}
	return min(i, j)
}
