package pacer_test

import (
	"fmt"
	"time"

	"github.com/ssebench/ssebench/scenarios/pacer"
)

// Stages is a piecewise-linear arrival rate. This one starts at 2 hits per
// second, ramps to 10/s over 4 s, holds 10/s for 2 s and then goes on at its
// last rate (a run's duration ends it). When gives the exact time each hit
// is due, so a run stamps every arrival with its schedule and never drifts.
func ExampleStages() {
	s := pacer.Stages{Start: 2, Stages: []pacer.Stage{
		{Duration: 4 * time.Second, Target: 10},
		{Duration: 2 * time.Second, Target: 10},
	}}
	for _, at := range []time.Duration{0, 2 * time.Second, 4 * time.Second, 6 * time.Second} {
		fmt.Printf("at %v: rate %g/s, %g hits due so far\n", at, s.Rate(at), s.Hits(at))
	}
	for _, k := range []uint64{0, 1, 23, 43, 44} {
		when, _ := s.When(k)
		fmt.Printf("hit %d due at %v\n", k, when.Round(time.Millisecond))
	}
	// Output:
	// at 0s: rate 2/s, 0 hits due so far
	// at 2s: rate 6/s, 8 hits due so far
	// at 4s: rate 10/s, 24 hits due so far
	// at 6s: rate 10/s, 44 hits due so far
	// hit 0 due at 0s
	// hit 1 due at 414ms
	// hit 23 due at 3.899s
	// hit 43 due at 5.9s
	// hit 44 due at 6s
}
