package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/keystore"
	"github.com/keyfence/keyfence/limits"
	"github.com/keyfence/keyfence/signer"
)

const auditUsage = "usage: keyfence audit verify [--key NAME] [--head SEQ:HASH] [--state FILE] FILE... | keyfence audit keygen --key NAME"

func auditCmd(ctx context.Context, args []string, e *env) error {
	if len(args) == 0 {
		return usagef("%s", auditUsage)
	}
	switch args[0] {
	case "verify":
		return auditVerify(ctx, args[1:], e)
	case "keygen":
		return auditKeygen(ctx, args[1:], e)
	}
	return usagef("%s", auditUsage)
}

func auditVerify(ctx context.Context, args []string, e *env) error {
	fs := newFlags("audit verify", e)
	var sf storeFlags
	sf.register(fs)
	head := fs.String("head", "", "a record known to be in the log (SEQ:HASH, e.g. saved from an earlier run); removal of the records up to it is detected")
	state := fs.String("state", "", "a limits state file tied to the log: the audit head it recorded is checked like --head")
	key := fs.String("key", "", "name of the keystore's HMAC key the log is keyed with (keyfence audit keygen): every record's MAC is checked")
	if err := parseFlags(fs, args); err != nil {
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
	if *state != "" {
		a, err := limits.StateAuditHead(*state)
		if err != nil {
			return err
		}
		if a.Seq == 0 {
			return fmt.Errorf("audit verify: %s records no audit head: it is not tied to an audit log; use --head", *state)
		}
		v.Checkpoints = append(v.Checkpoints, a)
	}
	if *key != "" {
		ks, err := openKeys(ctx, &sf, e)
		if err != nil {
			return err
		}
		defer ks.Close()
		v.Key = &audit.MACKey{Signer: e.signer(ks), Name: *key}
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
	checked := "chain intact"
	if v.Key != nil {
		checked = "chain intact, every record's MAC checked with " + *key
	}
	switch {
	case v.Key == nil && len(v.Checkpoints) == 0:
		msg := "warning: no --key and no --head or --state: this checks only that the log is consistent with itself; it cannot tell whether records were cut from its end (a truncated log verifies), nor whether it was rewritten with the library"
		if rep.MACs > 0 {
			msg += fmt.Sprintf("; its records carry MACs (%d): pass --key NAME to check them", rep.MACs)
		}
		fmt.Fprintln(e.stderr, msg)
	case v.Key == nil:
		msg := "warning: no --key: records after the checkpoint are only checked for consistency with themselves; a log rewritten with the library after it verifies"
		if rep.MACs > 0 {
			msg += fmt.Sprintf("; its records carry MACs (%d): pass --key NAME to check them", rep.MACs)
		}
		fmt.Fprintln(e.stderr, msg)
	case len(v.Checkpoints) == 0:
		fmt.Fprintln(e.stderr, "warning: no --head or --state: records cut from the end of the log cannot be detected")
	}
	fmt.Fprintf(e.stdout, "ok: %d records in %d files, %s; head seq %d hash %s\n", rep.Records, rep.Files, checked, rep.Last.Seq, rep.Last.Hash)
	return nil
}

// auditMACVenue and auditMACAPIKey describe a chain key in the keystore.
const (
	auditMACVenue  = "keyfence"
	auditMACAPIKey = "audit-mac"
)

// auditKeygen adds a random HMAC key to the keystore for keying an audit
// log. The key is generated here and goes straight into the keystore: it
// is never printed.
func auditKeygen(ctx context.Context, args []string, e *env) error {
	var name string
	sf, err := parseKeys("audit keygen", args, e, func(fs *flag.FlagSet) {
		fs.StringVar(&name, "key", "", "name of the new key (required)")
	})
	if err != nil {
		return err
	}
	if name == "" {
		return usagef("audit keygen: --key is required")
	}
	ks, err := openKeys(ctx, sf, e)
	if err != nil {
		return err
	}
	defer ks.Close()
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return err
	}
	defer signer.Wipe(secret)
	err = ks.Add(ctx, keystore.Entry{Name: name, Venue: auditMACVenue, APIKey: auditMACAPIKey, Type: signer.KeyHMAC}, secret, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "added audit chain key %s to %s (generation %d); pass --audit-key %s to keyfence request and --key %s to keyfence audit verify\n",
		name, sf.path, ks.Generation(), name, name)
	return recordGeneration(ctx, sf.state, ks.Generation(), e)
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
