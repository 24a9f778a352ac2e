package swarm

import (
	"strings"

	"github.com/ssebench/ssebench/scenarios"
)

// events is the scenario's event rules as the runner uses them.
type events struct {
	c *scenarios.Classifier
	// terminal is true when some event can be terminal: then a clean end
	// of the body before one is a premature end.
	terminal bool
	// terminalList names the terminal rules, for Details: "finish",
	// "data [DONE]".
	terminalList string
}

func newEvents(sc *scenarios.Scenario) events {
	r := sc.Events.Resolved()
	var names []string
	names = append(names, r.Terminal...)
	for _, d := range r.TerminalData {
		names = append(names, "data "+d)
	}
	return events{
		c:            sc.Events.Classifier(),
		terminal:     len(names) > 0,
		terminalList: strings.Join(names, ", "),
	}
}
