package binance

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/exchangetest"
)

// auditRecords reads every record of the audit log at path.
func auditRecords(t *testing.T, path string) []audit.Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []audit.Record
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r audit.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	return out
}

func skipRecords(recs []audit.Record) []audit.Record {
	var out []audit.Record
	for _, r := range recs {
		if r.Rule == RuleKeyCheckSkipped {
			out = append(out, r)
		}
	}
	return out
}

// Against the simulated Spot testnet (no /sapi), the key check cannot run:
// New fails unless Config.Testnet says so, and then the audit log records
// the skipped check. The client trades on the testnet.
func TestSimTestnetSkipsKeyCheckOnlyWhenTold(t *testing.T) {
	sapiLess := []exchangetest.BinanceOption{exchangetest.WithBinanceTestnet()}
	// Without Testnet the check runs, finds no /sapi and fails closed.
	_, err := newSimEnv(t, simOpts{perms: tradePerms, simOpts: sapiLess})
	var apiErr *exchange.APIError
	if err == nil || !errors.As(err, &apiErr) || apiErr.Status != 404 {
		t.Fatalf("key check against a testnet: err = %v, want the venue's 404", err)
	}

	env, err := newSimEnv(t, simOpts{perms: tradePerms, simOpts: sapiLess, testnet: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.c.PlaceOrder(context.Background(), exchange.Order{Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.Limit,
		Quantity: dec("0.001"), Price: dec("49000")}); err != nil {
		t.Fatal(err)
	}
	if err := env.log.Close(); err != nil {
		t.Fatal(err)
	}
	recs := auditRecords(t, env.path)
	skips := skipRecords(recs)
	if len(skips) != 1 {
		t.Fatalf("records %+v, want one skipped key check", recs)
	}
	skip := skips[0]
	if skip.Decision != audit.Allow || skip.Credential != "bot" || skip.Class != string(exchange.ClassKeys) || skip.Reason == "" {
		t.Fatalf("skip record %+v", skip)
	}
	if last := recs[len(recs)-1]; last.Route != "POST /api/v3/order" {
		t.Fatalf("the order was not recorded after the skip: %+v", last)
	}
	if _, err := audit.VerifyFiles(context.Background(), env.path); err != nil {
		t.Fatalf("audit chain: %v", err)
	}
}

// Testnet skips the check even for a key the check would refuse, where the
// venue cannot check: that is why it must be set explicitly, and why the
// skip is audited. Against a venue that serves the check (the production
// venue), Testnet changes nothing: the key is checked and refused.
func TestSimTestnetRecordsSkipForPowerfulKey(t *testing.T) {
	powerful := exchange.Permissions{Read: true, Trade: true, Withdraw: true, IPRestricted: true}
	if _, err := newSimEnv(t, simOpts{perms: powerful}); !errors.Is(err, exchange.ErrKeyTooPowerful) {
		t.Fatalf("production: err = %v, want ErrKeyTooPowerful", err)
	}
	if _, err := newSimEnv(t, simOpts{perms: powerful, testnet: true}); !errors.Is(err, exchange.ErrKeyTooPowerful) {
		t.Fatalf("Testnet against a venue with /sapi: err = %v, want ErrKeyTooPowerful", err)
	}
	env, err := newSimEnv(t, simOpts{perms: tradePerms, testnet: true})
	if err != nil {
		t.Fatal(err)
	}
	_ = env.log.Close()
	if skips := skipRecords(auditRecords(t, env.path)); len(skips) != 0 {
		t.Fatalf("a check that ran was recorded as skipped: %+v", skips)
	}

	env, err = newSimEnv(t, simOpts{perms: powerful, testnet: true, simOpts: []exchangetest.BinanceOption{exchangetest.WithBinanceTestnet()}})
	if err != nil {
		t.Fatal(err)
	}
	_ = env.log.Close()
	if skips := skipRecords(auditRecords(t, env.path)); len(skips) != 1 {
		t.Fatalf("skip records %+v, want one", skips)
	}
}
