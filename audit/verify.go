package audit

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// Report summarises a verified chain.
type Report struct {
	Records int    // records checked
	Files   int    // files read
	First   Anchor // the first record (zero if there are none)
	Last    Anchor // the last record: the head (zero if there are none)
	MACs    int    // records that carry a MAC (checked only with Verifier.Key)
}

// A Verifier checks a chain with optional anchors taken from outside the
// log. The zero Verifier checks a whole log from its first record.
type Verifier struct {
	// After, if set, is the record the input continues from: its first
	// record must have Seq After.Seq+1 and Prev After.Hash. Use it to
	// verify files whose predecessors were archived.
	After *Anchor

	// AnyStart accepts whatever record comes first (verifying only what
	// follows). Without it and without After, the first record must be
	// Seq 1 with the zero Prev.
	AnyStart bool

	// Checkpoints are records known to be in the log, such as Log.Head
	// values saved elsewhere. Verification fails if the record with a
	// checkpoint's Seq has another hash, or if the log ends before it:
	// that is how removal of the last records is detected.
	Checkpoints []Anchor

	// Key, if set, is the key the chain was written with (see MACKey):
	// every record must carry its MAC, so a record removed, inserted or
	// edited and the rest re-chained without the key is detected. Without
	// it the chain is only checked for consistency with itself.
	Key *MACKey
}

// Verify checks a whole log read from r (one file, or the concatenation of
// its files in order) with the zero Verifier.
func Verify(ctx context.Context, r io.Reader) (Report, error) {
	var v Verifier
	return v.Verify(ctx, r)
}

// VerifyFiles checks the log made of the given files, oldest first (see
// Files), with the zero Verifier.
func VerifyFiles(ctx context.Context, paths ...string) (Report, error) {
	var v Verifier
	return v.VerifyFiles(ctx, paths...)
}

// Verify checks the log read from r. A broken chain is reported as a
// *ChainError naming the first bad line; other errors come from r or ctx.
// On error the Report describes the records verified before it.
func (v *Verifier) Verify(ctx context.Context, r io.Reader) (Report, error) {
	s := v.newState(ctx)
	if err := s.read(ctx, "", r); err != nil {
		return s.rep, err
	}
	s.rep.Files = 1
	return s.rep, s.finish()
}

// VerifyFiles checks the log made of the given files, oldest first, and
// their continuity: a missing, reordered or extra file breaks the chain at
// the first line of the file after it.
func (v *Verifier) VerifyFiles(ctx context.Context, paths ...string) (Report, error) {
	s := v.newState(ctx)
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return s.rep, fmt.Errorf("audit: verify: %w", err)
		}
		err = s.read(ctx, p, f)
		f.Close()
		if err != nil {
			return s.rep, err
		}
		s.rep.Files++
	}
	return s.rep, s.finish()
}

type verifyState struct {
	ctx      context.Context
	v        *Verifier
	rep      Report
	started  bool
	last     Anchor
	file     string // last file read, for errors found at the end
	lines    int    // lines in that file
	pending  map[uint64]Digest
	checkSeq uint64 // highest checkpoint Seq
}

func (v *Verifier) newState(ctx context.Context) *verifyState {
	s := &verifyState{ctx: ctx, v: v, pending: make(map[uint64]Digest, len(v.Checkpoints))}
	for _, c := range v.Checkpoints {
		s.pending[c.Seq] = c.Hash
		s.checkSeq = max(s.checkSeq, c.Seq)
	}
	return s
}

func (s *verifyState) read(ctx context.Context, name string, r io.Reader) error {
	br := bufio.NewReaderSize(r, MaxLineBytes)
	s.file, s.lines = name, 0
	for {
		if s.lines%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		line, err := br.ReadSlice('\n')
		if len(line) == 0 && errors.Is(err, io.EOF) {
			return nil
		}
		s.lines++
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			return s.broken(fmt.Sprintf("line is longer than %d bytes", MaxLineBytes), s.last.Seq+1)
		case errors.Is(err, io.EOF):
			return s.broken("last line is incomplete: the file was truncated or a write was interrupted", s.last.Seq+1)
		case err != nil:
			return fmt.Errorf("audit: verify %s: %w", name, err)
		}
		if err := s.record(line[:len(line)-1]); err != nil {
			return err
		}
	}
}

func (s *verifyState) record(line []byte) error {
	rec, reason := parseLine(line)
	if reason != "" {
		seq := rec.Seq
		if seq == 0 {
			seq = s.last.Seq + 1
		}
		return s.broken(reason, seq)
	}
	var wantSeq uint64
	var wantPrev Digest
	switch {
	case s.started:
		wantSeq, wantPrev = s.last.Seq+1, s.last.Hash
	case s.v.After != nil:
		wantSeq, wantPrev = s.v.After.Seq+1, s.v.After.Hash
	case s.v.AnyStart:
		wantSeq, wantPrev = rec.Seq, rec.Prev
		if rec.Seq == 1 {
			wantPrev = Digest{}
		}
	default:
		wantSeq = 1 // after the zero Prev
	}
	switch {
	case rec.Seq == 0:
		return s.broken("seq 0 is not a valid sequence number", 0)
	case rec.Seq > 1 && rec.Prev.IsZero():
		return s.broken("prev is the zero digest, which only record 1 carries: every later record names the hash of the record before", rec.Seq)
	case rec.Seq != wantSeq:
		return s.broken(fmt.Sprintf("seq is %d, want %d: a record was removed, inserted or reordered", rec.Seq, wantSeq), rec.Seq)
	case rec.Prev != wantPrev:
		return s.broken("prev does not match the hash of the record before: a record was removed, inserted or replaced", rec.Seq)
	}
	if !rec.MAC.IsZero() {
		s.rep.MACs++
	}
	if s.v.Key != nil {
		reason, err := s.v.Key.check(s.ctx, &rec)
		if err != nil {
			return err
		}
		if reason != "" {
			return &ChainError{File: s.file, Line: s.lines, Seq: rec.Seq, Reason: reason, mac: true}
		}
	}
	if h, ok := s.pending[rec.Seq]; ok {
		if h != rec.Hash {
			return s.broken("hash differs from the checkpoint: the log was rewritten", rec.Seq)
		}
		delete(s.pending, rec.Seq)
	}
	s.last = Anchor{Seq: rec.Seq, Hash: rec.Hash}
	if !s.started {
		s.rep.First = s.last
		s.started = true
	}
	s.rep.Last = s.last
	s.rep.Records++
	return nil
}

// finish checks the checkpoints past the end of the log.
func (s *verifyState) finish() error {
	if s.checkSeq > s.last.Seq {
		return &ChainError{File: s.file, Line: s.lines + 1, Seq: s.last.Seq + 1,
			Reason: fmt.Sprintf("log ends at seq %d but a checkpoint names seq %d: records were removed from the end", s.last.Seq, s.checkSeq)}
	}
	return nil
}

func (s *verifyState) broken(reason string, seq uint64) error {
	return &ChainError{File: s.file, Line: s.lines, Seq: seq, Reason: reason}
}
