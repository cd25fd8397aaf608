package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/keyfence/keyfence/audit"
)

const auditUsage = "usage: keyfence audit verify [--head SEQ:HASH] FILE..."

func auditCmd(ctx context.Context, args []string, e *env) error {
	if len(args) == 0 || args[0] != "verify" {
		return usagef("%s", auditUsage)
	}
	fs := newFlags("audit verify", e)
	head := fs.String("head", "", "a record known to be in the log (SEQ:HASH, e.g. saved from an earlier run); removal of the records up to it is detected")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("%s", auditUsage)
	}
	var v audit.Verifier
	if *head != "" {
		a, err := parseAnchor(*head)
		if err != nil {
			return usagef("audit verify: --head: %v", err)
		}
		v.Checkpoints = append(v.Checkpoints, a)
	}
	files := fs.Args()
	if len(files) == 1 {
		// One name stands for the whole log: its rotated files come first.
		all, err := audit.Files(files[0])
		if err != nil {
			return err
		}
		if len(all) > 0 {
			files = all
		}
	}
	rep, err := v.VerifyFiles(ctx, files...)
	var ce *audit.ChainError
	if errors.As(err, &ce) {
		return fmt.Errorf("audit log broken: %s line %d (seq %d): %s", ce.File, ce.Line, ce.Seq, ce.Reason)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "ok: %d records in %d files, chain intact; head seq %d hash %s\n", rep.Records, rep.Files, rep.Last.Seq, rep.Last.Hash)
	return nil
}

func parseAnchor(s string) (audit.Anchor, error) {
	seq, hash, ok := strings.Cut(s, ":")
	n, err := strconv.ParseUint(seq, 10, 64)
	if !ok || err != nil || n == 0 {
		return audit.Anchor{}, fmt.Errorf("%q is not SEQ:HASH (a record number and its 64-digit hash)", s)
	}
	d, err := audit.ParseDigest(strings.ToLower(hash))
	if err != nil {
		return audit.Anchor{}, fmt.Errorf("%q is not SEQ:HASH (a record number and its 64-digit hash)", s)
	}
	return audit.Anchor{Seq: n, Hash: d}, nil
}
