package scenarios

import (
	"regexp"
	"strings"
	"testing"
)

func TestTemplate(t *testing.T) {
	v := &Vars{Stream: 42, Shard: 3, Seed: 1, Values: map[string]string{"session": "s1_abc"},
		Getenv: func(k string) string { return map[string]string{"KEY": "sk-1"}[k] }}
	tests := []struct{ src, want string }{
		{"", ""},
		{"plain", "plain"},
		{"/v1/{{stream}}", "/v1/42"},
		{"{{ stream }}-{{shard}}", "42-3"},
		{"/s/{{session}}/stream", "/s/s1_abc/stream"},
		{"Bearer {{env.KEY}}", "Bearer sk-1"},
		{"{{stream}}{{stream}}", "4242"},
		{"a { b } {c}", "a { b } {c}"},
	}
	for _, tt := range tests {
		tpl, err := ParseTemplate(tt.src)
		if err != nil {
			t.Errorf("ParseTemplate(%q): %v", tt.src, err)
			continue
		}
		if got := tpl.ExpandString(v); got != tt.want {
			t.Errorf("%q expands to %q, want %q", tt.src, got, tt.want)
		}
		if tpl.String() != tt.src {
			t.Errorf("String() = %q", tpl.String())
		}
	}
	for _, bad := range []string{"{{", "{{stream", "{{}}", "{{env.}}", "{{env.A-B}}", "{{a b}}", "{{1x}}"} {
		if _, err := ParseTemplate(bad); err == nil {
			t.Errorf("ParseTemplate(%q) accepted", bad)
		}
	}
}

func TestTemplateRandomUUID(t *testing.T) {
	tpl, _ := ParseTemplate("{{random}} {{uuid}}")
	a := tpl.ExpandString(&Vars{Stream: 1, Seed: 1})
	b := tpl.ExpandString(&Vars{Stream: 1, Seed: 1})
	c := tpl.ExpandString(&Vars{Stream: 2, Seed: 1})
	d := tpl.ExpandString(&Vars{Stream: 1, Seed: 2})
	if a != b {
		t.Errorf("not deterministic: %q vs %q", a, b)
	}
	if a == c || a == d {
		t.Errorf("stream or seed does not change the values: %q %q %q", a, c, d)
	}
	uuid := strings.Fields(a)[1]
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(uuid) {
		t.Errorf("uuid %q is not a version 4 UUID", uuid)
	}
}

func TestTemplateStatic(t *testing.T) {
	s, _ := ParseTemplate("abc")
	d, _ := ParseTemplate("a{{stream}}")
	if !s.Static() || d.Static() {
		t.Error("Static wrong")
	}
	e, _ := ParseTemplate("{{env.A}} {{x}} {{env.B}}")
	if got := strings.Join(e.Env(), ","); got != "A,B" {
		t.Errorf("Env() = %s", got)
	}
	if got := strings.Join(e.Vars(), ","); got != "x" {
		t.Errorf("Vars() = %s", got)
	}
}
