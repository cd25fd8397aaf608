//go:build !cgo

package pkcs11

import (
	"os"
	"testing"
)

// TestBackendNeedsCgo reports, instead of silently passing, that the HSM
// tests did not run: they need cgo (a C compiler) and SoftHSM2.
func TestBackendNeedsCgo(t *testing.T) {
	if os.Getenv("KEYFENCE_REQUIRE_INTEGRATION") == "1" {
		t.Fatal(ErrNoCgo)
	}
	t.Skip(ErrNoCgo.Error())
}
