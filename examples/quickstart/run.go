package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/binance"
	"github.com/keyfence/keyfence/exchange/exchangetest"
	"github.com/keyfence/keyfence/keystore"
	"github.com/keyfence/keyfence/limits"
	"github.com/keyfence/keyfence/signer"
	"github.com/shopspring/decimal"
)

// attempt is one row of the leak replay.
type attempt struct {
	what    string
	refused bool
	result  string
}

func run(ctx context.Context, w io.Writer) error {
	dir, err := os.MkdirTemp("", "keyfence-quickstart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	// The venue issues two keys: a well-configured trade key, and one with
	// withdrawals enabled and no IP restriction. The secrets go into the
	// keystore and nowhere else.
	botAPIKey, botSecret := randomHex(16), randomHex(32)
	wideAPIKey, wideSecret := randomHex(16), randomHex(32)
	passphrase := []byte(randomHex(16))

	ksPath := filepath.Join(dir, "keys.kfs")
	ks, err := keystore.Create(ctx, ksPath, passphrase)
	if err != nil {
		return err
	}
	defer ks.Close()
	err = ks.Update(ctx, func(tx *keystore.Tx) error {
		if err := tx.Add(keystore.Entry{Name: "bot", Venue: binance.Venue, APIKey: botAPIKey, Type: signer.KeyHMAC}, []byte(botSecret), nil); err != nil {
			return err
		}
		return tx.Add(keystore.Entry{Name: "wide", Venue: binance.Venue, APIKey: wideAPIKey, Type: signer.KeyHMAC}, []byte(wideSecret), nil)
	})
	if err != nil {
		return err
	}

	sim := exchangetest.NewBinance(
		exchangetest.WithBinanceKeys(
			exchangetest.BinanceKey{APIKey: botAPIKey, HMACSecret: []byte(botSecret),
				Permissions: exchange.Permissions{Read: true, Trade: true, IPRestricted: true}},
			exchangetest.BinanceKey{APIKey: wideAPIKey, HMACSecret: []byte(wideSecret),
				Permissions: exchange.Permissions{Read: true, Trade: true, Withdraw: true}},
		),
		// A small allowance, so that a burst of ten times it is quick.
		exchangetest.WithBinanceRateLimits(
			exchangetest.BinanceRateLimit{Type: exchangetest.BinanceRequestWeight, Interval: time.Second, Limit: 120},
			exchangetest.BinanceRateLimit{Type: exchangetest.BinanceOrders, Interval: 10 * time.Second, Limit: 50},
		),
	)
	defer sim.Close()
	before := balances(sim.Balances(botAPIKey))

	policy, err := limits.ParsePolicy(policyYAML)
	if err != nil {
		return err
	}
	store, err := limits.OpenFileStore(filepath.Join(dir, "limits.state"))
	if err != nil {
		return err
	}
	defer store.Close()
	prices := binance.NewPriceFeed(binance.PriceFeedConfig{BaseURL: sim.URL()})
	guard, err := limits.NewGuard(policy, store, limits.WithPrices(binance.Venue, prices))
	if err != nil {
		return err
	}
	auditPath := filepath.Join(dir, "audit.jsonl")
	log, err := audit.Open(ctx, auditPath)
	if err != nil {
		return err
	}
	defer log.Close()

	// Binance counts request weight per IP address: every client on this
	// host shares the first one's rate guard.
	var rate exchange.RateLimiter
	connect := func(name string) (*binance.Client, error) {
		risks, _ := guard.AcceptKeyRisks(name)
		c, err := binance.New(ctx, binance.Config{
			BaseURL: sim.URL(), Credential: name, Signer: ks.Signer(),
			Guard: guard, Audit: log, KeyRisks: risks, Prices: prices, Rate: rate,
		})
		if err == nil && rate == nil {
			rate = c.RateLimiter()
		}
		return c, err
	}
	bot, err := connect("bot")
	if err != nil {
		return err
	}

	fmt.Fprintf(w, "keyfence quickstart: simulated Binance at %s, keystore %s\n\n", sim.URL(), filepath.Base(ksPath))

	// Part 1: the bot trades within its policy.
	fmt.Fprintln(w, "1. The bot trades within its policy")
	btc, err := bot.Reference(ctx, "BTCUSDT")
	if err != nil {
		return err
	}
	bid := btc.Bid.Mul(decimal.RequireFromString("0.99")).Round(2)
	resting, err := bot.PlaceOrder(ctx, exchange.Order{Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.Limit,
		TimeInForce: exchange.GTC, Price: bid, Quantity: decimal.RequireFromString("0.002")})
	if err != nil {
		return fmt.Errorf("placing a limit order: %w", err)
	}
	fmt.Fprintf(w, "   placed   %-44s -> %s %s\n", "BUY LIMIT 0.002 BTCUSDT @ "+bid.String(), resting.Status, resting.ID)
	mkt, err := bot.PlaceOrder(ctx, exchange.Order{Symbol: "ETHUSDT", Side: exchange.Buy, Type: exchange.Market,
		QuoteQuantity: decimal.RequireFromString("100")})
	if err != nil {
		return fmt.Errorf("placing a market order: %w", err)
	}
	fmt.Fprintf(w, "   placed   %-44s -> %s %s ETH\n", "BUY MARKET ETHUSDT for 100 USDT", mkt.Status, mkt.Executed)
	canceled, err := bot.CancelOrder(ctx, "BTCUSDT", resting.ID)
	if err != nil {
		return fmt.Errorf("cancelling: %w", err)
	}
	fmt.Fprintf(w, "   canceled %-44s -> %s\n", resting.ID, canceled.Status)
	keep, err := bot.PlaceOrder(ctx, exchange.Order{Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.Limit,
		TimeInForce: exchange.GTC, Price: bid, Quantity: decimal.RequireFromString("0.001")})
	if err != nil {
		return fmt.Errorf("placing a limit order: %w", err)
	}
	fmt.Fprintf(w, "   placed   %-44s -> %s %s\n\n", "BUY LIMIT 0.001 BTCUSDT @ "+bid.String(), keep.Status, keep.ID)
	traded := balances(sim.Balances(botAPIKey))

	// Part 2: the leak, replayed.
	fmt.Fprintln(w, "2. The 2022 leak, replayed against keyfence")
	var rows []attempt
	rows = append(rows, stolenKeystore(ctx, ksPath, botSecret))

	thin, err := bot.Reference(ctx, "THINUSDT")
	if err != nil {
		return err
	}
	pump := thin.Ask.Mul(decimal.NewFromInt(3))
	_, err = bot.PlaceOrder(ctx, exchange.Order{Symbol: "THINUSDT", Side: exchange.Buy, Type: exchange.Limit,
		TimeInForce: exchange.GTC, Price: pump, Quantity: decimal.NewFromInt(1000)})
	rows = append(rows, refusedBy("compromised bot buys THINUSDT at 3x the market", err))

	huge := btc.Ask.Round(2)
	qty := decimal.NewFromInt(50000).Div(huge).Round(5) // 100x the 500 USDT cap
	_, err = bot.PlaceOrder(ctx, exchange.Order{Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.Limit,
		TimeInForce: exchange.GTC, Price: huge, Quantity: qty})
	rows = append(rows, refusedBy("order of 100x the per-order cap (50,000 USDT)", err))

	_, err = bot.Do(ctx, &exchange.Request{Method: "POST", Path: "/sapi/v1/capital/withdraw/apply", Params: exchange.Params{
		{Key: "coin", Value: "USDT"}, {Key: "address", Value: "attacker-wallet"}, {Key: "amount", Value: "9000"}}})
	rows = append(rows, refusedBy("withdraw 9,000 USDT", err))

	rows = append(rows, burst(ctx, bot, sim))

	_, err = connect("wide")
	rows = append(rows, refusedBy("start with a key that can withdraw, no IP restriction", err))

	_, err = bot.PlaceOrder(ctx, exchange.Order{Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.Limit,
		TimeInForce: exchange.GTC, Price: bid, Quantity: decimal.RequireFromString("0.001")})
	rows = append(rows, refusedBy("any new order once the kill switch tripped", err))

	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "   ATTEMPT\tREFUSED\tBY")
	allRefused := true
	for _, r := range rows {
		mark := "yes"
		if !r.refused {
			mark, allRefused = "NO", false
		}
		fmt.Fprintf(tw, "   %s\t%s\t%s\n", r.what, mark, r.result)
	}
	tw.Flush()

	// Cancels still pass when trading is halted.
	c, err := bot.CancelOrder(ctx, "BTCUSDT", keep.ID)
	if err != nil {
		return fmt.Errorf("a cancel must pass while the kill switch is tripped: %w", err)
	}
	fmt.Fprintf(w, "   kill switch tripped: trading halted; the cancel of %s still passed (%s)\n\n", keep.ID, c.Status)

	// Part 3: nothing lost, everything on record.
	fmt.Fprintln(w, "3. What the attacker got")
	after := balances(sim.Balances(botAPIKey))
	lost := false
	for _, asset := range []string{"USDT", "BTC", "ETH", "THIN"} {
		fmt.Fprintf(w, "   %-5s before %-14s after trading %-14s after the attack %s\n", asset, before[asset], traded[asset], after[asset])
		if after[asset].LessThan(traded[asset]) {
			lost = true
		}
	}
	fmt.Fprintf(w, "   withdrawals executed by the venue: %d\n", len(sim.Withdrawals()))
	if len(sim.Withdrawals()) > 0 {
		lost = true
	}
	if err := log.Sync(); err != nil {
		return err
	}
	files, err := audit.Files(auditPath)
	if err != nil {
		return err
	}
	rep, err := audit.VerifyFiles(ctx, files...)
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	fmt.Fprintf(w, "   audit log: %d decisions, hash chain intact (keyfence audit verify)\n\n", rep.Records)

	switch {
	case !allRefused:
		return errors.New("an attack was not refused")
	case lost:
		return errors.New("the venue balances show a loss")
	}
	fmt.Fprintln(w, "Everything was refused and nothing was lost.")
	return nil
}

// stolenKeystore plays an attacker who copied the keystore file: without
// the passphrase it opens nothing, and the secret is not in it.
func stolenKeystore(ctx context.Context, path, secret string) attempt {
	a := attempt{what: "open the stolen keystore without the passphrase"}
	raw, err := os.ReadFile(path)
	if err != nil {
		a.result = err.Error()
		return a
	}
	if bytes.Contains(raw, []byte(secret)) {
		a.result = "the secret is in the file in the clear"
		return a
	}
	ks, err := keystore.Open(ctx, path, []byte("guess"))
	if err == nil {
		ks.Close()
		a.result = "opened with a guessed passphrase"
		return a
	}
	a.refused = errors.Is(err, keystore.ErrWrongPassphrase)
	a.result = "keystore: wrong passphrase (Argon2id + XChaCha20-Poly1305; no secret in the file)"
	return a
}

// refusedBy turns the error of a refused attempt into a row.
func refusedBy(what string, err error) attempt {
	a := attempt{what: what}
	var v *limits.Violation
	switch {
	case err == nil:
		a.result = "the venue accepted it"
	case errors.As(err, &v):
		a.refused = true
		a.result = fmt.Sprintf("guard: %s", v.Rule)
		if v.Observed != "" {
			a.result += fmt.Sprintf(" (%s; limit %s)", v.Observed, v.Limit)
		}
	case errors.Is(err, exchange.ErrKeyTooPowerful):
		a.refused = true
		a.result = "key check at start: withdrawals enabled, no IP restriction"
	default:
		a.result = "failed otherwise: " + err.Error()
	}
	return a
}

// burst sends ten times the venue's per-second weight allowance of signed
// reads at once, each allowed to wait at most a second: the rate guard lets
// through what the venue allows and holds back the rest, so the venue
// answers no 429 and bans nothing.
func burst(ctx context.Context, bot *binance.Client, sim *exchangetest.Binance) attempt {
	const requests = 600 // weight 2 each: 1,200 = 10x the 120 per second
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var (
		wg         sync.WaitGroup
		mu         sync.Mutex
		sent, held int
	)
	before := sim.Count429() + sim.Count418()
	for range requests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := bot.Do(ctx, &exchange.Request{Method: "GET", Path: "/api/v3/ticker/price", Params: exchange.Params{{Key: "symbol", Value: "BTCUSDT"}}})
			mu.Lock()
			defer mu.Unlock()
			if errors.Is(err, exchange.ErrRateLimited) || errors.Is(err, context.DeadlineExceeded) {
				held++
			} else {
				sent++
			}
		}()
	}
	wg.Wait()
	rejected := sim.Count429() + sim.Count418() - before
	return attempt{
		what:    fmt.Sprintf("burst of %d requests, 10x the rate limit", requests),
		refused: rejected == 0 && held > 0,
		result:  fmt.Sprintf("rate guard: %d sent within the limit, %d held back; venue 429/418 answers: %d", sent, held, rejected),
	}
}

func balances(bs []exchange.Balance) map[string]decimal.Decimal {
	m := make(map[string]decimal.Decimal, len(bs))
	for _, b := range bs {
		m[b.Asset] = b.Total()
	}
	return m
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b)
}
