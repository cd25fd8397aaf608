//go:build !linux

package unixsock

import (
	"fmt"
	"net"
)

// PeerUID is not available here: every connection is refused.
func PeerUID(net.Conn) (int, error) {
	return -1, fmt.Errorf("%w: the peer's uid cannot be checked on this system", ErrPeer)
}
