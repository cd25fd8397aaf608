package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/limits"
)

const requestUsage = "usage: keyfence request --key NAME [--venue-url URL] [--policy FILE] [--dry-run [--timestamp MS]] METHOD PATH [PARAM=VALUE]..."

func requestCmd(ctx context.Context, args []string, e *env) error {
	fs := newFlags("request", e)
	var sf storeFlags
	sf.register(fs)
	key := fs.String("key", "", "name of the credential that signs (required)")
	venueURL := fs.String("venue-url", "", "venue base URL (default: the venue's production URL)")
	policyFile := fs.String("policy", "", "policy file; without one only public and read endpoints are allowed")
	dryRun := fs.Bool("dry-run", false, "print the signed request as it would go on the wire; send nothing")
	ts := fs.Int64("timestamp", 0, "with --dry-run: the past time the signature is stamped with, in Unix milliseconds, where the venue puts it (Binance timestamp, KuCoin KC-API-TIMESTAMP, Coinbase JWT nbf/exp); default: the clock")
	auditPath := fs.String("audit", "", "audit log (default: audit.jsonl beside the keystore)")
	statePath := fs.String("state", "", "limit state file, so that caps hold across runs (default: limits.state beside the keystore), or postgres://USER@HOST:PORT/DATABASE for caps shared with other processes")
	schema := stateSchema(fs)
	auditKey := fs.String("audit-key", "", "the keystore's HMAC key that keys the audit log (keyfence audit keygen)")
	body := fs.String("body", "", "request body sent as is (JSON venues); @FILE reads it from FILE")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *key == "" {
		return usagef("request: --key is required; %s", requestUsage)
	}
	if *venueURL != "" {
		if err := checkBaseURL("venue-url", *venueURL); err != nil {
			return err
		}
	}
	if fs.NArg() < 2 {
		return usagef("%s", requestUsage)
	}
	req := &exchange.Request{Credential: *key, Method: strings.ToUpper(fs.Arg(0)), Path: fs.Arg(1)}
	if !strings.HasPrefix(req.Path, "/") || strings.ContainsAny(req.Path, "?#") {
		return usagef("request: PATH must start with / and carry no query; give parameters as PARAM=VALUE")
	}
	for _, kv := range fs.Args()[2:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return usagef("request: %q is not PARAM=VALUE", kv)
		}
		req.Params = append(req.Params, exchange.Param{Key: k, Value: v})
	}
	if *body != "" {
		b := []byte(*body)
		if file, ok := strings.CutPrefix(*body, "@"); ok {
			var err error
			if b, err = os.ReadFile(file); err != nil {
				return fmt.Errorf("request: --body: %w", err)
			}
		}
		req.Body = b
	}
	// The venue's scheme stamps the dry run's signature at --timestamp
	// where the venue puts its stamp; the guard and the audit log still run
	// on the clock, and so do the requests the client sends.
	var stampAt time.Time
	if *ts != 0 {
		if !*dryRun {
			return usagef("request: --timestamp stamps the signature a --dry-run prints; a request that is sent is stamped on the venue's clock")
		}
		if *ts < 0 {
			return usagef("request: --timestamp is a time in Unix milliseconds, not %d", *ts)
		}
		if req.Params.Has("timestamp") {
			return usagef("request: give the timestamp either as --timestamp or as a parameter, not both")
		}
		stampAt = time.UnixMilli(*ts)
	}
	g, err := openGuard(ctx, e, &sf, guardFlags{key: *key, policy: *policyFile, state: *statePath, audit: *auditPath,
		auditKey: *auditKey, schema: *schema, venueURL: *venueURL}, true)
	if err != nil {
		return err
	}
	defer g.Close()
	sg, info, drv, policy, log, store, base := g.sg, g.info, g.drv, g.policy, g.log, g.store, g.base

	// Offline dry run: without a policy only public and read endpoints
	// pass, and those need no market data, so nothing is sent at all.
	if *dryRun && *policyFile == "" {
		guard, err := limits.NewGuard(policy, store)
		if err != nil {
			return err
		}
		scheme, err := drv.scheme(base)
		if err != nil {
			return err
		}
		a := &exchange.Authorizer{Scheme: scheme, Signer: sg, Guard: guard, Audit: log, StampAt: stampAt}
		auth, err := a.Authorize(ctx, req)
		if err != nil {
			return err
		}
		if err := auth.Reservation.Release(ctx, nil); err != nil {
			return fmt.Errorf("request: recording the dry run's reservation: %w; do not send the request", err)
		}
		return printWire(e.stdout, base, auth.Wire)
	}

	prices := drv.prices(base)
	guard, err := limits.NewGuard(policy, store, limits.WithPrices(info.Venue, prices))
	if err != nil {
		return err
	}
	risks, _ := guard.AcceptKeyRisks(*key)
	client, err := drv.connect(ctx, connectConfig{
		BaseURL: base, Credential: *key, Signer: sg, Guard: guard, Audit: log,
		KeyRisks: risks, Prices: prices, DryRun: *dryRun, Reconcile: exchange.ReconcileConfig{Every: -1}, StampAt: stampAt,
	})
	if err != nil {
		return err
	}
	defer client.Close()
	if *dryRun {
		auth, err := client.Authorize(ctx, req)
		if err != nil {
			return err
		}
		// The signature printed can be sent: what it may create is
		// committed as of unknown outcome (for an order, held until
		// 'keyfence reconcile' sees it at the venue, or sees that it was
		// never placed once the signature expired).
		if err := auth.Reservation.Release(ctx, nil); err != nil {
			return fmt.Errorf("request: recording the dry run's reservation: %w; do not send the request", err)
		}
		return printWire(e.stdout, base, auth.Wire)
	}
	resp, err := client.Do(ctx, req)
	if resp != nil {
		e.stdout.Write(resp.Body)
		if len(resp.Body) > 0 && resp.Body[len(resp.Body)-1] != '\n' {
			fmt.Fprintln(e.stdout)
		}
	}
	return err
}

// requestPolicy loads the policy file, or builds the default: public and
// read endpoints only.
func requestPolicy(file, key, venue string) (*limits.Policy, error) {
	if file != "" {
		p, err := loadPolicy(file)
		if err != nil {
			return nil, err
		}
		if _, ok := p.Credentials[key]; !ok {
			return nil, fmt.Errorf("policy %s has no entry for credential %q: add one under credentials", file, key)
		}
		return p, nil
	}
	return &limits.Policy{
		Version: limits.PolicyVersion,
		Credentials: map[string]*limits.CredentialPolicy{
			key: {Venue: venue, Allow: []exchange.Class{exchange.ClassRead}},
		},
	}, nil
}

// bearerHeaders hold credentials that outlive the request they came with:
// a Coinbase JWT is valid for any body for two minutes, a KuCoin passphrase
// signature for as long as the key. A dry run prints them redacted.
var bearerHeaders = map[string]bool{"Authorization": true, "Kc-Api-Passphrase": true}

// printWire prints a request as it goes on the wire: the request line, the
// headers in the order net/http writes them (sorted by name), a blank line
// and the body. Bearer credentials are redacted.
func printWire(w io.Writer, base string, wire *exchange.Wire) error {
	fmt.Fprintf(w, "%s %s\n", wire.Method, wire.URL(base))
	h := wire.Header.HTTP()
	for _, k := range slices.Sorted(maps.Keys(h)) {
		for _, v := range h[k] {
			if bearerHeaders[k] {
				v = redactCredential(v)
			}
			fmt.Fprintf(w, "%s: %s\n", k, v)
		}
	}
	fmt.Fprintln(w)
	_, err := w.Write(wire.Body)
	if len(wire.Body) > 0 {
		fmt.Fprintln(w)
	}
	return err
}

func redactCredential(v string) string {
	if scheme, _, ok := strings.Cut(v, " "); ok {
		return scheme + " [REDACTED]"
	}
	return "[REDACTED]"
}
