//go:build !linux && !darwin

package swarm

import "net"

// connAlive reports whether c, idle between requests, is still open. Here
// only a connection that is not a socket can be checked; a kept socket the
// server closed fails its next request, which is then sent again on a new
// connection when it can be (see roundTripDirect).
func connAlive(c net.Conn) bool { return aliveByDeadline(c) }
