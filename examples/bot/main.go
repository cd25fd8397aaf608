// Command bot is a small dollar-cost-averaging bot wired with keyfence: an
// encrypted keystore, a policy, an audit log and a guarded venue client.
// Copy it as the start of your own bot.
//
// Against a simulated venue (the default; no account needed):
//
//	go run ./examples/bot [--venue binance|coinbase|kucoin]
//
// Against Binance's spot testnet, with a key you added to a keystore
// (keyfence keys add --name binance-bot --venue binance --api-key ... < secret):
//
//	KEYFENCE_PASSPHRASE=... go run ./examples/bot --testnet \
//	    --base-url https://testnet.binance.vision --keystore keys.kfs
//
// --testnet tells the client the venue is a testnet, which serves no /sapi:
// the key permission check is skipped and the audit log records the skip.
// Without --base-url, --testnet runs on the simulator's testnet mode.
//
// Every round it buys --quote worth of --symbol with a limit order priced
// at the best bid (so it rests as a maker) and cancels its orders that did
// not fill within --stale rounds. The guard refuses anything outside the
// policy; the refusal is logged and the bot goes on.
//
// Ctrl-C or SIGTERM stops it: it cancels the orders it left resting
// (--keep-orders leaves them), says what it cancelled, and exits with
// status 130. A second signal exits at once, leaving what still rests.
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/shopspring/decimal"
)

//go:embed policy.yaml
var defaultPolicy []byte

type config struct {
	venue      string
	baseURL    string // empty: start the simulated venue
	keystore   string
	key        string
	policy     string
	auditPath  string
	statePath  string
	symbol     string
	quote      decimal.Decimal
	interval   time.Duration
	rounds     int
	stale      int
	acceptRisk bool
	keepOrders bool // leave resting orders on the book when interrupted
	testnet    bool // the venue is Binance's Spot testnet (or the simulated one)
}

func main() {
	var c config
	var quote string
	flag.StringVar(&c.venue, "venue", "binance", "venue: binance, coinbase or kucoin")
	flag.StringVar(&c.baseURL, "base-url", "", "venue REST URL (default: a simulated venue on loopback)")
	flag.StringVar(&c.keystore, "keystore", os.Getenv("KEYFENCE_KEYSTORE"), "keystore file (passphrase from KEYFENCE_PASSPHRASE or a prompt)")
	flag.StringVar(&c.key, "key", "", "credential name in the keystore and the policy (default VENUE-bot)")
	flag.StringVar(&c.policy, "policy", "", "policy file (default: the embedded policy.yaml)")
	flag.StringVar(&c.auditPath, "audit", "bot-audit.jsonl", "audit log")
	flag.StringVar(&c.statePath, "state", "bot-limits.state", "limit state, kept across restarts")
	flag.StringVar(&c.symbol, "symbol", "", "symbol to buy (default BTCUSDT, BTC-USD or BTC-USDT)")
	flag.StringVar(&quote, "quote", "20", "quote amount per round")
	flag.DurationVar(&c.interval, "interval", 2*time.Second, "time between rounds")
	flag.IntVar(&c.rounds, "rounds", 5, "rounds to run; 0 runs until interrupted")
	flag.IntVar(&c.stale, "stale", 2, "cancel an order that has not filled after this many rounds")
	flag.BoolVar(&c.keepOrders, "keep-orders", false, "when interrupted, leave resting orders on the book instead of cancelling them")
	flag.BoolVar(&c.testnet, "testnet", false, "the venue is Binance's Spot testnet (no /sapi: the key check is skipped and audited); without --base-url, the simulated testnet")
	flag.Parse()
	q, err := decimal.NewFromString(quote)
	if err != nil || q.Sign() <= 0 {
		fmt.Fprintln(os.Stderr, "bot: --quote must be a positive decimal")
		os.Exit(2)
	}
	c.quote = q
	v, ok := venues[c.venue]
	if !ok {
		fmt.Fprintf(os.Stderr, "bot: unknown venue %q: use binance, coinbase or kucoin\n", c.venue)
		os.Exit(2)
	}
	if c.key == "" {
		c.key = c.venue + "-bot"
	}
	if c.symbol == "" {
		c.symbol = v.symbol
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sigs
		logger.Warn("interrupted: stopping; send the signal again to exit at once", slog.String("signal", s.String()))
		cancel()
		<-sigs
		logger.Error("second signal: exiting now; orders may still rest on the book")
		os.Exit(130)
	}()
	err = run(ctx, c, logger)
	switch {
	case errors.Is(err, errInterrupted):
		os.Exit(130)
	case err != nil:
		logger.Error("bot stopped", slog.Any("err", err))
		os.Exit(1)
	}
}
