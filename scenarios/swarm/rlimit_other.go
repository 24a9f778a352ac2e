//go:build !linux && !darwin

package swarm

// raiseNoFile reports the open-file limit as unknown where the system has no
// RLIMIT_NOFILE.
func raiseNoFile() (int, error) { return -1, nil }
