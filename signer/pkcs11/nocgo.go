//go:build !cgo

package pkcs11

import "errors"

// ErrNoCgo is what this package offers when it is built without cgo: the
// PKCS#11 backend calls a C library, so it needs a C compiler at build time.
var ErrNoCgo = errors.New("pkcs11: built without cgo; install a C compiler (e.g. apt-get install gcc) and build with CGO_ENABLED=1")
