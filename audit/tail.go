package audit

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
)

// readTail returns the anchor of the last record of the file at path,
// after checking that record's hash. found is false for a missing or empty
// file. A last line without its newline is an error unless repair is set,
// in which case it is cut off.
func readTail(ctx context.Context, path string, repair bool, cfg config) (head Anchor, found bool, err error) {
	mode := os.O_RDONLY
	if repair {
		mode = os.O_RDWR
	}
	f, err := os.OpenFile(path, mode, 0)
	if errors.Is(err, os.ErrNotExist) {
		return Anchor{}, false, nil
	}
	if err != nil {
		return Anchor{}, false, fmt.Errorf("audit: open %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Anchor{}, false, fmt.Errorf("audit: open %s: %w", path, err)
	}
	size := fi.Size()
	if size == 0 {
		return Anchor{}, false, nil
	}
	var last [1]byte
	if _, err := f.ReadAt(last[:], size-1); err != nil {
		return Anchor{}, false, fmt.Errorf("audit: read %s: %w", path, err)
	}
	if last[0] != '\n' {
		nl, err := lastNewline(f, size)
		if err != nil {
			return Anchor{}, false, fmt.Errorf("audit: read %s: %w", path, err)
		}
		if !repair || nl < -1 {
			return Anchor{}, false, tailError(f, path, size, "last line is incomplete: a write was interrupted or the file was truncated (RepairTornTail cuts it)")
		}
		if err := f.Truncate(nl + 1); err != nil {
			return Anchor{}, false, &WriteError{Op: "repair", Path: path, Err: err}
		}
		if err := f.Sync(); err != nil {
			return Anchor{}, false, &WriteError{Op: "repair", Path: path, Err: err}
		}
		cfg.logger.Warn("audit: cut an incomplete last line from the log",
			slog.String("path", path), slog.Int64("bytes", size-nl-1))
		size = nl + 1
		if size == 0 {
			return Anchor{}, false, nil
		}
	}
	nl, err := lastNewline(f, size-1)
	if err != nil {
		return Anchor{}, false, fmt.Errorf("audit: read %s: %w", path, err)
	}
	if nl < -1 {
		return Anchor{}, false, tailError(f, path, size, fmt.Sprintf("last line is longer than %d bytes", MaxLineBytes))
	}
	line := make([]byte, size-1-(nl+1))
	if _, err := f.ReadAt(line, nl+1); err != nil {
		return Anchor{}, false, fmt.Errorf("audit: read %s: %w", path, err)
	}
	rec, reason := parseLine(line)
	if reason != "" {
		return Anchor{}, false, tailError(f, path, size, reason)
	}
	if cfg.mac == nil && !rec.MAC.IsZero() {
		ce := tailError(f, path, size, "the log is keyed (its records carry MACs): open it WithMACKey and the key it was written with").(*ChainError)
		ce.Seq, ce.mac = rec.Seq, true
		return Anchor{}, false, ce
	}
	if cfg.mac != nil {
		reason, err := cfg.mac.check(ctx, &rec)
		if err != nil {
			return Anchor{}, false, err
		}
		if reason != "" {
			ce := tailError(f, path, size, reason+" (a log is keyed from its first record: start a new log to key it)").(*ChainError)
			ce.Seq, ce.mac = rec.Seq, true
			return Anchor{}, false, ce
		}
	}
	return Anchor{Seq: rec.Seq, Hash: rec.Hash}, true, nil
}

// lastNewline returns the offset of the last '\n' before end, -1 if there
// is none, or -2 if there is none within MaxLineBytes of end.
func lastNewline(f io.ReaderAt, end int64) (int64, error) {
	const chunk = 4096
	buf := make([]byte, chunk)
	for pos := end; pos > 0; {
		if end-pos > MaxLineBytes {
			return -2, nil
		}
		n := int64(chunk)
		if pos < n {
			n = pos
		}
		pos -= n
		if _, err := f.ReadAt(buf[:n], pos); err != nil {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return pos + int64(i), nil
		}
	}
	return -1, nil
}

// tailError builds the ChainError for the last line of a file, counting
// lines to name it.
func tailError(f *os.File, path string, size int64, reason string) error {
	lines := 1
	r := bufio.NewReader(io.NewSectionReader(f, 0, size))
	for {
		b, err := r.ReadSlice('\n')
		if len(b) > 0 && b[len(b)-1] == '\n' {
			lines++
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			break
		}
	}
	if size > 0 {
		// A file ending in a newline has its last line before it.
		var last [1]byte
		if _, err := f.ReadAt(last[:], size-1); err == nil && last[0] == '\n' {
			lines--
		}
	}
	return &ChainError{File: path, Line: lines, Reason: reason}
}
