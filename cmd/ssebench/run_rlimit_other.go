//go:build !unix

package main

// fdLimit returns 0: the open-file limit is not known on this platform.
func fdLimit() uint64 { return 0 }

// fdHardLimit returns 0: the open-file limit is not known on this platform.
func fdHardLimit() uint64 { return 0 }
