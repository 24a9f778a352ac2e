package scenarios

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Template is a string with values substituted per stream. The syntax is
// deliberately tiny: {{name}} (spaces inside the braces are allowed), where
// name is one of
//
//	stream     the stream's number, unique across the run and its shards
//	           (decimal, from 0; see Scenario.StreamNumber)
//	shard      the shard index, from 1 ("1" when not sharded)
//	random     a pseudo-random decimal uint64 drawn from load.seed and the
//	           stream number: the same on every run with the same seed
//	uuid       a version-4-shaped UUID drawn likewise
//	env.NAME   the environment variable NAME (resolved when the request is
//	           built, so secrets never sit in the Scenario); an unset
//	           variable is a validation error
//	NAME       a value extracted by the scenario's setup request
//
// There is no escape: a literal "{{" followed by a name and "}}" cannot be
// written. Anything else between {{ and }} is an error reported at load time.
//
// In a JSON request body (see ForJSON), a value that stands inside a JSON
// string literal of the template is escaped as JSON string content, so that
// a quote, a backslash or a newline in an environment variable or a setup
// value still makes a valid body; a value outside any string literal (for
// example "max_tokens": {{env.N}}) is inserted as it is.
// The zero Template is the empty string. Templates are immutable and safe
// for concurrent use.
type Template struct {
	src   string
	parts []tpart
}

type tkind uint8

const (
	tLit tkind = iota
	tStream
	tShard
	tRandom
	tUUID
	tEnv
	tVar
)

type tpart struct {
	kind tkind
	s    string // literal text, env name or variable name
	json bool   // expand as JSON string content (inside a string literal of a JSON body)
}

// builtinNames are the template names that are not setup variables.
var builtinNames = []string{"stream", "shard", "random", "uuid"}

// ParseTemplate parses s. The error names the offending {{...}}.
func ParseTemplate(s string) (Template, error) {
	t := Template{src: s}
	rest := s
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			break
		}
		j := strings.Index(rest[i+2:], "}}")
		if j < 0 {
			return Template{}, fmt.Errorf("unclosed %q", clip(rest[i:], 20))
		}
		if i > 0 {
			t.parts = append(t.parts, tpart{kind: tLit, s: rest[:i]})
		}
		name := strings.TrimSpace(rest[i+2 : i+2+j])
		p, err := templatePart(name)
		if err != nil {
			return Template{}, fmt.Errorf("{{%s}}: %w", rest[i+2:i+2+j], err)
		}
		t.parts = append(t.parts, p)
		rest = rest[i+2+j+2:]
	}
	if rest != "" {
		t.parts = append(t.parts, tpart{kind: tLit, s: rest})
	}
	return t, nil
}

func templatePart(name string) (tpart, error) {
	switch name {
	case "stream":
		return tpart{kind: tStream}, nil
	case "shard":
		return tpart{kind: tShard}, nil
	case "random":
		return tpart{kind: tRandom}, nil
	case "uuid":
		return tpart{kind: tUUID}, nil
	}
	if env, ok := strings.CutPrefix(name, "env."); ok {
		if !isIdent(env) {
			return tpart{}, fmt.Errorf("%q is not an environment variable name", env)
		}
		return tpart{kind: tEnv, s: env}, nil
	}
	if !isIdent(name) {
		return tpart{}, errors.New("not a template value (want stream, shard, random, uuid, env.NAME or a setup extract name)")
	}
	return tpart{kind: tVar, s: name}, nil
}

// isIdent reports whether s is an identifier: a letter or '_', then
// letters, digits or '_'. Setup extract names and environment variable
// names (env.NAME) follow this one rule.
func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		case i > 0 && '0' <= c && c <= '9':
		default:
			return false
		}
	}
	return true
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// String returns the template's source text.
func (t Template) String() string { return t.src }

// Static reports whether the template has no {{...}} values.
func (t Template) Static() bool {
	for _, p := range t.parts {
		if p.kind != tLit {
			return false
		}
	}
	return true
}

// Vars returns the names of the setup variables the template uses.
func (t Template) Vars() []string {
	var names []string
	for _, p := range t.parts {
		if p.kind == tVar {
			names = append(names, p.s)
		}
	}
	return names
}

// Env returns the names of the environment variables the template uses.
func (t Template) Env() []string {
	var names []string
	for _, p := range t.parts {
		if p.kind == tEnv {
			names = append(names, p.s)
		}
	}
	return names
}

// Vars are the per-stream values a Template expands. Build them with
// Scenario.Vars.
type Vars struct {
	// Stream is the stream's number, unique across the run and its shards.
	Stream uint64
	// Shard is the shard index, from 1.
	Shard int
	// Seed is the run's seed (Load.Seed).
	Seed uint64
	// Values are the setup request's extracted values, by name.
	Values map[string]string
	// Getenv looks environment variables up; nil means os.Getenv.
	Getenv func(string) string
}

// Random returns the stream's pseudo-random value: a pure function of Seed
// and Stream.
func (v *Vars) Random() uint64 { return mix(v.Seed, v.Stream, 0x72616e646f6d) }

// Expand appends the expanded template to dst and returns the result.
// Unknown setup variables expand to the empty string (Validate rejects
// them up front).
func (t Template) Expand(dst []byte, v *Vars) []byte {
	for _, p := range t.parts {
		switch p.kind {
		case tLit:
			dst = append(dst, p.s...)
		case tStream:
			dst = strconv.AppendUint(dst, v.Stream, 10)
		case tShard:
			dst = strconv.AppendInt(dst, int64(v.Shard), 10)
		case tRandom:
			dst = strconv.AppendUint(dst, v.Random(), 10)
		case tUUID:
			dst = appendUUID(dst, mix(v.Seed, v.Stream, 0x75756964), mix(v.Seed, v.Stream, 0x75756965))
		case tEnv:
			get := v.Getenv
			if get == nil {
				get = os.Getenv
			}
			dst = appendValue(dst, get(p.s), p.json)
		case tVar:
			dst = appendValue(dst, v.Values[p.s], p.json)
		}
	}
	return dst
}

// ForJSON returns the template of a JSON document: its env and setup values
// that stand inside a JSON string literal of the template's text are
// escaped as JSON string content when expanded (the other values, numbers
// and UUIDs, never need it). It follows the string literals of the
// literal text only: a value is assumed not to open or close one.
func (t Template) ForJSON() Template {
	out := Template{src: t.src, parts: make([]tpart, len(t.parts))}
	inString, escaped := false, false
	for i, p := range t.parts {
		if p.kind == tLit {
			for j := 0; j < len(p.s); j++ {
				switch c := p.s[j]; {
				case escaped:
					escaped = false
				case c == '\\' && inString:
					escaped = true
				case c == '"':
					inString = !inString
				}
			}
		} else {
			p.json = inString && (p.kind == tEnv || p.kind == tVar)
		}
		out.parts[i] = p
	}
	return out
}

// appendValue appends a value, escaped as JSON string content when esc is
// set: quote, backslash and control characters as JSON escapes, invalid
// UTF-8 as U+FFFD (as encoding/json does).
func appendValue(dst []byte, v string, esc bool) []byte {
	if !esc {
		return append(dst, v...)
	}
	const hex = "0123456789abcdef"
	for i := 0; i < len(v); {
		c := v[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20 || c == 0x7f:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(v[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, "\\ufffd"...)
		} else {
			dst = append(dst, v[i:i+size]...)
		}
		i += size
	}
	return dst
}

// ExpandString is Expand into a new string.
func (t Template) ExpandString(v *Vars) string {
	if len(t.parts) == 1 && t.parts[0].kind == tLit {
		return t.parts[0].s
	}
	return string(t.Expand(nil, v))
}

func appendUUID(dst []byte, hi, lo uint64) []byte {
	const hex = "0123456789abcdef"
	hi = hi&^(0xf<<12) | 0x4<<12 // version 4
	lo = lo&^(0x3<<62) | 0x2<<62 // RFC 4122 variant
	var b [16]byte
	for i := range 8 {
		b[i] = byte(hi >> (56 - 8*i))
		b[8+i] = byte(lo >> (56 - 8*i))
	}
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hex[c>>4], hex[c&0xf])
	}
	return dst
}

// splitmix64 is SplitMix64's output function: a bijective mix of x.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// mix derives an independent pseudo-random value from (seed, n) for the
// purpose named by salt.
func mix(seed, n, salt uint64) uint64 {
	return splitmix64(seed ^ splitmix64(n^splitmix64(salt)))
}
