//go:build unix

package main

import "syscall"

// fdLimit returns this process's soft open-file limit, for the JSON
// result's environment (0 when unknown).
func fdLimit() uint64 {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0
	}
	return r.Cur
}

// fdHardLimit returns the hard open-file limit, up to which the swarm
// raises the soft one (0 when unknown).
func fdHardLimit() uint64 {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0
	}
	return r.Max
}
