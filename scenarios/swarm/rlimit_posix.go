//go:build linux || darwin

package swarm

import "syscall"

// raiseNoFile raises the soft RLIMIT_NOFILE to the hard limit and returns
// the resulting soft limit, or -1 when it is unlimited.
func raiseNoFile() (int, error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, err
	}
	if rl.Cur < rl.Max {
		want := rl
		want.Cur = rl.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err == nil {
			rl = want
		} else if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
			return 0, err
		}
	}
	if rl.Cur == ^uint64(0) || rl.Cur > 1<<31 { // RLIM_INFINITY
		return -1, nil
	}
	return int(rl.Cur), nil
}
