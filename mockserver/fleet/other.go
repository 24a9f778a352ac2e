//go:build !linux

package fleet

import (
	"context"
	"errors"

	"github.com/ssebench/ssebench/mockserver"
)

// errNotLinux is what a fleet answers elsewhere: it needs Linux's
// SO_REUSEPORT balancing and its classic BPF steering.
var errNotLinux = errors.New("fleet: several mock processes on one port need Linux (SO_REUSEPORT with SO_ATTACH_REUSEPORT_CBPF)")

// Run fails: see errNotLinux.
func Run(ctx context.Context, cfg Config) error { return errNotLinux }

// ServeWorker fails: see errNotLinux.
func ServeWorker(ctx context.Context, cfg mockserver.Config, getenv func(string) string) error {
	return errNotLinux
}
