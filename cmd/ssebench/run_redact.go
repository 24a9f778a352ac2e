package main

import (
	"encoding/json"
	"fmt"

	"github.com/ssebench/ssebench/scenarios"
)

// scenarioJSON returns the scenario as run, for the JSON result. The
// scenario's own MarshalJSON redacts every secret (headers, URL query and
// user information, secret fields of JSON bodies).
func scenarioJSON(sc *scenarios.Scenario) (json.RawMessage, error) {
	raw, err := json.Marshal(sc)
	if err != nil {
		return nil, fmt.Errorf("encode the scenario: %w", err)
	}
	return raw, nil
}
