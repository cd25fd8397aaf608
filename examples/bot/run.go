package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/term"

	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/keystore"
	"github.com/keyfence/keyfence/limits"
	"github.com/keyfence/keyfence/signer"
)

// run wires keyfence around the bot and runs it.
func run(ctx context.Context, c config, logger *slog.Logger) error {
	v, ok := venues[c.venue]
	if !ok {
		return fmt.Errorf("unknown venue %q", c.venue)
	}
	if c.testnet && v.simulateTestnet == nil {
		return fmt.Errorf("--testnet: %s has no testnet mode here; use it with --venue binance", c.venue)
	}
	var (
		ks  *keystore.Keystore
		err error
	)
	realKeystore := c.baseURL != ""
	if !realKeystore {
		var dir string
		ks, dir, err = ephemeralKeystore(ctx)
		if err != nil {
			return err
		}
		simulate := v.simulate
		if c.testnet {
			simulate = v.simulateTestnet
		}
		url, stop, err := simulate(ctx, ks, c.key)
		// The keystore stays open in memory; its file is not needed any more.
		os.RemoveAll(dir)
		if err != nil {
			ks.Close()
			return err
		}
		defer stop()
		c.baseURL = url
		logger.Info("trading on a simulated venue", slog.String("venue", c.venue), slog.String("url", url), slog.Bool("testnet", c.testnet))
	} else {
		ks, err = openKeystore(ctx, c.keystore)
		if err != nil {
			return err
		}
	}
	defer ks.Close()

	policy, err := loadPolicy(c.policy)
	if err != nil {
		return err
	}
	log, err := audit.Open(ctx, c.auditPath)
	if err != nil {
		return err
	}
	defer log.Close()
	// The state is tied to the audit log: deleted, or replaced by an older
	// copy, it is refused rather than starting the caps afresh.
	store, err := limits.OpenFileStoreContext(ctx, c.statePath, limits.WithAuditLog(log))
	if err != nil {
		return err
	}
	defer store.Close()
	if realKeystore {
		// A real keystore: an older copy of it (a removed key made to work
		// again) is refused. A simulated run makes a new one each time.
		if err := store.CheckGeneration(ctx, "keystore", ks.Generation()); err != nil {
			return err
		}
	}
	prices := v.prices(c.baseURL)
	guard, err := limits.NewGuard(policy, store, limits.WithPrices(c.venue, prices), limits.WithLogger(logger))
	if err != nil {
		return err
	}
	// The operator trips the kill switch of the running bot with
	// keyfence killswitch trip --state <the state file>.
	ctl, err := limits.ServeControl(limits.ControlSocket(c.statePath), guard, logger)
	if err != nil {
		return err
	}
	defer ctl.Close(context.WithoutCancel(ctx))
	risks, ok := guard.AcceptKeyRisks(c.key)
	if !ok {
		return fmt.Errorf("the policy has no entry for credential %q", c.key)
	}
	client, err := v.connect(ctx, wiring{baseURL: c.baseURL, key: c.key, signer: ks.Signer(),
		guard: guard, audit: log, keyRisks: risks, logger: logger, testnet: c.testnet}, prices)
	if err != nil {
		return err
	}
	return dca(ctx, client, c, logger)
}

// errInterrupted: the bot was interrupted and stopped.
var errInterrupted = errors.New("interrupted")

// cleanupTimeout bounds the cancels an interrupted bot sends.
const cleanupTimeout = 10 * time.Second

// dca is the bot itself; it sees only the venue-neutral exchange.Client.
// When ctx is cancelled (the user interrupted it), it cancels the orders it
// left resting, unless c.keepOrders, and returns errInterrupted.
func dca(ctx context.Context, client exchange.Client, c config, logger *slog.Logger) error {
	placed := map[string]int{} // order id -> round placed
	err := trade(ctx, client, c, logger, placed)
	if ctx.Err() == nil {
		return err
	}
	if c.keepOrders {
		logger.Warn("interrupted: leaving resting orders on the book (--keep-orders)", slog.Int("orders", len(placed)))
		return errInterrupted
	}
	// The bot's context is done; the cancels get one of their own.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	cancelled, failed := 0, 0
	for id := range placed {
		o, err := client.CancelOrder(cctx, c.symbol, id)
		switch {
		case err == nil:
			cancelled++
			logger.Info("cancelled a resting order", slog.String("id", id), slog.String("status", string(o.Status)))
		case errors.Is(err, exchange.ErrNotFound):
			// Filled or cancelled already: nothing rests.
		default:
			failed++
			logger.Error("cancelling a resting order failed; it may still rest", slog.String("id", id), slog.Any("err", err))
		}
	}
	logger.Warn("interrupted: resting orders cancelled", slog.Int("cancelled", cancelled), slog.Int("failed", failed))
	if failed > 0 {
		return fmt.Errorf("%w; %d resting orders could not be cancelled", errInterrupted, failed)
	}
	return errInterrupted
}

// trade runs the rounds, recording in placed the orders that may rest.
func trade(ctx context.Context, client exchange.Client, c config, logger *slog.Logger, placed map[string]int) error {
	info, err := symbolInfo(ctx, client, c.symbol)
	if err != nil {
		return err
	}
	tick := time.NewTicker(c.interval)
	defer tick.Stop()
	for round := 1; c.rounds == 0 || round <= c.rounds; round++ {
		q, err := client.Reference(ctx, c.symbol)
		if err != nil {
			return err
		}
		price := q.Bid.Truncate(int32(-info.Filters.TickSize.Exponent()))
		qty := c.quote.Div(price).Truncate(int32(-info.Filters.StepSize.Exponent()))
		o, err := client.PlaceOrder(ctx, exchange.Order{Symbol: c.symbol, Side: exchange.Buy, Type: exchange.Limit,
			TimeInForce: exchange.GTC, Price: price, Quantity: qty})
		var v *limits.Violation
		switch {
		case errors.As(err, &v):
			logger.Warn("order refused by the guard", slog.String("rule", string(v.Rule)), slog.String("detail", v.Error()))
		case errors.Is(err, exchange.ErrOutcomeUnknown):
			logger.Warn("order outcome unknown; it will be looked up", slog.Any("err", err))
		case err != nil:
			return err
		default:
			placed[o.ID] = round
			logger.Info("order placed", slog.Int("round", round), slog.String("order", o.String()), slog.String("id", o.ID), slog.String("status", string(o.Status)))
		}
		for id, r := range placed {
			if round-r < c.stale {
				continue
			}
			got, err := client.GetOrder(ctx, c.symbol, id)
			if err == nil && got.Status.Open() {
				got, err = client.CancelOrder(ctx, c.symbol, id)
			}
			if err != nil {
				logger.Warn("order look-up failed", slog.String("id", id), slog.Any("err", err))
				continue
			}
			logger.Info("order closed", slog.String("id", id), slog.String("status", string(got.Status)), slog.String("filled", got.Executed.String()))
			delete(placed, id)
		}
		if c.rounds != 0 && round == c.rounds {
			break
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
	bals, err := client.Balances(ctx)
	if err != nil {
		return err
	}
	for _, b := range bals {
		if b.Asset == info.Base || b.Asset == info.Quote {
			logger.Info("balance", slog.String("asset", b.Asset), slog.String("free", b.Free.String()), slog.String("locked", b.Locked.String()))
		}
	}
	return nil
}

func symbolInfo(ctx context.Context, client exchange.Client, symbol string) (exchange.SymbolInfo, error) {
	syms, err := client.Symbols(ctx)
	if err != nil {
		return exchange.SymbolInfo{}, err
	}
	for _, s := range syms {
		if s.Symbol == symbol {
			return s, nil
		}
	}
	return exchange.SymbolInfo{}, fmt.Errorf("the venue lists no symbol %q", symbol)
}

func loadPolicy(path string) (*limits.Policy, error) {
	if path == "" {
		return limits.ParsePolicy(defaultPolicy)
	}
	return limits.LoadPolicy(path)
}

// openKeystore opens the keystore with KEYFENCE_PASSPHRASE or a prompt.
func openKeystore(ctx context.Context, path string) (*keystore.Keystore, error) {
	if path == "" {
		return nil, errors.New("--keystore is required with --base-url")
	}
	pass := []byte(os.Getenv("KEYFENCE_PASSPHRASE"))
	if len(pass) == 0 {
		fd := int(os.Stdin.Fd())
		if !term.IsTerminal(fd) {
			return nil, errors.New("set KEYFENCE_PASSPHRASE or run in a terminal")
		}
		fmt.Fprint(os.Stderr, "Keystore passphrase: ")
		p, err := term.ReadPassword(fd)
		fmt.Fprintln(os.Stderr)
		if err != nil {
			return nil, err
		}
		pass = p
	}
	defer signer.Wipe(pass)
	return keystore.Open(ctx, path, pass)
}

// ephemeralKeystore creates a keystore in a new temporary directory, which
// the caller removes.
func ephemeralKeystore(ctx context.Context) (*keystore.Keystore, string, error) {
	dir, err := os.MkdirTemp("", "keyfence-bot-")
	if err != nil {
		return nil, "", err
	}
	pass := []byte(randomHex(16))
	defer signer.Wipe(pass)
	ks, err := keystore.Create(ctx, filepath.Join(dir, "keys.kfs"), pass)
	if err != nil {
		os.RemoveAll(dir)
		return nil, "", err
	}
	return ks, dir, nil
}
