// Package unixsock serves local control APIs on Unix sockets that only
// chosen users can use: the socket file is mode 0600, and every accepted
// connection's peer uid is checked with SO_PEERCRED (Linux), so that a
// permissive directory or a mistaken chmod does not open the API to other
// users. On systems without SO_PEERCRED every connection is refused.
package unixsock

import (
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
)

// ErrPeer: a connection came from a user that is not allowed.
var ErrPeer = errors.New("unixsock: peer not allowed")

// MaxPath is the longest socket path the kernel accepts (sun_path less
// its terminating NUL).
const MaxPath = 107

// Listen listens on a Unix socket at path, mode 0600, replacing a stale
// socket file (never another kind of file). Only connections from this
// process's uid and the uids listed are accepted; others are closed at
// once.
func Listen(path string, uids ...int) (net.Listener, error) {
	if len(path) > MaxPath {
		return nil, fmt.Errorf("unixsock: socket path %s is longer than %d bytes; choose a shorter one", path, MaxPath)
	}
	if st, err := os.Lstat(path); err == nil {
		if st.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("unixsock: %s exists and is not a socket; remove it or choose another path", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("unixsock: removing the stale socket: %w", err)
		}
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("unixsock: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		_ = l.Close()
		return nil, fmt.Errorf("unixsock: %w", err)
	}
	return &peerListener{Listener: l, allowed: append([]int{os.Getuid()}, uids...)}, nil
}

// peerListener accepts only connections whose peer uid is allowed.
type peerListener struct {
	net.Listener
	allowed []int
}

func (l *peerListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		uid, err := PeerUID(c)
		if err == nil && slices.Contains(l.allowed, uid) {
			return c, nil
		}
		_ = c.Close()
	}
}
