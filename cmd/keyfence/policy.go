package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/keyfence/keyfence/limits"
)

const policyUsage = `usage: keyfence policy check FILE
       keyfence policy init --venue VENUE --credential NAME [--symbols SYM,...] [--quote ASSET] [--out FILE]`

func policyCmd(_ context.Context, args []string, e *env) error {
	if len(args) == 0 {
		return usagef("%s", policyUsage)
	}
	switch args[0] {
	case "check":
		return policyCheck(args[1:], e)
	case "init":
		return policyInit(args[1:], e)
	}
	return usagef("unknown policy command %q; %s", args[0], policyUsage)
}

// loadPolicy loads a policy file, refusing a credential of a venue
// keyfence has no client for.
func loadPolicy(path string) (*limits.Policy, error) {
	return limits.LoadPolicy(path, limits.KnownVenues(slices.Sorted(maps.Keys(drivers))...))
}

// policyCheck validates a policy and prints its effective form; a policy
// with problems gets all of them, one per line.
func policyCheck(args []string, e *env) error {
	fs := newFlags("policy check", e)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("%s", policyUsage)
	}
	p, err := loadPolicy(fs.Arg(0))
	if err != nil {
		var many limits.PolicyErrors
		if errors.As(err, &many) {
			for _, pe := range many {
				fmt.Fprintln(e.stderr, "keyfence: "+oneLine(pe.Error()))
			}
			return &exitError{code: 1}
		}
		return err
	}
	return p.WriteText(e.stdout)
}

// policyInit writes a commented starting policy for one credential that
// passes policy check: read, trade and cancel on the symbols given, LIMIT
// orders only, small caps to raise deliberately.
func policyInit(args []string, e *env) error {
	fs := newFlags("policy init", e)
	venueName := fs.String("venue", "", "the credential's venue: "+strings.Join(slices.Sorted(maps.Keys(drivers)), ", ")+" (required)")
	cred := fs.String("credential", "", "the credential's name, as in the keystore (required)")
	symbols := fs.String("symbols", "", "comma-separated symbols the credential may trade, in the venue's form (BTCUSDT, BTC-USDT, BTC-USD)")
	quote := fs.String("quote", "", "the quote asset the caps are in (default: inferred from the symbols, else USDT)")
	out := fs.String("out", "", "write the policy to FILE (refused if it exists) instead of standard output")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *venueName == "" || *cred == "" || fs.NArg() > 0 {
		return usagef("%s", policyUsage)
	}
	if _, err := lookupDriver(*venueName); err != nil {
		return usagef("policy init: unknown venue %q; use one of %s", *venueName, strings.Join(slices.Sorted(maps.Keys(drivers)), ", "))
	}
	var syms []string
	for _, s := range strings.Split(*symbols, ",") {
		if s = strings.TrimSpace(s); s != "" {
			syms = append(syms, s)
		}
	}
	q := *quote
	if q == "" {
		q = inferQuoteAsset(syms)
	}
	text := startingPolicy(*venueName, *cred, q, syms)
	// The text is checked the way policy check will read it.
	if _, err := limits.ParsePolicy([]byte(text), limits.KnownVenues(slices.Sorted(maps.Keys(drivers))...)); err != nil {
		return fmt.Errorf("policy init: the starting policy does not pass its own check (a bug): %w", err)
	}
	if *out == "" {
		_, err := io.WriteString(e.stdout, text)
		return err
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("policy init: %w (choose another --out or remove the file)", err)
	}
	if _, err := io.WriteString(f, text); err != nil {
		f.Close()
		return fmt.Errorf("policy init: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("policy init: %w", err)
	}
	fmt.Fprintf(e.stdout, "wrote %s; check it with: keyfence policy check %s\n", *out, *out)
	return nil
}

// inferQuoteAsset returns the quote asset the symbols share, from the
// common quote assets, or USDT.
func inferQuoteAsset(syms []string) string {
	for _, q := range []string{"USDT", "USDC", "FDUSD", "USD", "EUR", "BTC"} {
		all := len(syms) > 0
		for _, s := range syms {
			if !strings.HasSuffix(strings.ToUpper(s), q) {
				all = false
			}
		}
		if all {
			return q
		}
	}
	return "USDT"
}

func startingPolicy(venue, cred, quote string, syms []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `# keyfence policy: what each credential may do, and how much.
# Check it with: keyfence policy check FILE. Every cap is in the quote asset.
version: 1

kill_switch:                       # when tripped, every trade is refused; cancels and reads pass
  max_consecutive_rejections: 5    # venue rejections in a row trip it (0 disables)
  max_denials: 20                  # this many denied requests ...
  denial_window: 1m                # ... within this window trip it

credentials:
  %s:
    venue: %s
    allow: [read, trade, cancel]   # transfer, withdraw and keys stay refused unless listed
    order_types: [LIMIT]           # a LIMIT IOC inside the band is the safe market order
    max_open_orders: 5
    price_band: "2%%"               # a buy at most 2%% above the reference, a sell at most 2%% below
    reference_max_age: 5s          # an older reference price means refusal
    quotes:
      %s: {max_order_notional: "100", max_daily_notional: "1000"}   # raise deliberately
    symbols:                       # the allowlist: nothing else is tradable
`, yamlKey(cred), venue, yamlKey(quote))
	if len(syms) == 0 {
		b.WriteString("      {}                           # none yet: add symbols here, e.g. BTCUSDT: {}\n")
	}
	for _, s := range syms {
		fmt.Fprintf(&b, "      %s: {}\n", yamlKey(s))
	}
	return b.String()
}

// yamlKey quotes a key unless it is a plain name YAML reads as a string.
func yamlKey(s string) string {
	plain := s != ""
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			plain = false
		}
	}
	if plain && !strings.ContainsAny(s[:1], "0123456789-.") {
		return s
	}
	return fmt.Sprintf("%q", s)
}
