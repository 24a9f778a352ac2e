//go:build !race

package swarm

// raceEnabled: the test binary runs under the race detector, whose
// shadow memory would swamp a memory measurement.
const raceEnabled = false
