package keystore

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/keyfence/keyfence/signer"
	"github.com/stretchr/testify/assert"
)

// TestErrorKindsAreDistinct checks that each typed error matches its own
// sentinel and no other, and prints as one line.
func TestErrorKindsAreDistinct(t *testing.T) {
	sentinels := []error{ErrWrongPassphrase, ErrCorrupt, ErrTampered, ErrUnsupportedVersion, ErrDuplicate,
		ErrNotFound, ErrInsecurePermissions, ErrExists, ErrInvalidEntry, ErrEmptyPassphrase, ErrClosed, ErrNoResolver}
	cases := []struct {
		err  error
		want error
	}{
		{&FormatError{Path: "p", Offset: 3, Reason: "r"}, ErrCorrupt},
		{&TamperError{Path: "p", Entry: "e"}, ErrTampered},
		{&TamperError{Path: "p"}, ErrTampered},
		{&VersionError{Path: "p", Version: 9}, ErrUnsupportedVersion},
		{&PermissionError{Path: "p", Mode: 0o644}, ErrInsecurePermissions},
		{&EntryError{Op: "add", Name: "n", Err: ErrDuplicate}, ErrDuplicate},
		{&EntryError{Op: "remove", Name: "n", Err: ErrNotFound}, ErrNotFound},
	}
	for _, s := range sentinels {
		cases = append(cases, struct{ err, want error }{s, s})
	}
	for _, c := range cases {
		for _, s := range sentinels {
			assert.Equal(t, s == c.want, errors.Is(c.err, s), "%v is %v", c.err, s)
		}
		assert.False(t, strings.Contains(c.err.Error(), "\n"))
	}
	assert.ErrorIs(t, ErrExists, fs.ErrExist)
	assert.ErrorIs(t, ErrClosed, signer.ErrClosed)
	assert.ErrorIs(t, &FormatError{Err: ErrDuplicate}, ErrDuplicate)
}
