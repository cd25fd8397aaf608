package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/exchange/binance"
	"github.com/keyfence/keyfence/limits"
	"github.com/shopspring/decimal"
)

func testConfig(t *testing.T, quote string) config {
	dir := t.TempDir()
	return config{
		venue: "binance", key: "binance-bot", auditPath: filepath.Join(dir, "audit.jsonl"), statePath: filepath.Join(dir, "limits.state"),
		symbol: "BTCUSDT", quote: decimal.RequireFromString(quote),
		interval: 10 * time.Millisecond, rounds: 3, stale: 1,
	}
}

// TestBotTradesWithinPolicy runs three rounds on the simulated venue: each
// round places an order, stale orders are cancelled, and the audit log
// records every decision.
func TestBotTradesWithinPolicy(t *testing.T) {
	c := testConfig(t, "20")
	var logs bytes.Buffer
	if err := run(context.Background(), c, slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
		t.Fatalf("bot: %v\n%s", err, logs.String())
	}
	out := logs.String()
	if n := strings.Count(out, `msg="order placed"`); n != 3 {
		t.Errorf("orders placed = %d, want 3:\n%s", n, out)
	}
	if n := strings.Count(out, `msg="order closed"`); n < 2 {
		t.Errorf("stale orders closed = %d, want at least 2:\n%s", n, out)
	}
	rep, err := audit.VerifyFiles(context.Background(), c.auditPath)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Records < 6 {
		t.Errorf("audit records = %d, want every decision recorded", rep.Records)
	}
}

// TestBotEveryVenue runs two rounds of the same bot on each simulated venue.
func TestBotEveryVenue(t *testing.T) {
	for name, v := range venues {
		t.Run(name, func(t *testing.T) {
			c := testConfig(t, "20")
			c.venue, c.key, c.symbol, c.rounds = name, name+"-bot", v.symbol, 2
			var logs bytes.Buffer
			if err := run(context.Background(), c, slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
				t.Fatalf("bot: %v\n%s", err, logs.String())
			}
			if n := strings.Count(logs.String(), `msg="order placed"`); n != 2 {
				t.Errorf("orders placed = %d, want 2:\n%s", n, logs.String())
			}
		})
	}
}

// TestBotOrderOverCapIsRefused: with a quote amount over the policy's
// per-order cap, every order is refused by the guard and the bot goes on.
func TestBotOrderOverCapIsRefused(t *testing.T) {
	c := testConfig(t, "80") // the policy caps an order at 50 USDT
	var logs bytes.Buffer
	if err := run(context.Background(), c, slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
		t.Fatalf("bot: %v\n%s", err, logs.String())
	}
	out := logs.String()
	if strings.Contains(out, `msg="order placed"`) {
		t.Errorf("an order over the cap was placed:\n%s", out)
	}
	if n := strings.Count(out, `msg="order refused by the guard" rule=order_notional`); n != 3 {
		t.Errorf("refusals = %d, want 3:\n%s", n, out)
	}
}

// cancelOn is a slog handler that cancels a context when a record with a
// given message is logged: the test interrupts the bot at a known point.
type cancelOn struct {
	slog.Handler
	msg    string
	cancel context.CancelFunc
}

func (h cancelOn) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.cancel()
	}
	return h.Handler.Handle(ctx, r)
}

// TestBotInterruptedCancelsRestingOrders interrupts the bot after its first
// order rests: it cancels the order at the venue, says so, and returns
// errInterrupted (exit status 130); with keepOrders it leaves the order.
func TestBotInterruptedCancelsRestingOrders(t *testing.T) {
	for _, keep := range []bool{false, true} {
		c := testConfig(t, "20")
		c.rounds, c.interval, c.stale, c.keepOrders = 0, time.Hour, 100, keep
		ctx, cancel := context.WithCancel(context.Background())
		var logs bytes.Buffer
		h := cancelOn{Handler: slog.NewTextHandler(&logs, nil), msg: "order placed", cancel: cancel}
		err := run(ctx, c, slog.New(h))
		cancel()
		if !errors.Is(err, errInterrupted) {
			t.Fatalf("keep=%v: run = %v, want errInterrupted\n%s", keep, err, logs.String())
		}
		out := logs.String()
		if keep {
			if !strings.Contains(out, "leaving resting orders on the book") || strings.Contains(out, "cancelled a resting order") {
				t.Errorf("keep-orders: the order was not left as asked:\n%s", out)
			}
			continue
		}
		if !strings.Contains(out, `msg="cancelled a resting order"`) || !strings.Contains(out, "cancelled=1 failed=0") {
			t.Errorf("the resting order was not cancelled and reported:\n%s", out)
		}
	}
}

// TestBotTestnet runs the bot with --testnet on the simulator's testnet
// mode, which serves no /sapi: the client skips the key check only because
// it was told, the audit log records the skip, and the bot trades.
func TestBotTestnet(t *testing.T) {
	c := testConfig(t, "20")
	c.testnet, c.rounds = true, 2
	var logs bytes.Buffer
	if err := run(context.Background(), c, slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
		t.Fatalf("bot: %v\n%s", err, logs.String())
	}
	if n := strings.Count(logs.String(), `msg="order placed"`); n != 2 {
		t.Errorf("orders placed = %d, want 2:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "testnet=true") {
		t.Errorf("the bot did not say it runs on the testnet:\n%s", logs.String())
	}
	data, err := os.ReadFile(c.auditPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"rule":"`+binance.RuleKeyCheckSkipped+`"`) {
		t.Errorf("the audit log does not record the skipped key check:\n%s", data)
	}
	if _, err := audit.VerifyFiles(context.Background(), c.auditPath); err != nil {
		t.Fatal(err)
	}

	// Without --testnet the key check, which needs /sapi, fails closed
	// against a testnet: exchange/binance's TestSimTestnetSkipsKeyCheckOnlyWhenTold.
}

// TestBotTestnetOtherVenue: --testnet is Binance's only.
func TestBotTestnetOtherVenue(t *testing.T) {
	c := testConfig(t, "20")
	c.venue, c.key, c.symbol, c.testnet = "kucoin", "kucoin-bot", "BTC-USDT", true
	err := run(context.Background(), c, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "--testnet") {
		t.Fatalf("err = %v", err)
	}
}

// onMessage is a slog handler that calls fn for each record with a given
// message, before logging it.
type onMessage struct {
	slog.Handler
	fn func(r slog.Record)
}

func (h onMessage) Handle(ctx context.Context, r slog.Record) error {
	h.fn(r)
	return h.Handler.Handle(ctx, r)
}

// TestBotKillSwitchFromOutside trips the kill switch of the running bot
// through the control socket it serves beside its state file: the next
// order is refused by the kill switch, and the bot keeps running.
func TestBotKillSwitchFromOutside(t *testing.T) {
	c := testConfig(t, "20")
	c.rounds, c.stale = 0, 100
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sock := limits.ControlSocket(c.statePath)
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
	var logs bytes.Buffer
	tripped, refused := false, false
	h := onMessage{Handler: slog.NewTextHandler(&logs, nil), fn: func(r slog.Record) {
		switch r.Message {
		case "order placed":
			if tripped {
				t.Error("an order was placed after the kill switch tripped")
				cancel()
				return
			}
			resp, err := client.Post("http://bot/v1/killswitch/trip", "application/json", strings.NewReader(`{"reason":"operator"}`))
			if err != nil {
				t.Errorf("trip through %s: %v", sock, err)
				cancel()
				return
			}
			resp.Body.Close()
			tripped = resp.StatusCode == http.StatusOK
		case "order refused by the guard":
			r.Attrs(func(a slog.Attr) bool {
				if a.Key == "rule" && a.Value.String() == string(limits.RuleKillSwitch) {
					refused = true
				}
				return true
			})
			cancel()
		}
	}}
	err := run(ctx, c, slog.New(h))
	if !errors.Is(err, errInterrupted) {
		t.Fatalf("run = %v\n%s", err, logs.String())
	}
	if !tripped || !refused {
		t.Fatalf("tripped %v, refused by the kill switch %v:\n%s", tripped, refused, logs.String())
	}
}
