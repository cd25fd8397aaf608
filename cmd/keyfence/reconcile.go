package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/limits"
)

const reconcileUsage = "usage: keyfence reconcile --key NAME [--state FILE] [--audit FILE] [--policy FILE] [--venue-url URL] [--alert-only]"

// reconcileCmd brings a credential's limit state to the venue's truth:
// the orders the state holds open or of unknown outcome (a lost answer, a
// dry run's printed signature, a bot killed mid-request) are looked up
// and settled; orders the venue holds that no allow record of the audit
// log accounts for are reported as foreign and trip the kill switch
// (unless --alert-only). It exits 1 when it found a foreign order or
// could not finish.
func reconcileCmd(ctx context.Context, args []string, e *env) error {
	fs := newFlags("reconcile", e)
	var sf storeFlags
	sf.register(fs)
	key := fs.String("key", "", "name of the credential to reconcile (required)")
	venueURL := fs.String("venue-url", "", "venue base URL (default: the venue's production URL)")
	policyFile := fs.String("policy", "", "policy file; its symbols' recent order history is read for foreign orders")
	auditPath := fs.String("audit", "", "audit log (default: audit.jsonl beside the keystore)")
	statePath := fs.String("state", "", "the guard's limit state: a file (default: limits.state beside the keystore) or a postgres:// URL; never created here")
	schema := stateSchema(fs)
	auditKey := fs.String("audit-key", "", "keystore key that keys the audit chain (when the bot keys it)")
	alertOnly := fs.Bool("alert-only", false, "report foreign orders without tripping the kill switch")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *key == "" || fs.NArg() > 0 {
		return usagef("%s", reconcileUsage)
	}
	if *venueURL != "" {
		if err := checkBaseURL("venue-url", *venueURL); err != nil {
			return err
		}
	}
	g, err := openGuard(ctx, e, &sf, guardFlags{key: *key, policy: *policyFile, state: *statePath, audit: *auditPath,
		auditKey: *auditKey, schema: *schema, venueURL: *venueURL}, false)
	if errors.Is(err, limits.ErrStoreLocked) {
		return fmt.Errorf("%w; a running client reconciles itself at start and every minute: stop it to reconcile from here", err)
	}
	if err != nil {
		return err
	}
	defer g.Close()
	sg, info, drv, policy, log, store, base := g.sg, g.info, g.drv, g.policy, g.log, g.store, g.base
	prices := drv.prices(base)
	guard, err := limits.NewGuard(policy, store, limits.WithPrices(info.Venue, prices))
	if err != nil {
		return err
	}
	risks, _ := guard.AcceptKeyRisks(*key)
	client, err := drv.connect(ctx, connectConfig{
		BaseURL: base, Credential: *key, Signer: sg, Guard: guard, Audit: log, KeyRisks: risks, Prices: prices,
		Reconcile: exchange.ReconcileConfig{Every: -1, AlertOnly: *alertOnly},
	})
	if err != nil {
		return err
	}
	defer client.Close()
	rep, err := client.Reconcile(ctx)
	for _, o := range rep.Settled {
		fmt.Fprintf(e.stdout, "settled  %s %s %s filled %s %s\n", o.Symbol, orderName(o), o.Status, o.ExecutedQuo, o.String())
	}
	for _, o := range rep.Open {
		fmt.Fprintf(e.stdout, "open     %s %s %s\n", o.Symbol, orderName(o), o.String())
	}
	for _, o := range rep.Adopted {
		fmt.Fprintf(e.stdout, "adopted  %s %s %s (signed by keyfence, not in the state: held until seen closed)\n", o.Symbol, orderName(o), o.String())
	}
	for _, t := range rep.Unresolved {
		fmt.Fprintf(e.stdout, "held     %s %s (not found yet; held until its signature expires)\n", t.Symbol, refName(t.OrderRef))
	}
	for _, f := range rep.Foreign {
		fmt.Fprintf(e.stdout, "FOREIGN  %s %s %s: %s\n", f.Order.Symbol, orderName(f.Order), f.Order.String(), f.Why)
	}
	if len(rep.Foreign) > 0 {
		what := "kill switch tripped"
		if *alertOnly {
			what = "kill switch left as it was (--alert-only)"
		}
		return &exitError{code: 1, msg: fmt.Sprintf("%d foreign order(s): the key is used outside keyfence; %s; revoke the key at the venue", len(rep.Foreign), what)}
	}
	if err != nil && !errors.Is(err, exchange.ErrForeignOrder) {
		return err
	}
	return nil
}

func orderName(o exchange.Order) string {
	return refName(exchange.OrderRef{ID: o.ID, ClientID: o.ClientID})
}

func refName(r exchange.OrderRef) string {
	switch {
	case r.ID != "" && r.ClientID != "":
		return "order " + r.ID + " (" + r.ClientID + ")"
	case r.ID != "":
		return "order " + r.ID
	}
	return "client order id " + r.ClientID
}
