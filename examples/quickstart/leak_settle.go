package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/binance"
	"github.com/keyfence/keyfence/exchange/coinbase"
	"github.com/keyfence/keyfence/exchange/kucoin"
	"github.com/keyfence/keyfence/keystore"
	"github.com/keyfence/keyfence/limits"
	"github.com/shopspring/decimal"
)

// The leak replay's rows on settlement and reconciliation. Each runs on a
// venue of its own (a fresh simulator, keystore, state and audit log), so
// that the kill switch the main replay trips does not hide what it shows.

// settleRun is a fresh simulated venue with the bot's guarded client.
type settleRun struct {
	venue  string
	market market
	v      *venueRun
	bot    client
	guard  *limits.Guard
	ks     *keystore.Keystore
	done   func()
}

func newSettleRun(ctx context.Context, venue string) (*settleRun, error) {
	kit := venues[venue]
	dir, err := os.MkdirTemp("", "keyfence-quickstart-settle-")
	if err != nil {
		return nil, err
	}
	r := &settleRun{venue: venue, market: kit.market}
	var closers []func()
	r.done = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
		os.RemoveAll(dir)
	}
	fail := func(err error) (*settleRun, error) { r.done(); return nil, err }
	// Small KDF parameters: this keystore lives for one row.
	r.ks, err = keystore.Create(ctx, filepath.Join(dir, "keys.kfs"), []byte(randomHex(16)),
		keystore.WithKDFParams(keystore.KDFParams{Time: 1, MemoryKiB: 8 << 10, Threads: 1}))
	if err != nil {
		return fail(err)
	}
	closers = append(closers, func() { r.ks.Close() })
	log, err := audit.Open(ctx, filepath.Join(dir, "audit.jsonl"))
	if err != nil {
		return fail(err)
	}
	closers = append(closers, func() { log.Close() })
	policy, err := r.market.policy()
	if err != nil {
		return fail(err)
	}
	// Denials do not trip the switch here: the row shows what holds the
	// orders back, and what trips it.
	off := 0
	policy.KillSwitch.MaxDenials = &off
	store := limits.NewMemoryStore()
	r.v, err = kit.start(ctx, r.ks, &deps{signer: r.ks.Signer(), audit: log, store: store,
		guard: func(prices exchange.PriceSource) (*limits.Guard, error) {
			g, err := limits.NewGuard(policy, store, limits.WithPrices(venue, prices))
			r.guard = g
			return g, err
		}})
	if err != nil {
		return fail(err)
	}
	closers = append(closers, r.v.close)
	if r.bot, err = r.v.connect(ctx, "bot"); err != nil {
		return fail(err)
	}
	if c, ok := r.bot.(interface{ Close() error }); ok {
		closers = append(closers, func() { _ = c.Close() })
	}
	return r, nil
}

// noStatusOrder is a resting limit buy on the venue's route whose answer
// states no status and no fills: Binance with newOrderRespType=ACK,
// KuCoin's POST /api/v1/hf/orders, Coinbase's create order.
func noStatusOrder(m market, price decimal.Decimal) *exchange.Request {
	qty := "0.002"
	switch m.Venue {
	case binance.Venue:
		return &exchange.Request{Method: http.MethodPost, Path: "/api/v3/order", Params: exchange.Params{
			{Key: "symbol", Value: m.BTC}, {Key: "side", Value: "BUY"}, {Key: "type", Value: "LIMIT"}, {Key: "timeInForce", Value: "GTC"},
			{Key: "quantity", Value: qty}, {Key: "price", Value: price.String()}, {Key: "newOrderRespType", Value: "ACK"}}}
	case kucoin.Venue:
		return &exchange.Request{Method: http.MethodPost, Path: "/api/v1/hf/orders", Body: []byte(
			`{"symbol":"` + m.BTC + `","side":"buy","type":"limit","price":"` + price.String() + `","size":"` + qty + `"}`)}
	}
	return &exchange.Request{Method: http.MethodPost, Path: coinbase.Prefix + "/orders", Body: []byte(
		`{"product_id":"` + m.BTC + `","side":"BUY","order_configuration":{"limit_limit_gtc":{"base_size":"` + qty + `","limit_price":"` + price.String() + `"}}}`)}
}

// ackFlood floods the venue with 20 resting orders whose answers state no
// status and no fills. Each holds its full value and an open-order slot
// until keyfence sees it closed, so the policy's 10 open orders stop the
// rest.
func ackFlood(ctx context.Context, venue string) attempt {
	a := attempt{what: "a flood of 20 orders answered without status (ACK)"}
	r, err := newSettleRun(ctx, venue)
	if err != nil {
		a.result = "setup failed: " + err.Error()
		return a
	}
	defer r.done()
	q, err := r.bot.Reference(ctx, r.market.BTC)
	if err != nil {
		a.result = "setup failed: " + err.Error()
		return a
	}
	price := q.Bid.Mul(decimal.RequireFromString("0.99")).Round(2)
	accepted, refused, rule := 0, 0, ""
	for range 20 {
		_, err := r.bot.Do(ctx, noStatusOrder(r.market, price))
		var v *limits.Violation
		switch {
		case err == nil:
			accepted++
		case errors.As(err, &v):
			refused++
			rule = string(v.Rule)
		default:
			a.result = "unexpected: " + oneLine(err)
			return a
		}
	}
	tracked, _ := r.guard.TrackedOrders(ctx, "bot")
	a.refused = accepted <= 10 && refused > 0 && len(tracked) == accepted
	a.result = fmt.Sprintf("%s: %d held at full value until seen closed, %d refused", rule, accepted, refused)
	return a
}

// foreignOrder uses the bot's key outside keyfence (signed with the venue's
// scheme by the key's backend, no guard, no audit record), as a leaked
// key is used: reconciliation finds the order and trips the kill switch.
func foreignOrder(ctx context.Context, venue string) attempt {
	a := attempt{what: "a foreign order placed with the leaked key directly"}
	r, err := newSettleRun(ctx, venue)
	if err != nil {
		a.result = "setup failed: " + err.Error()
		return a
	}
	defer r.done()
	q, err := r.bot.Reference(ctx, r.market.BTC)
	if err != nil {
		a.result = "setup failed: " + err.Error()
		return a
	}
	if err := placeDirect(ctx, r, q.Bid.Mul(decimal.RequireFromString("0.98")).Round(2)); err != nil {
		a.result = "setup failed: " + err.Error()
		return a
	}
	rec, ok := r.bot.(interface {
		Reconcile(ctx context.Context) (exchange.ReconcileReport, error)
	})
	if !ok {
		a.result = "the client does not reconcile"
		return a
	}
	rep, err := rec.Reconcile(ctx)
	tripped, _ := r.guard.Tripped(ctx)
	a.refused = errors.Is(err, exchange.ErrForeignOrder) && len(rep.Foreign) == 1 && tripped
	a.result = "reconciliation: foreign order reported, kill switch tripped"
	if !a.refused {
		a.result = fmt.Sprintf("not detected (%d foreign, tripped %v)", len(rep.Foreign), tripped)
	}
	return a
}

// placeDirect places a resting buy with the bot's key, signed outside
// keyfence.
func placeDirect(ctx context.Context, r *settleRun, price decimal.Decimal) error {
	sg := r.ks.Signer()
	key, err := sg.Info(ctx, "bot")
	if err != nil {
		return err
	}
	var s exchange.Scheme
	req := noStatusOrder(r.market, price)
	req.Credential = "bot"
	switch r.venue {
	case binance.Venue:
		s, err = binance.NewScheme(0)
		req.Params = append(req.Params, exchange.Param{Key: "newClientOrderId", Value: "attacker-1"})
	case kucoin.Venue:
		s, err = kucoin.NewScheme("2")
		req.Body = append([]byte(`{"clientOid":"attacker-1",`), req.Body[1:]...)
	default:
		s, err = coinbase.NewScheme(r.v.url)
		req.Body = append([]byte(`{"client_order_id":"attacker-1",`), req.Body[1:]...)
	}
	if err != nil {
		return err
	}
	now := time.Now()
	payload, err := s.Prepare(nil, req, key, now)
	if err != nil {
		return err
	}
	var w exchange.Wire
	if err := s.Sign(ctx, sg, key, req, payload, now, &w); err != nil {
		return err
	}
	resp, err := exchange.Do(ctx, http.DefaultClient, r.v.url, &w)
	if err != nil {
		return err
	}
	if resp.Status != http.StatusOK {
		return fmt.Errorf("the venue refused the direct order: HTTP %d %s", resp.Status, exchange.TrimMessage(string(resp.Body)))
	}
	return nil
}

func oneLine(err error) string { return exchange.TrimMessage(err.Error()) }
