//go:build !linux

package main

import "syscall"

// workerSysProcAttr is nil where Linux's process groups and Pdeathsig are
// not used: a worker then receives a terminal's Ctrl-C itself, and may
// outlive a parent that is killed.
func workerSysProcAttr() *syscall.SysProcAttr { return nil }
