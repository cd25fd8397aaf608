package audit

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrNoAnchor reports that a log holds no record at an anchor's Seq with
// its Hash: the anchor comes from another log, or records were cut.
var ErrNoAnchor = errors.New("audit: anchor not in the log")

// Since calls fn for every record after the record at after (every record
// for the zero Anchor), in chain order, up to the head when Since was
// called. It checks each line as Verify does (its hash, canonical form,
// Seq and Prev continuity), but not MACs. It fails with an error wrapping
// ErrNoAnchor when the log holds no record at after.Seq with after.Hash,
// and with a *ChainError for a broken line. limits.FileStore calls it to
// see what a state file missed.
func (l *Log) Since(ctx context.Context, after Anchor, fn func(*Record) error) error {
	head := l.Head()
	if after.Seq > head.Seq {
		return fmt.Errorf("%w: the log ends at seq %d, before seq %d", ErrNoAnchor, head.Seq, after.Seq)
	}
	if after == head {
		return nil
	}
	files, err := Files(l.path)
	if err != nil {
		return err
	}
	// Skip the files whose records all come before after: those followed
	// by a file that starts at or before after.Seq.
	start := 0
	for i := len(files) - 1; i > 0; i-- {
		first, ok, err := firstSeq(files[i])
		if err != nil {
			return err
		}
		if ok && first <= after.Seq {
			start = i
			break
		}
	}
	found := after.Seq == 0
	var last Anchor
	started := false
	for _, name := range files[start:] {
		done, err := scanFile(ctx, name, func(r *Record, line int) (bool, error) {
			if started && (r.Seq != last.Seq+1 || r.Prev != last.Hash) {
				return false, &ChainError{File: name, Line: line, Seq: r.Seq, Reason: "seq or prev does not follow the record before"}
			}
			started, last = true, Anchor{Seq: r.Seq, Hash: r.Hash}
			switch {
			case r.Seq < after.Seq:
				return false, nil
			case r.Seq == after.Seq:
				if r.Hash != after.Hash {
					return false, fmt.Errorf("%w: record %d has another hash", ErrNoAnchor, after.Seq)
				}
				found = true
				return false, nil
			case !found:
				return false, fmt.Errorf("%w: the log starts after seq %d (older files archived?)", ErrNoAnchor, after.Seq)
			}
			if err := fn(r); err != nil {
				return false, err
			}
			return r.Seq >= head.Seq, nil
		})
		if err != nil || done {
			return err
		}
	}
	if !found {
		return fmt.Errorf("%w: no record %d", ErrNoAnchor, after.Seq)
	}
	return nil
}

// firstSeq returns the Seq of the first record of a file.
func firstSeq(name string) (uint64, bool, error) {
	var seq uint64
	found := false
	_, err := scanFile(context.Background(), name, func(r *Record, _ int) (bool, error) {
		seq, found = r.Seq, true
		return true, nil
	})
	return seq, found, err
}

// scanFile calls fn for each complete line's record until fn reports done.
func scanFile(ctx context.Context, name string, fn func(r *Record, line int) (done bool, err error)) (bool, error) {
	f, err := os.Open(name)
	if err != nil {
		return false, fmt.Errorf("audit: read %s: %w", name, err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, MaxLineBytes)
	for n := 1; ; n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return false, err
			}
		}
		line, err := br.ReadSlice('\n')
		if errors.Is(err, io.EOF) {
			return false, nil // a partial last line is being written
		}
		if err != nil {
			return false, &ChainError{File: name, Line: n, Reason: "unreadable line: " + err.Error()}
		}
		rec, reason := parseLine(line[:len(line)-1])
		if reason != "" {
			return false, &ChainError{File: name, Line: n, Seq: rec.Seq, Reason: reason}
		}
		done, err := fn(&rec, n)
		if err != nil || done {
			return done, err
		}
	}
}
