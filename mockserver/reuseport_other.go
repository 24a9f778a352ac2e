//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package mockserver

import (
	"errors"
	"syscall"
)

// reusePortControl fails: this platform has no SO_REUSEPORT.
func reusePortControl(network, address string, c syscall.RawConn) error {
	return errors.New("reuseport: SO_REUSEPORT is not supported on this platform")
}
