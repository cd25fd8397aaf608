package audit

import (
	"errors"
	"fmt"
)

// Error sentinels. Test for them with errors.Is.
var (
	// ErrWrite reports that a record could not be written durably. The
	// caller must refuse the request it was recording (fail closed).
	ErrWrite = errors.New("audit: write failed")

	// ErrBroken reports that verification found the chain broken: a record
	// was edited, removed, inserted, reordered or truncated.
	ErrBroken = errors.New("audit: chain broken")

	// ErrClosed reports an Append to a closed Log.
	ErrClosed = errors.New("audit: log closed")

	// ErrLocked reports that another Log, in this or another process,
	// already has the log open for appending.
	ErrLocked = errors.New("audit: log locked")

	// ErrReplaced reports that the log's active file was deleted, renamed
	// or replaced while a Log had it open. The Log refuses every further
	// Append (each returns a *WriteError wrapping it); find out who
	// changed the file, then reopen the log.
	ErrReplaced = errors.New("audit: log file was deleted or replaced while open")

	// ErrInvalidRecord reports a record that cannot be logged, such as one
	// with an unknown decision.
	ErrInvalidRecord = errors.New("audit: invalid record")
)

// WriteError is returned by Append, Sync and Close when the log cannot be
// written. errors.Is(err, ErrWrite) holds for it.
type WriteError struct {
	Op   string // "write", "sync", "rotate", "open", "truncate", ...
	Path string
	Err  error
}

func (e *WriteError) Error() string {
	if errors.Is(e.Err, ErrReplaced) {
		return fmt.Sprintf("audit: %s %s failed: %v; refuse the request, find out what removed or replaced the log file, then reopen the log", e.Op, e.Path, e.Err)
	}
	return fmt.Sprintf("audit: %s %s failed: %v; refuse the request and check the disk, then reopen the log", e.Op, e.Path, e.Err)
}

// Unwrap returns the cause.
func (e *WriteError) Unwrap() error { return e.Err }

// Is reports whether target is ErrWrite.
func (e *WriteError) Is(target error) bool { return target == ErrWrite }

// ChainError names the first place where a log fails verification.
// errors.Is(err, ErrBroken) holds for it.
type ChainError struct {
	File   string // the file, or "" when verifying a reader
	Line   int    // 1-based line number within File
	Seq    uint64 // the record's sequence number, or the one expected there
	Reason string
	mac    bool // the record's MAC failed: errors.Is(err, ErrMAC)
}

func (e *ChainError) Error() string {
	where := fmt.Sprintf("line %d", e.Line)
	if e.File != "" {
		where = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	return fmt.Sprintf("audit: chain broken at %s (seq %d): %s; treat the log as tampered with and investigate", where, e.Seq, e.Reason)
}

// Is reports whether target is ErrBroken, or ErrMAC for a record whose
// MAC failed.
func (e *ChainError) Is(target error) bool {
	return target == ErrBroken || (e.mac && target == ErrMAC)
}
