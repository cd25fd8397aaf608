package main

import (
	"context"
	"path/filepath"

	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/keystore"
	"github.com/keyfence/keyfence/limits"
	"github.com/keyfence/keyfence/signer"
)

// guardFlags are what a command that guards one credential is told: the
// credential, its policy, its state and audit log, and the venue's URL.
type guardFlags struct {
	key, policy, state, audit, auditKey, schema, venueURL string
}

// guardSetup is what such a command opens: the keystore and its signer
// (backend keys resolved), the credential's key and venue driver, the
// policy, the audit log, the state tied to both, and the venue's base URL.
type guardSetup struct {
	ks     *keystore.Keystore
	sg     *keystore.Signer
	info   signer.KeyInfo
	drv    driver
	policy *limits.Policy
	log    *audit.Log
	store  limits.Store
	base   string
	close  []func()
}

// openGuard opens what request and reconcile share. The state and the
// audit log default to limits.state and audit.jsonl beside the keystore;
// unless create, a missing state is an error. Close the setup when done.
func openGuard(ctx context.Context, e *env, sf *storeFlags, f guardFlags, create bool) (_ *guardSetup, err error) {
	g := &guardSetup{}
	defer func() {
		if err != nil {
			g.Close()
		}
	}()
	if g.ks, err = openKeys(ctx, sf, e); err != nil {
		return nil, err
	}
	g.close = append(g.close, func() { g.ks.Close() })
	g.sg = e.signer(g.ks)
	if g.info, err = g.sg.Info(ctx, f.key); err != nil {
		return nil, withKeyNames(g.ks, err)
	}
	if g.drv, err = lookupDriver(g.info.Venue); err != nil {
		return nil, err
	}
	if g.policy, err = requestPolicy(f.policy, f.key, g.info.Venue); err != nil {
		return nil, err
	}
	dir := filepath.Dir(sf.path)
	if f.state == "" {
		f.state = filepath.Join(dir, "limits.state")
	}
	if f.audit == "" {
		f.audit = filepath.Join(dir, "audit.jsonl")
	}
	if g.log, err = openAudit(ctx, f.audit, f.auditKey, g.sg); err != nil {
		return nil, err
	}
	g.close = append(g.close, func() { g.log.Close() })
	store, closeStore, err := openGuardState(ctx, f.state, f.schema, g.log, g.ks, create)
	if err != nil {
		return nil, err
	}
	g.store = store
	g.close = append(g.close, closeStore)
	g.base = f.venueURL
	if g.base == "" {
		g.base = g.drv.defaultURL
	}
	return g, nil
}

// Close closes what openGuard opened, the state first.
func (g *guardSetup) Close() {
	for i := len(g.close) - 1; i >= 0; i-- {
		g.close[i]()
	}
	g.close = nil
}
