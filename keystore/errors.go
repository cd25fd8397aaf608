package keystore

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/keyfence/keyfence/signer"
)

// Errors returned by the keystore. Test with errors.Is; the typed errors
// below (FormatError, TamperError, PermissionError, VersionError,
// EntryError) match the sentinel of their kind and carry the details.
var (
	// ErrWrongPassphrase: the passphrase does not unwrap the master key.
	// A deliberately edited wrapped master key or KDF parameter (one whose
	// header checksum was recomputed) cannot be told apart from a wrong
	// passphrase and reports this error too.
	ErrWrongPassphrase = errors.New("keystore: wrong passphrase")
	// ErrCorrupt: the file is not a well-formed keystore (truncated,
	// malformed, a damaged header). Errors of this kind are *FormatError.
	ErrCorrupt = errors.New("keystore: file is corrupt")
	// ErrTampered: the file parses and the passphrase is right, but an
	// entry or the file as a whole fails authentication. Errors of this
	// kind are *TamperError.
	ErrTampered = errors.New("keystore: file was modified")
	// ErrUnsupportedVersion: the file is a keystore of a format version
	// this package does not read. Errors of this kind are *VersionError.
	ErrUnsupportedVersion = errors.New("keystore: unsupported format version")
	// ErrDuplicate: an entry with this name already exists.
	ErrDuplicate = errors.New("keystore: an entry with this name already exists")
	// ErrNotFound: no entry has this name.
	ErrNotFound = errors.New("keystore: no such entry")
	// ErrInsecurePermissions: the file is readable or writable by group or
	// others. Errors of this kind are *PermissionError.
	ErrInsecurePermissions = errors.New("keystore: file is accessible by group or others")
	// ErrExists: Create found a file at the path. It also matches
	// fs.ErrExist.
	ErrExists error = &alias{msg: "keystore: file already exists", also: fs.ErrExist}
	// ErrInvalidEntry: Add or AddReference was given an entry that cannot
	// be stored (bad name, venue, URI, key material, missing passphrase).
	ErrInvalidEntry = errors.New("keystore: invalid entry")
	// ErrEmptyPassphrase: Create or ChangePassphrase was given an empty
	// passphrase.
	ErrEmptyPassphrase = errors.New("keystore: empty passphrase: choose a non-empty passphrase")
	// ErrClosed: the keystore was closed. It also matches signer.ErrClosed.
	ErrClosed error = &alias{msg: "keystore: keystore is closed", also: signer.ErrClosed}
	// ErrNoResolver: a key whose secret lives in an HSM was used by a Signer
	// made without WithResolver.
	ErrNoResolver = errors.New("keystore: key is held in an HSM, KMS or Vault and no resolver is configured: pass keystore.WithResolver")
)

// alias is a sentinel that also matches a sentinel of another package.
type alias struct {
	msg  string
	also error
}

func (a *alias) Error() string        { return a.msg }
func (a *alias) Is(target error) bool { return target == a.also }

// FormatError reports a file that is not a well-formed keystore. It matches
// ErrCorrupt.
type FormatError struct {
	Path   string
	Field  string // the JSON field at fault, e.g. "entries[3].nonce"; empty if unknown
	Offset int64  // byte offset of a syntax error; -1 if unknown
	Reason string // what is wrong, never a secret
	Err    error  // a more specific cause (e.g. ErrDuplicate), or nil
}

func (e *FormatError) Error() string {
	where := ""
	if e.Field != "" {
		where = " in " + e.Field
	}
	if e.Offset >= 0 {
		where += fmt.Sprintf(" at byte %d", e.Offset)
	}
	return fmt.Sprintf("keystore: %s is corrupt%s: %s; restore it from a backup", e.Path, where, e.Reason)
}

// Is reports whether target is ErrCorrupt.
func (e *FormatError) Is(target error) bool { return target == ErrCorrupt }

// Unwrap returns the specific cause, if any.
func (e *FormatError) Unwrap() error { return e.Err }

// TamperError reports a keystore whose contents fail authentication under
// the right passphrase: an entry (Entry names it) or, when Entry is empty,
// the header or the list of entries (an entry removed, added or reordered).
// It matches ErrTampered.
type TamperError struct {
	Path  string
	Entry string
}

func (e *TamperError) Error() string {
	if e.Entry == "" {
		return fmt.Sprintf("keystore: %s was modified outside its entries (header or entry list): restore it from a backup", e.Path)
	}
	return fmt.Sprintf("keystore: %s: entry %q was modified or damaged: restore the file from a backup", e.Path, e.Entry)
}

// Is reports whether target is ErrTampered.
func (e *TamperError) Is(target error) bool { return target == ErrTampered }

// PermissionError reports a keystore file that group or others can access.
// It matches ErrInsecurePermissions.
type PermissionError struct {
	Path string
	Mode fs.FileMode
}

func (e *PermissionError) Error() string {
	return fmt.Sprintf("keystore: %s has mode %#o and is accessible by group or others: run chmod 600 %s", e.Path, e.Mode.Perm(), e.Path)
}

// Is reports whether target is ErrInsecurePermissions.
func (e *PermissionError) Is(target error) bool { return target == ErrInsecurePermissions }

// VersionError reports a keystore of a format version this package cannot
// read. It matches ErrUnsupportedVersion.
type VersionError struct {
	Path    string
	Version int
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("keystore: %s has format version %d; this build reads version %d: use a keyfence release that supports it", e.Path, e.Version, FormatVersion)
}

// Is reports whether target is ErrUnsupportedVersion.
func (e *VersionError) Is(target error) bool { return target == ErrUnsupportedVersion }

// EntryError reports a failed operation on one entry. It names the entry,
// never its secret.
type EntryError struct {
	Op   string // "add", "add reference", "remove"
	Name string
	Err  error
}

func (e *EntryError) Error() string {
	return fmt.Sprintf("keystore: %s %q: %s", e.Op, e.Name, strings.TrimPrefix(e.Err.Error(), "keystore: "))
}

func (e *EntryError) Unwrap() error { return e.Err }
