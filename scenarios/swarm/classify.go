package swarm

import "github.com/ssebench/ssebench/scenarios"

// events is the scenario's event rules as the runner uses them.
type events struct {
	c *scenarios.Classifier
	// terminal is true when some event can be terminal: then a clean end
	// of the body before one is a premature end.
	terminal bool
}

func newEvents(sc *scenarios.Scenario) events {
	r := sc.Events.Resolved()
	return events{
		c:        sc.Events.Classifier(),
		terminal: len(r.Terminal) > 0 || len(r.TerminalData) > 0,
	}
}
