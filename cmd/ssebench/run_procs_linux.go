package main

import "syscall"

// workerSysProcAttr puts a worker in a process group of its own (a
// terminal's Ctrl-C reaches the parent alone, which then interrupts every
// worker, so each writes its partial result) and kills it when the parent
// dies (Pdeathsig), so that no worker outlives its run.
func workerSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
