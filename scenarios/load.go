package scenarios

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

//go:embed default.yaml
var defaultYAML []byte

// DefaultFile is the name problems with the embedded default scenario are
// reported against.
const DefaultFile = "(default)"

// Default returns the embedded default scenario: GET the mock server's
// /v1/stream at http://127.0.0.1:8080 (the CLI replaces scheme and host
// with the in-process mock's address, see SetTarget), closed model, 1,000
// connections for 10 s. It is a new copy on every call.
func Default() *Scenario {
	s, err := Decode(DefaultFile, defaultYAML)
	if err == nil {
		err = s.Validate()
	}
	if err != nil {
		panic("scenarios: the embedded default scenario is invalid: " + err.Error())
	}
	return s
}

// isPathPrefix reports whether path a is an ancestor of path b.
func isPathPrefix(a, b string) bool {
	return a != "" && len(b) > len(a) && strings.HasPrefix(b, a) && (b[len(a)] == '.' || b[len(a)] == '[')
}

// The two entry points decode a scenario, from a file (DecodeFile) or
// from bytes (Decode), and merge the defaults; neither validates, so a
// caller can apply its overrides (CLI flags) first. Validate then reports
// every problem at once, those of form (syntax, unknown keys, bad values)
// and those of substance (a closed model with a rate, no load, ...):
//
//	s, err := scenarios.DecodeFile(path)
//	if s == nil {
//		return err // nothing could be decoded
//	}
//	// ... overrides ...
//	err = s.Validate() // every problem, err's included

// DecodeFile is Decode of the file at path, whose name problems and "@file"
// bodies are relative to. An error reading the file is wrapped, with a nil
// Scenario.
func DecodeFile(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	return Decode(path, data)
}

// Decode decodes a scenario and merges the defaults without validating it;
// name is the file name used in problems and as the base for "@file"
// bodies. Its error, a *ValidationError, lists the problems of form: YAML
// syntax, unknown keys, values of the wrong type or unit, unreadable
// "@file" bodies. Unless the YAML could not be parsed at all (a nil
// Scenario), Decode also returns the partly decoded Scenario, whose
// Validate reports those problems again together with every other one.
func Decode(name string, data []byte) (*Scenario, error) {
	s, probs, ok := decode(name, data)
	if !ok {
		return nil, &ValidationError{Problems: probs}
	}
	if len(probs) > 0 {
		return s, &ValidationError{Problems: slices.Clone(probs)}
	}
	return s, nil
}

// decode decodes data; ok is false when nothing could be decoded (a YAML
// syntax error, an empty document). On problems of form, s holds what could
// be decoded, with defaults merged, and remembers the problems in formProbs.
func decode(name string, data []byte) (s *Scenario, probs []Problem, ok bool) {
	d := &decoder{file: name, s: &Scenario{File: name, pos: map[string]int{}}}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		d.problem(yamlErrorLine(err), "", "%s", yamlErrorMsg(err))
		d.s.formProbs = d.probs
		return d.s, d.probs, false
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		d.problem(1, "", "empty scenario (want at least url: ...)")
		d.s.formProbs = d.probs
		return d.s, d.probs, false
	}
	d.scenario(doc.Content[0])
	applyDefaults(d.s)
	d.s.formProbs = d.probs
	return d.s, d.probs, true
}

var yamlLineRE = regexp.MustCompile(`^yaml: (?:line (\d+): )?`)

func yamlErrorLine(err error) int {
	var te *yaml.TypeError
	msg := err.Error()
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil && m[1] != "" {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	if m := regexp.MustCompile(`line (\d+)`).FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

func yamlErrorMsg(err error) string {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	msg = yamlLineRE.ReplaceAllString(msg, "")
	return "YAML syntax: " + strings.TrimPrefix(msg, "yaml: ")
}
