package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ssebench/ssebench/scenarios"
)

// scenarioJSON returns the scenario as run, for the JSON result, with every
// secret replaced by REDACTED: scenarios.Scenario's own MarshalJSON
// redacts secret headers (Authorization, Cookie, X-Api-Key, any name with
// auth, token, secret, key, ...), secret URL query parameters and URL user
// information; on top of it, fields with secret names inside JSON request
// bodies ({"api_key": "..."}) are redacted here.
func scenarioJSON(sc *scenarios.Scenario) (json.RawMessage, error) {
	raw, err := json.Marshal(sc)
	if err != nil {
		return nil, fmt.Errorf("encode the scenario: %w", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("encode the scenario: %w", err)
	}
	changed := redactBodyField(doc)
	if st, ok := doc["setup"].(map[string]any); ok {
		changed = redactBodyField(st) || changed
	}
	if !changed {
		return raw, nil
	}
	// Re-encoding sorts the keys; only done when a body held a secret.
	out, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encode the scenario: %w", err)
	}
	return out, nil
}

// redactBodyField redacts secrets in m["body"] and reports whether it
// changed anything.
func redactBodyField(m map[string]any) bool {
	switch b := m["body"].(type) {
	case string:
		if r := redactBody(b); r != b {
			m["body"] = r
			return true
		}
	case map[string]any, []any:
		return redactJSON(b)
	}
	return false
}

// redactBody returns a request body with the values of secret fields
// replaced, when the body is JSON; any other body is returned unchanged
// (it is the scenario's text, templates included, not the expanded one).
func redactBody(body string) string {
	t := strings.TrimSpace(body)
	if t == "" || (t[0] != '{' && t[0] != '[') {
		return body
	}
	var v any
	if err := json.Unmarshal([]byte(t), &v); err != nil {
		return body
	}
	if !redactJSON(v) {
		return body
	}
	b, err := json.Marshal(v)
	if err != nil {
		return body
	}
	return string(b)
}

// secretField reports whether a JSON body field holds a secret: a name
// scenarios.IsSecretName flags, except token counts (max_tokens).
func secretField(k string) bool {
	if strings.HasSuffix(strings.ToLower(k), "tokens") {
		return false
	}
	return scenarios.IsSecretName(k)
}

// redactJSON replaces, in place, the values of secret keys of a decoded
// JSON value, and reports whether it changed anything.
func redactJSON(v any) bool {
	changed := false
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if secretField(k) {
				if s, ok := val.(string); !ok || s != scenarios.RedactedText {
					x[k] = scenarios.RedactedText
					changed = true
				}
				continue
			}
			changed = redactJSON(val) || changed
		}
	case []any:
		for _, e := range x {
			changed = redactJSON(e) || changed
		}
	}
	return changed
}
