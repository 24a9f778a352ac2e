//go:build !linux

package swarm

import "syscall"

// bindAddressOnly: other systems have no IP_BIND_ADDRESS_NO_PORT; the
// source address is bound with its port, as net.Dialer does.
func bindAddressOnly(_, _ string, _ syscall.RawConn) error { return nil }
