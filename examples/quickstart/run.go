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
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/keystore"
	"github.com/keyfence/keyfence/limits"
	"github.com/shopspring/decimal"
)

// attempt is one row of the leak replay.
type attempt struct {
	what    string
	refused bool
	result  string
}

// venueNames lists the venues --venue accepts.
func venueNames() string {
	names := make([]string, 0, len(venues))
	for n := range venues {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func run(ctx context.Context, w io.Writer, venue string) error {
	kit, ok := venues[venue]
	if !ok {
		return fmt.Errorf("unknown venue %q; choose one of %s", venue, venueNames())
	}
	dir, err := os.MkdirTemp("", "keyfence-quickstart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	// The keystore: the venue's keys go in, sealed; the secrets are kept
	// nowhere else.
	passphrase := []byte(randomHex(16))
	ksPath := filepath.Join(dir, "keys.kfs")
	ks, err := keystore.Create(ctx, ksPath, passphrase)
	if err != nil {
		return err
	}
	defer ks.Close()

	auditPath := filepath.Join(dir, "audit.jsonl")
	log, err := audit.Open(ctx, auditPath)
	if err != nil {
		return err
	}
	defer log.Close()
	statePath := filepath.Join(dir, "limits.state")
	store, err := limits.OpenFileStoreContext(ctx, statePath, limits.WithAuditLog(log))
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.CheckGeneration(ctx, "keystore", ks.Generation()); err != nil {
		return err
	}

	m := kit.market
	policy, err := m.policy()
	if err != nil {
		return err
	}
	v, err := kit.start(ctx, ks, &deps{signer: ks.Signer(), audit: log, store: store,
		guard: func(prices exchange.PriceSource) (*limits.Guard, error) {
			return limits.NewGuard(policy, store, limits.WithPrices(venue, prices))
		}})
	if err != nil {
		return err
	}
	defer v.close()
	before := balances(v.balances())
	bot, err := v.connect(ctx, "bot")
	if err != nil {
		return err
	}

	fmt.Fprintf(w, "keyfence quickstart: simulated %s at %s, keystore %s\n\n", venue, v.url, filepath.Base(ksPath))

	// Part 1: the bot trades within its policy.
	fmt.Fprintln(w, "1. The bot trades within its policy")
	btc, err := bot.Reference(ctx, m.BTC)
	if err != nil {
		return err
	}
	bid := btc.Bid.Mul(decimal.RequireFromString("0.99")).Round(2)
	limit := func(qty string) exchange.Order {
		return exchange.Order{Symbol: m.BTC, Side: exchange.Buy, Type: exchange.Limit,
			TimeInForce: exchange.GTC, Price: bid, Quantity: decimal.RequireFromString(qty)}
	}
	resting, err := bot.PlaceOrder(ctx, limit("0.002"))
	if err != nil {
		return fmt.Errorf("placing a limit order: %w", err)
	}
	fmt.Fprintf(w, "   placed   %-44s -> %s\n", limit("0.002").String(), resting.Status)
	mkt := exchange.Order{Symbol: m.ETH, Side: exchange.Buy, Type: exchange.Market, QuoteQuantity: decimal.NewFromInt(100)}
	filled, err := bot.PlaceOrder(ctx, mkt)
	if err != nil {
		return fmt.Errorf("placing a market order: %w", err)
	}
	fmt.Fprintf(w, "   placed   %-44s -> %s %s ETH\n", mkt.String(), filled.Status, filled.Executed)
	canceled, err := bot.CancelOrder(ctx, m.BTC, resting.ID)
	if err != nil {
		return fmt.Errorf("cancelling: %w", err)
	}
	fmt.Fprintf(w, "   canceled %-44s -> %s\n", limit("0.002").String(), canceled.Status)
	keep, err := bot.PlaceOrder(ctx, limit("0.001"))
	if err != nil {
		return fmt.Errorf("placing a limit order: %w", err)
	}
	fmt.Fprintf(w, "   placed   %-44s -> %s\n\n", limit("0.001").String(), keep.Status)
	traded := balances(v.balances())

	// Part 2: the leak, replayed.
	fmt.Fprintln(w, "2. The 2022 leak, replayed against keyfence")
	var rows []attempt
	rows = append(rows, stolenKeystore(ctx, ksPath))

	thin, err := bot.Reference(ctx, m.Thin)
	if err != nil {
		return err
	}
	_, err = bot.PlaceOrder(ctx, exchange.Order{Symbol: m.Thin, Side: exchange.Buy, Type: exchange.Limit,
		TimeInForce: exchange.GTC, Price: thin.Ask.Mul(decimal.NewFromInt(3)), Quantity: decimal.NewFromInt(1000)})
	rows = append(rows, refusedBy("compromised bot buys "+m.Thin+" at 3x the market", err))

	huge := btc.Ask.Round(2)
	_, err = bot.PlaceOrder(ctx, exchange.Order{Symbol: m.BTC, Side: exchange.Buy, Type: exchange.Limit,
		TimeInForce: exchange.GTC, Price: huge, Quantity: decimal.NewFromInt(50000).Div(huge).Round(5)})
	rows = append(rows, refusedBy("order of 100x the per-order cap (50,000 "+m.Quote+")", err))
	rows = append(rows, stopFarFromMarket(ctx, bot, m, btc.Ask))
	rows = append(rows, marketByBaseOnThinBook(ctx, bot, m))

	_, err = bot.Do(ctx, &m.withdraw)
	rows = append(rows, refusedBy("withdraw 9,000 "+m.Quote, err))

	_, err = v.connect(ctx, "wide")
	rows = append(rows, refusedBy("start with a key that can withdraw", err))

	_, err = bot.PlaceOrder(ctx, limit("0.001"))
	rows = append(rows, refusedBy("any new order once the kill switch tripped", err))

	// Cancels still pass when trading is halted.
	c, err := bot.CancelOrder(ctx, m.BTC, keep.ID)
	if err != nil {
		return fmt.Errorf("a cancel must pass while the kill switch is tripped: %w", err)
	}

	rows = append(rows, burst(ctx, bot, m, v.rejections))
	rows = append(rows, deletedLimitsFile(ctx, statePath, log))
	rows = append(rows, ackFlood(ctx, venue))
	rows = append(rows, foreignOrder(ctx, venue))

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

	fmt.Fprintf(w, "   kill switch tripped: trading halted; cancelling the resting order still passed (%s)\n\n", c.Status)

	// Part 3: nothing lost, everything on record.
	fmt.Fprintln(w, "3. What the attacker got")
	after := balances(v.balances())
	lost := false
	for _, asset := range m.assets {
		fmt.Fprintf(w, "   %-5s before %-14s after trading %-14s after the attack %s\n", asset, before[asset], traded[asset], after[asset])
		if after[asset].LessThan(traded[asset]) {
			lost = true
		}
	}
	fmt.Fprintf(w, "   withdrawals executed by the venue: %d\n", v.withdrawals())
	if v.withdrawals() > 0 {
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

// stolenKeystore plays an attacker who copied the keystore file: it holds
// no key in the clear, and without the passphrase it opens nothing.
func stolenKeystore(ctx context.Context, path string) attempt {
	a := attempt{what: "open the stolen keystore without the passphrase"}
	raw, err := os.ReadFile(path)
	if err != nil {
		a.result = err.Error()
		return a
	}
	if bytes.Contains(raw, []byte("PRIVATE KEY")) {
		a.result = "a private key is in the file in the clear"
		return a
	}
	ks, err := keystore.Open(ctx, path, []byte("guess"))
	if err == nil {
		ks.Close()
		a.result = "opened with a guessed passphrase"
		return a
	}
	a.refused = errors.Is(err, keystore.ErrWrongPassphrase)
	a.result = "keystore: wrong passphrase (Argon2id + XChaCha20-Poly1305)"
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
		a.result = "key check at start: " + strings.TrimPrefix(err.Error(), exchange.ErrKeyTooPowerful.Error()+": ")
	default:
		a.result = "failed otherwise: " + err.Error()
	}
	return a
}

// burst sends ten times the venue's per-second allowance at once, each
// request allowed to wait at most a second: the rate guard lets through
// what the venue allows and holds back the rest, so the venue answers no
// 429 and bans nothing.
func burst(ctx context.Context, bot client, m market, rejections func() int64) attempt {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var (
		wg         sync.WaitGroup
		mu         sync.Mutex
		sent, held int
	)
	before := rejections()
	for range m.burstRequests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := m.burst
			_, err := bot.Do(ctx, &req)
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
	rejected := rejections() - before
	return attempt{
		what:    fmt.Sprintf("burst of %d requests, 10x the rate limit", m.burstRequests),
		refused: rejected == 0 && held > 0,
		result:  fmt.Sprintf("rate guard: %d sent, %d held back; venue 429/418 answers: %d", sent, held, rejected),
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
