package binance

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/exchangetest"
	"github.com/keyfence/keyfence/limits"
	"github.com/keyfence/keyfence/signer"
	"github.com/shopspring/decimal"
)

// simEnv is the full stack against the simulated Binance: limits.Guard over
// a MemoryStore with the client's PriceFeed, the real audit log, the rate
// guard built from exchangeInfo.
type simEnv struct {
	sim    *exchangetest.Binance
	c      *Client
	guard  *limits.Guard
	log    *audit.Log
	path   string
	apiKey string
}

var tradePerms = exchange.Permissions{Read: true, Trade: true, IPRestricted: true}

type simOpts struct {
	keyType signer.KeyType
	perms   exchange.Permissions
	simOpts []exchangetest.BinanceOption
	risks   exchange.KeyRisks
	testnet bool
}

func newSimEnv(t *testing.T, o simOpts) (*simEnv, error) {
	t.Helper()
	if o.keyType == "" {
		o.keyType = signer.KeyHMAC
	}
	sim := exchangetest.NewBinance(o.simOpts...)
	t.Cleanup(sim.Close)
	store := signer.NewMemory()
	t.Cleanup(func() { _ = store.Close() })
	env := &simEnv{sim: sim, apiKey: "sim-" + string(o.keyType)}
	info := signer.KeyInfo{Name: "bot", Venue: Venue, APIKey: env.apiKey, Type: o.keyType}
	key := exchangetest.BinanceKey{APIKey: env.apiKey, Permissions: o.perms}
	switch o.keyType {
	case signer.KeyHMAC:
		key.HMACSecret = []byte(canarySecret)
		if err := store.Import(info, []byte(canarySecret), nil); err != nil {
			t.Fatal(err)
		}
	default:
		var priv any
		if o.keyType == signer.KeyEd25519 {
			pub, k, err := ed25519.GenerateKey(rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			priv, key.PublicKey = k, pub
		} else {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				t.Fatal(err)
			}
			priv, key.PublicKey = k, &k.PublicKey
		}
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		if err := store.Import(info, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil); err != nil {
			t.Fatal(err)
		}
	}
	sim.AddKey(key)

	nd := func(s string) decimal.NullDecimal { return decimal.NewNullDecimal(decimal.RequireFromString(s)) }
	pol := &limits.Policy{Version: 1, Credentials: map[string]*limits.CredentialPolicy{
		"bot": {
			Venue: Venue, OrderTypes: []exchange.OrderType{exchange.Limit, exchange.Market}, MaxOpenOrders: 10, PriceBand: nd("0.05"),
			Quotes:  map[string]limits.Caps{"USDT": {MaxOrderNotional: nd("1000"), MaxDailyNotional: nd("5000")}},
			Symbols: map[string]limits.SymbolPolicy{"BTCUSDT": {}},
		},
	}}
	prices := NewPriceFeed(PriceFeedConfig{BaseURL: sim.URL(), MaxAge: 500 * time.Millisecond})
	g, err := limits.NewGuard(pol, limits.NewMemoryStore(), limits.WithPrices(Venue, prices))
	if err != nil {
		t.Fatal(err)
	}
	env.guard = g
	env.path = filepath.Join(t.TempDir(), "audit.log")
	env.log, err = audit.Open(context.Background(), env.path, audit.NoSync())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.log.Close() })
	env.c, err = New(context.Background(), Config{
		BaseURL: sim.URL(), Credential: "bot", Signer: store, Guard: g, Audit: env.log,
		Prices: prices, KeyRisks: o.risks, RecvWindow: 5 * time.Second, Testnet: o.testnet,
	})
	if err == nil {
		t.Cleanup(func() { _ = env.c.Close() })
	}
	return env, err
}

func mustSim(t *testing.T, o simOpts) *simEnv {
	t.Helper()
	if !o.perms.Read && !o.perms.Trade {
		o.perms = tradePerms
	}
	env, err := newSimEnv(t, o)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func TestSimPlaceQueryCancel(t *testing.T) {
	for _, kt := range []signer.KeyType{signer.KeyHMAC, signer.KeyEd25519, signer.KeyRSA} {
		t.Run(string(kt), func(t *testing.T) {
			env := mustSim(t, simOpts{keyType: kt})
			ctx := context.Background()
			o, err := env.c.PlaceOrder(ctx, exchange.Order{Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.Limit,
				Quantity: dec("0.001"), Price: dec("49000")})
			if err != nil {
				t.Fatal(err)
			}
			if o.ID == "" || o.Status != exchange.StatusNew {
				t.Fatalf("placed %+v", o)
			}
			got, err := env.c.GetOrder(ctx, "BTCUSDT", o.ID)
			if err != nil || got.Status != exchange.StatusNew || got.ClientID != o.ClientID {
				t.Fatalf("get %+v %v", got, err)
			}
			open, err := env.c.OpenOrders(ctx, "")
			if err != nil || len(open) != 1 || open[0].ID != o.ID {
				t.Fatalf("open %+v %v", open, err)
			}
			c, err := env.c.CancelOrder(ctx, "BTCUSDT", o.ID)
			if err != nil || c.Status != exchange.StatusCanceled {
				t.Fatalf("cancel %+v %v", c, err)
			}
			// A market buy by quote amount fills and moves the balances.
			m, err := env.c.PlaceOrder(ctx, exchange.Order{Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.Market, QuoteQuantity: dec("100")})
			if err != nil || m.Status != exchange.StatusFilled {
				t.Fatalf("market %+v %v", m, err)
			}
			bals, err := env.c.Balances(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range bals {
				if b.Asset == "USDT" && !b.Free.LessThan(dec("10000")) {
					t.Fatalf("USDT not spent: %+v", b)
				}
			}
			fills, err := env.c.Fills(ctx, "BTCUSDT")
			if err != nil || len(fills) == 0 || fills[0].OrderID != m.ID {
				t.Fatalf("fills %+v %v", fills, err)
			}
			// The guard refuses what the policy does not allow, before signing.
			_, err = env.c.PlaceOrder(ctx, exchange.Order{Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.Limit,
				Quantity: dec("1"), Price: dec("50000")})
			if !errors.Is(err, limits.ErrDenied) {
				t.Fatalf("over the cap: %v", err)
			}
			if _, err := env.c.Do(ctx, &exchange.Request{Method: "POST", Path: "/sapi/v1/capital/withdraw/apply",
				Params: params("coin", "BTC", "address", "x", "amount", "1")}); !errors.Is(err, limits.ErrDenied) {
				t.Fatalf("withdraw: %v", err)
			}
			if len(env.sim.Withdrawals()) != 0 {
				t.Fatal("a withdrawal reached the venue")
			}
			// The audit log verifies and holds every decision.
			if err := env.log.Sync(); err != nil {
				t.Fatal(err)
			}
			rep, err := audit.VerifyFiles(ctx, env.path)
			if err != nil || rep.Records < 8 {
				t.Fatalf("audit %+v %v", rep, err)
			}
		})
	}
}

// A 5xx before the matching engine and a lost answer after it: both are
// unknown outcomes; the order placed behind the lost answer is found by its
// client order id.
func TestSimOutcomeUnknown(t *testing.T) {
	env := mustSim(t, simOpts{})
	ctx := context.Background()
	order := exchange.Order{Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.Limit, Quantity: dec("0.001"), Price: dec("49000")}

	env.sim.FailNext(http.StatusServiceUnavailable)
	o, err := env.c.PlaceOrder(ctx, order)
	if !errors.Is(err, exchange.ErrOutcomeUnknown) || o.Status != exchange.StatusUnknown {
		t.Fatalf("503: %+v %v", o, err)
	}
	if _, err := env.c.GetOrderByClientID(ctx, "BTCUSDT", o.ClientID); !errors.Is(err, exchange.ErrNotFound) {
		t.Fatalf("order behind a 503 before execution: %v", err)
	}

	env.sim.FailNextAfterExecuting(http.StatusInternalServerError)
	o, err = env.c.PlaceOrder(ctx, order)
	if !errors.Is(err, exchange.ErrOutcomeUnknown) || !strings.Contains(err.Error(), o.ClientID) {
		t.Fatalf("500: %v", err)
	}
	found, err := env.c.GetOrderByClientID(ctx, "BTCUSDT", o.ClientID)
	if err != nil || found.Status != exchange.StatusNew {
		t.Fatalf("lookup after a lost answer: %+v %v", found, err)
	}
}

func TestSimRefusesTooPowerfulKey(t *testing.T) {
	_, err := newSimEnv(t, simOpts{perms: exchange.Permissions{Read: true, Trade: true, Withdraw: true, IPRestricted: true}})
	if !errors.Is(err, exchange.ErrKeyTooPowerful) || !strings.Contains(err.Error(), "withdrawals are enabled") {
		t.Fatalf("err = %v", err)
	}
	_, err = newSimEnv(t, simOpts{perms: exchange.Permissions{Read: true, Trade: true}})
	if !errors.Is(err, exchange.ErrKeyTooPowerful) || !strings.Contains(err.Error(), "no IP restriction") {
		t.Fatalf("err = %v", err)
	}
	if _, err := newSimEnv(t, simOpts{perms: exchange.Permissions{Read: true, Trade: true}, risks: exchange.KeyRisks{UnrestrictedIP: true}}); err != nil {
		t.Fatalf("accepted risk: %v", err)
	}
}

// The simulator's clock runs 20 s ahead: the client measures the offset
// and its signed requests land inside the receive window.
func TestSimClockOffset(t *testing.T) {
	env := mustSim(t, simOpts{simOpts: []exchangetest.BinanceOption{
		exchangetest.WithBinanceClock(func() time.Time { return time.Now().Add(20 * time.Second) })}})
	if off := env.c.Offset(); off < 19*time.Second || off > 21*time.Second {
		t.Fatalf("offset %s", off)
	}
	if _, err := env.c.Balances(context.Background()); err != nil {
		t.Fatal(err)
	}
}
