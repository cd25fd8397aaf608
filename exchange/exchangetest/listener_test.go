package exchangetest

import (
	"errors"
	"net"
)

// closedListener is a listener that never accepts, for tests that call
// ServeHTTP directly.
type closedListener struct{}

func (closedListener) Accept() (net.Conn, error) { return nil, errors.New("closed") }
func (closedListener) Close() error              { return nil }
func (closedListener) Addr() net.Addr            { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }
