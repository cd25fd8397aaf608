// Command gateway runs keyfence's gateway in front of a simulated Binance
// and a bot written with go-binance that knows nothing of keyfence: the
// only changes to the bot are its base URL and the credential the gateway
// issued. Then it replays the December 2022 leak through the same client:
// the attacker holds everything the bot's host holds, and every attempt is
// refused.
//
//	cd examples/gateway && go run .
//
// It needs no account and no network. It creates a temporary keystore
// holding the venue key, a client registry, a limit state file and a
// durable audit log, starts the simulated venue and the gateway on
// loopback, and exits 1 if any attack is not refused, the account lost
// value or the audit log does not verify.
package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	binance "github.com/adshao/go-binance/v2"
	"github.com/adshao/go-binance/v2/common"
	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/exchangetest"
	"github.com/keyfence/keyfence/gateway"
	"github.com/keyfence/keyfence/keystore"
	"github.com/keyfence/keyfence/limits"
	"github.com/keyfence/keyfence/signer"
	"github.com/shopspring/decimal"
)

//go:embed policy.yaml
var policyYAML []byte

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gateway example:", err)
		os.Exit(1)
	}
}

// stack is the simulated venue and the gateway in front of it.
type stack struct {
	sim      *exchangetest.Binance
	venueKey string
	gw       *gateway.Gateway
	gwURL    string
	auditAt  string
	close    func()
}

// start builds the stack in dir: the venue key goes into an encrypted
// keystore, and the gateway signs with it from there.
func start(ctx context.Context, dir string) (*stack, error) {
	s := &stack{venueKey: "venue-api-key"}
	venueSecret := randomHex(32)
	s.sim = exchangetest.NewBinance()
	s.sim.AddKey(exchangetest.BinanceKey{APIKey: s.venueKey, HMACSecret: []byte(venueSecret),
		Permissions: exchange.Permissions{Read: true, Trade: true, IPRestricted: true}})
	closers := []func(){s.sim.Close}
	s.close = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	fail := func(err error) (*stack, error) { s.close(); return nil, err }

	// The gateway's side of the trust boundary: keystore, registry, policy,
	// state and audit log. The bot's host holds none of them.
	ks, err := keystore.Create(ctx, filepath.Join(dir, "keys.kfs"), []byte("example passphrase"),
		keystore.WithKDFParams(keystore.KDFParams{Time: 1, MemoryKiB: 8 * 1024, Threads: 1}))
	if err != nil {
		return fail(err)
	}
	closers = append(closers, func() { _ = ks.Close() })
	if err := ks.Add(ctx, keystore.Entry{Name: "binance-main", Venue: "binance", APIKey: s.venueKey, Type: signer.KeyHMAC}, []byte(venueSecret), nil); err != nil {
		return fail(err)
	}
	if err := ks.Add(ctx, keystore.Entry{Name: gateway.RegistryKeyName, Venue: "gateway", APIKey: "client-registry", Type: signer.KeyHMAC}, []byte(randomHex(32)), nil); err != nil {
		return fail(err)
	}
	clients, err := gateway.OpenClients(ctx, filepath.Join(dir, "gateway-clients.json"), ks.Signer(), gateway.RegistryKeyName)
	if err != nil {
		return fail(err)
	}
	policy, err := limits.ParsePolicy(policyYAML)
	if err != nil {
		return fail(err)
	}
	store, err := limits.OpenFileStore(filepath.Join(dir, "limits.state"))
	if err != nil {
		return fail(err)
	}
	closers = append(closers, func() { _ = store.Close() })
	s.auditAt = filepath.Join(dir, "audit.jsonl")
	log, err := audit.Open(ctx, s.auditAt) // durable: every record is on disk before its request is signed
	if err != nil {
		return fail(err)
	}
	closers = append(closers, func() { _ = log.Close() })
	s.gw, err = gateway.New(ctx, gateway.Config{Signer: ks.Signer(), Policy: policy, Store: store, Audit: log,
		Clients: clients, Upstreams: map[string]string{gateway.Binance: s.sim.URL()}})
	if err != nil {
		return fail(err)
	}
	h, _ := s.gw.Handler(gateway.Binance)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	closers = append(closers, func() { _ = srv.Close() })
	s.gwURL = "http://" + l.Addr().String()
	return s, nil
}

// issue registers a client credential for the venue key: what the bot gets.
func (s *stack) issue(name string, publicKeyPEM []byte) (gateway.Issued, error) {
	cl, out, err := gateway.NewClient(name, gateway.Binance, "binance-main", gateway.IssueOptions{PublicKey: publicKeyPEM})
	if err != nil {
		return out, err
	}
	return out, s.gw.Clients().Add(cl)
}

// value is the venue account's worth in USDT at the simulator's prices.
func (s *stack) value() decimal.Decimal {
	total := decimal.Zero
	for _, b := range s.sim.Balances(s.venueKey) {
		amt := b.Free.Add(b.Locked)
		if b.Asset == "USDT" {
			total = total.Add(amt)
		} else if p, ok := s.sim.Price(b.Asset + "USDT"); ok {
			total = total.Add(amt.Mul(p))
		}
	}
	return total
}

func run(ctx context.Context, w io.Writer) error {
	dir, err := os.MkdirTemp("", "keyfence-gateway-example-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	s, err := start(ctx, dir)
	if err != nil {
		return err
	}
	defer s.close()
	issued, err := s.issue("bot", nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "gateway  %s (in front of the simulated Binance at %s)\n", s.gwURL, s.sim.URL())
	fmt.Fprintf(w, "client   %s: api key %s…, secret shown once to the bot\n\n", issued.Name, issued.APIKey[:8])
	before := s.value()

	// The bot, unchanged but for its base URL and credential.
	bot := binance.NewClient(issued.APIKey, issued.Secret)
	bot.BaseURL = s.gwURL
	if err := runBot(ctx, w, bot); err != nil {
		return fmt.Errorf("the bot failed through the gateway: %w", err)
	}

	fmt.Fprintln(w, "\nThe 2022 leak, replayed: the attacker has the bot's host, config and database.")
	refused, err := replayLeak(ctx, w, s, issued)
	if err != nil {
		return err
	}
	after := s.value()
	fmt.Fprintf(w, "\naccount value: %s USDT before, %s after\n", before.StringFixed(2), after.StringFixed(2))
	if after.LessThan(before.Mul(decimal.RequireFromString("0.999"))) {
		return errors.New("the account lost value")
	}
	if _, err := audit.VerifyFiles(ctx, s.auditAt); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	fmt.Fprintf(w, "%d attacks refused; the audit log verifies\n", refused)
	return nil
}

// runBot is a small go-binance bot: it reads its account, the market
// (exchange info, order book, 24 h ticker, book ticker), rests a limit
// order below the market, lists and cancels it, buys 50 USDT of BTC, lists
// its trades and opens its user data stream's listen key.
func runBot(ctx context.Context, w io.Writer, c *binance.Client) error {
	const sym = "BTCUSDT"
	acct, err := c.NewGetAccountService().Do(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "bot: account read, can trade: %v\n", acct.CanTrade)
	info, err := c.NewExchangeInfoService().Symbol(sym).Do(ctx)
	if err != nil {
		return err
	}
	depth, err := c.NewDepthService().Symbol(sym).Limit(5).Do(ctx)
	if err != nil {
		return err
	}
	stats, err := c.NewListPriceChangeStatsService().Symbol(sym).Do(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "bot: %s listed, %d bids on the book, last price %s\n", info.Symbols[0].Symbol, len(depth.Bids), stats[0].LastPrice)
	book, err := c.NewListBookTickersService().Symbol(sym).Do(ctx)
	if err != nil {
		return err
	}
	bid := decimal.RequireFromString(book[0].BidPrice)
	price := bid.Mul(decimal.RequireFromString("0.99")).Round(2).String()
	o, err := c.NewCreateOrderService().Symbol(sym).Side(binance.SideTypeBuy).Type(binance.OrderTypeLimit).
		TimeInForce(binance.TimeInForceTypeGTC).Quantity("0.001").Price(price).Do(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "bot: limit buy 0.001 BTC at %s: order %d %s\n", price, o.OrderID, o.Status)
	open, err := c.NewListOpenOrdersService().Symbol(sym).Do(ctx)
	if err != nil {
		return err
	}
	if _, err := c.NewCancelOrderService().Symbol(sym).OrderID(o.OrderID).Do(ctx); err != nil {
		return err
	}
	fmt.Fprintf(w, "bot: %d open order(s); cancelled %d\n", len(open), o.OrderID)
	m, err := c.NewCreateOrderService().Symbol(sym).Side(binance.SideTypeBuy).Type(binance.OrderTypeMarket).
		QuoteOrderQty("50").Do(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "bot: market buy for 50 USDT: %s BTC filled\n", m.ExecutedQuantity)
	trades, err := c.NewListTradesService().Symbol(sym).Do(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "bot: %d trade(s) listed\n", len(trades))
	lk, err := c.NewStartUserStreamService().Do(ctx)
	if err != nil {
		return err
	}
	if err := c.NewKeepaliveUserStreamService().ListenKey(lk).Do(ctx); err != nil {
		return err
	}
	fmt.Fprintf(w, "bot: user data stream listen key %s… opened and kept alive\n", lk[:8])
	return nil
}

// replayLeak plays the attacker with the bot's credential and returns how
// many attempts were refused; an attempt that succeeds is an error.
func replayLeak(ctx context.Context, w io.Writer, s *stack, issued gateway.Issued) (int, error) {
	atk := binance.NewClient(issued.APIKey, issued.Secret)
	atk.BaseURL = s.gwURL
	ask := func(sym string) decimal.Decimal {
		b, err := atk.NewListBookTickersService().Symbol(sym).Do(ctx)
		if err != nil || len(b) == 0 {
			return decimal.Zero
		}
		return decimal.RequireFromString(b[0].AskPrice)
	}
	btcAsk := ask("BTCUSDT")
	attacks := []struct {
		name string
		do   func() error
	}{
		{"the stolen client credential used at the venue itself", func() error {
			direct := binance.NewClient(issued.APIKey, issued.Secret)
			direct.BaseURL = s.sim.URL()
			_, err := direct.NewGetAccountService().Do(ctx)
			return err
		}},
		{"pump a thin coin the policy does not list (THINUSDT)", func() error {
			_, err := atk.NewCreateOrderService().Symbol("THINUSDT").Side(binance.SideTypeBuy).Type(binance.OrderTypeMarket).
				QuoteOrderQty("900").Do(ctx)
			return err
		}},
		{"buy BTC at twice the market", func() error {
			_, err := atk.NewCreateOrderService().Symbol("BTCUSDT").Side(binance.SideTypeBuy).Type(binance.OrderTypeLimit).
				TimeInForce(binance.TimeInForceTypeGTC).Quantity("0.001").Price(btcAsk.Mul(decimal.NewFromInt(2)).Round(2).String()).Do(ctx)
			return err
		}},
		{"one order far over the cap", func() error {
			_, err := atk.NewCreateOrderService().Symbol("BTCUSDT").Side(binance.SideTypeBuy).Type(binance.OrderTypeMarket).
				QuoteOrderQty("9000").Do(ctx)
			return err
		}},
		{"withdraw the BTC", func() error {
			_, err := atk.NewCreateWithdrawService().Coin("BTC").Address("bc1qattacker").Amount("0.5").Do(ctx)
			return err
		}},
		{"replay a signed order the bot sent", func() error { return replaySigned(s.gwURL, issued) }},
	}
	refused := 0
	for _, a := range attacks {
		err := a.do()
		if err == nil {
			return refused, fmt.Errorf("attack not refused: %s", a.name)
		}
		msg := err.Error()
		var apiErr *common.APIError
		if errors.As(err, &apiErr) {
			msg = fmt.Sprintf("code %d: %s", apiErr.Code, apiErr.Message)
		}
		if len(msg) > 150 {
			msg = msg[:150] + "…"
		}
		fmt.Fprintf(w, "refused: %s\n         %s\n", a.name, msg)
		refused++
	}
	return refused, nil
}

// replaySigned sends one signed order twice, as an attacker who captured
// it on the wire would: the second is refused as a replay. It returns the
// second answer's error.
func replaySigned(base string, issued gateway.Issued) error {
	q := url.Values{"symbol": {"BTCUSDT"}, "side": {"BUY"}, "type": {"LIMIT"}, "timeInForce": {"GTC"},
		"quantity": {"0.001"}, "price": {"40000"}}.Encode() + "&timestamp=" + strconv.FormatInt(time.Now().UnixMilli(), 10)
	m := hmac.New(sha256.New, []byte(issued.Secret))
	m.Write([]byte(q))
	q += "&signature=" + hex.EncodeToString(m.Sum(nil))
	var last string
	for range 2 {
		req, err := http.NewRequest(http.MethodPost, base+"/api/v3/order?"+q, nil)
		if err != nil {
			return err
		}
		req.Header.Set("X-MBX-APIKEY", issued.APIKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return errors.New(strings.TrimSpace(string(b)))
		}
		last = string(b)
	}
	return fmt.Errorf("unexpected: the replay was accepted: %s", last)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
