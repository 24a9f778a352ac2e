package secret

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestIsName(t *testing.T) {
	for _, n := range []string{
		"Authorization", "Proxy-Authorization", "Cookie", "X-Api-Key", "x-api-key", "api_key", "apiKey",
		"APIKey", "access_token", "accessToken", "AccessToken", "X-AuthToken", "X-Auth-Token", "xauthtoken",
		"authtoken", "token", "refresh-token", "client_secret", "clientSecret", "password", "session",
		"sessionId", "session_id", "sid", "code", "sig", "signature", "X-CSRF-Token", "jwt", "Bearer",
		"credentials", "passwd", "private_key", "X-Goog-Api-Key", "Ocp-Apim-Subscription-Key",
	} {
		if !IsName(n) {
			t.Errorf("IsName(%q) = false, want true", n)
		}
	}
	for _, n := range []string{
		"max_tokens", "maxTokens", "keyword", "author", "authority", "Accept", "Content-Type",
		"Last-Event-ID", "model", "stream", "monkey", "bypass", "tokens", "Cache-Control", "ttft", "User-Agent",
	} {
		if IsName(n) {
			t.Errorf("IsName(%q) = true, want false", n)
		}
	}
}

func TestURL(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"https://user:pw@example.com/v1?x=1", "https://REDACTED@example.com/v1?x=1"},
		{"http://h/s?session=abc&n=2&accessToken=zz", "http://h/s?session=REDACTED&n=2&accessToken=REDACTED"},
		{"http://h/s?code=1#frag", "http://h/s?code=REDACTED#frag"},
		{"http://u:p@[::1", "http://REDACTED@[::1"},                                       // does not parse
		{"http://{{env.HOST}}/x?token={{env.T}}", "http://{{env.HOST}}/x?token=REDACTED"}, // templates
		{"http://h/p?a%5Fkey=v", "http://h/p?a%5Fkey=REDACTED"},
		{"plain", "plain"},
	} {
		if got := URL(tt.in); got != tt.want {
			t.Errorf("URL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRedactorText(t *testing.T) {
	var r Redactor
	r.AddHeader("Authorization", "Bearer sk-live-123456")
	r.AddHeader("X-AuthToken", "tok-9999")
	r.AddHeader("Accept", "text/event-stream")
	r.AddURL("https://alice:s3cr%21t@example.com/x?api_key=KKKK1234")
	msg := `Get "https://alice:s3cr%21t@example.com/x?api_key=KKKK1234": server said sk-live-123456 and tok-9999; text/event-stream; s3cr!t`
	got := r.String(msg)
	for _, leak := range []string{"sk-live-123456", "tok-9999", "alice", "s3cr", "KKKK1234"} {
		if strings.Contains(got, leak) {
			t.Errorf("%q leaks %q", got, leak)
		}
	}
	if !strings.Contains(got, "text/event-stream") || !strings.Contains(got, "example.com/x") {
		t.Errorf("over-redacted: %q", got)
	}
	var nilR *Redactor
	if got := nilR.String("see http://u:p@h/"); got != "see http://REDACTED@h/" {
		t.Errorf("nil Redactor: %q", got)
	}
}

func TestSameOriginAndDrop(t *testing.T) {
	u := func(s string) *url.URL {
		p, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tt := range []struct {
		a, b string
		same bool
	}{
		{"http://h/a", "http://H:80/b", true},
		{"https://h/a", "https://h:443/b?x", true},
		{"http://h:8080/", "http://h:8081/", false},
		{"http://h/", "https://h/", false},
		{"http://a.example/", "http://b.example/", false},
		{"http://127.0.0.1/", "http://localhost/", false},
	} {
		if got := SameOrigin(u(tt.a), u(tt.b)); got != tt.same {
			t.Errorf("SameOrigin(%s, %s) = %v", tt.a, tt.b, got)
		}
	}
	h := http.Header{"Authorization": {"x"}, "Cookie": {"c"}, "X-Api-Key": {"k"}, "Accept": {"text/event-stream"}, "Last-Event-Id": {"5"}}
	d := DropCredentials(h)
	if strings.Join(d, ",") != "Authorization,Cookie,X-Api-Key" || len(h) != 2 {
		t.Errorf("dropped %v, left %v", d, h)
	}
}
