//go:build !unix

package health

import "time"

// processCPU reports that the process CPU time is not known here.
func processCPU() (time.Duration, bool) { return 0, false }
