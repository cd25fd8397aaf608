//go:build cgo

package pkcs11

import (
	"errors"
	"fmt"
	"sync"

	"github.com/miekg/pkcs11"
)

// A PKCS#11 library is initialised once per process (C_Initialize) and
// finalised once (C_Finalize); a second C_Initialize fails and a C_Finalize
// ends every session of the process. Backends that load the same library
// therefore share one loaded module, counted by references, and the last
// Close finalises it. This registry mirrors state that the library itself
// keeps per process; it is the only package-level state.
var modules = struct {
	sync.Mutex
	m map[string]*module
}{m: make(map[string]*module)}

type module struct {
	path string
	ctx  *pkcs11.Ctx
	refs int
}

// loadModule loads and initialises the library at path, or takes another
// reference to it if it is already loaded.
func loadModule(path string) (*module, error) {
	if path == "" {
		return nil, fmt.Errorf("%w: no module path: set Config.Module or the URI's module-path", ErrModule)
	}
	modules.Lock()
	defer modules.Unlock()
	if m, ok := modules.m[path]; ok {
		m.refs++
		return m, nil
	}
	ctx := pkcs11.New(path)
	if ctx == nil {
		return nil, fmt.Errorf("%w: cannot load %q: check the path and that it is a PKCS#11 library", ErrModule, path)
	}
	if err := ctx.Initialize(); err != nil && !errors.Is(err, pkcs11.Error(pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED)) {
		ctx.Destroy()
		return nil, fmt.Errorf("%w: C_Initialize of %q: %w", ErrModule, path, err)
	}
	m := &module{path: path, ctx: ctx, refs: 1}
	modules.m[path] = m
	return m, nil
}

// release drops one reference; the last one finalises and unloads the
// library.
func (m *module) release() {
	modules.Lock()
	defer modules.Unlock()
	m.refs--
	if m.refs > 0 {
		return
	}
	delete(modules.m, m.path)
	_ = m.ctx.Finalize()
	m.ctx.Destroy()
}
