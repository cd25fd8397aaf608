package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/limits"
	"github.com/keyfence/keyfence/signer"
)

const stateUsage = "usage: keyfence state rebuild --state FILE --audit FILE [--audit-key NAME --keystore FILE]"

func stateCmd(ctx context.Context, args []string, e *env) error {
	if len(args) == 0 || args[0] != "rebuild" {
		return usagef("%s", stateUsage)
	}
	fs := newFlags("state rebuild", e)
	var sf storeFlags
	sf.register(fs)
	statePath := fs.String("state", "", "limits state file to rebuild (required)")
	auditPath := fs.String("audit", "", "the audit log the state is tied to (required)")
	auditKey := fs.String("audit-key", "", "the keystore's HMAC key the audit log is keyed with")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *statePath == "" || *auditPath == "" || fs.NArg() > 0 {
		return usagef("%s", stateUsage)
	}
	var sg signer.Signer
	if *auditKey != "" {
		ks, err := openKeys(ctx, &sf, e)
		if err != nil {
			return err
		}
		defer ks.Close()
		sg = e.signer(ks)
	}
	log, err := openAudit(ctx, *auditPath, *auditKey, sg)
	if err != nil {
		return err
	}
	defer log.Close()
	store, err := limits.OpenFileStoreContext(ctx, *statePath, limits.WithAuditLog(log), limits.RebuildState())
	if err != nil {
		return err
	}
	ks, err := store.KillSwitch(ctx)
	if cerr := store.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	head := log.DurableHead()
	if ks.Tripped {
		fmt.Fprintf(e.stdout, "state %s tied to audit head seq %d; kill switch tripped: %s\n", *statePath, head.Seq, ks.Reason)
		fmt.Fprintln(e.stdout, "next: keyfence reconcile with the venue, then keyfence killswitch reset")
		return nil
	}
	fmt.Fprintf(e.stdout, "state %s is current with the audit log (head seq %d); nothing to rebuild\n", *statePath, head.Seq)
	return nil
}

// openAudit opens the audit log at path, keyed with the signer's key
// keyName when it is set.
func openAudit(ctx context.Context, path, keyName string, sg signer.Signer) (*audit.Log, error) {
	if keyName == "" {
		return audit.Open(ctx, path)
	}
	return audit.Open(ctx, path, audit.WithMACKey(audit.MACKey{Signer: sg, Name: keyName}))
}

// recordGeneration ties the limits state at path, if one is given, to the
// keystore's generation, so that the state refuses an older copy of the
// keystore. A state in use by a running process learns the generation
// when that process next opens the keystore.
func recordGeneration(ctx context.Context, path string, gen uint64, e *env) error {
	if path == "" {
		return nil
	}
	store, err := limits.OpenFileStore(path, limits.ExistingState())
	if errors.Is(err, limits.ErrStoreLocked) {
		fmt.Fprintf(e.stderr, "warning: %s is in use; it records keystore generation %d when its process next opens the keystore\n", path, gen)
		return nil
	}
	if err != nil {
		return err
	}
	err = store.CheckGeneration(ctx, "keystore", gen)
	if cerr := store.Close(); err == nil {
		err = cerr
	}
	return err
}
