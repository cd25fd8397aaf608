package gateway

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/keyfence/keyfence/exchange/exchangetest"
)

// simPaths records the paths a simulated venue served, with the API key
// each came with, from the simulator's request log.
type simPaths struct {
	mu   sync.Mutex
	seen []string // "PATH apiKey"
}

func (s *simPaths) Enabled(context.Context, slog.Level) bool { return true }
func (s *simPaths) WithAttrs([]slog.Attr) slog.Handler       { return s }
func (s *simPaths) WithGroup(string) slog.Handler            { return s }
func (s *simPaths) Handle(_ context.Context, r slog.Record) error {
	var path, key string
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "path":
			path = a.Value.String()
		case "apiKey":
			key = a.Value.String()
		}
		return true
	})
	s.mu.Lock()
	s.seen = append(s.seen, path+" "+key)
	s.mu.Unlock()
	return nil
}

func (s *simPaths) count(prefix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, p := range s.seen {
		if strings.HasPrefix(p, prefix) {
			n++
		}
	}
	return n
}

// What CCXT's binance loadMarkets asks for with default options, through
// the gateway: the margin pair lists are reads on the Spot host, verified
// and re-signed with the venue key; the futures exchangeInfo belongs to
// hosts the gateway has no upstream for and is answered by the gateway,
// listing no markets, without reaching the upstream.
func TestBinanceStartupRoutesOfCCXT(t *testing.T) {
	seen := &simPaths{}
	e := newEnv(t, envOpts{binance: []exchangetest.BinanceOption{exchangetest.WithBinanceLogger(slog.New(seen))}})
	bot := e.issue("bot", Binance, "binance-main")

	for _, path := range []string{"/fapi/v1/exchangeInfo", "/dapi/v1/exchangeInfo"} {
		st, body := e.binanceCall("", "", "GET", path, nil)
		var info struct {
			Symbols    []json.RawMessage `json:"symbols"`
			ServerTime int64             `json:"serverTime"`
		}
		if st != 200 || json.Unmarshal(body, &info) != nil || info.Symbols == nil || len(info.Symbols) != 0 || info.ServerTime == 0 {
			t.Fatalf("%s: %d %s; want an exchangeInfo listing no symbols", path, st, body)
		}
		if n := seen.count(path); n != 0 {
			t.Fatalf("%s reached the upstream %d times; the gateway must answer it itself", path, n)
		}
		// Only the GET is classified; anything else on those hosts is refused.
		st, body = e.binanceCall(bot.APIKey, bot.Secret, "POST", strings.Replace(path, "exchangeInfo", "order", 1), url.Values{
			"symbol": {"BTCUSDT"}, "side": {"BUY"}, "type": {"MARKET"}, "quantity": {"1"}})
		if code, msg := binanceErr(t, body); st != 400 || code != -1002 || !strings.Contains(msg, "rule endpoint") {
			t.Fatalf("a futures order: %d %d %s", st, code, msg)
		}
	}

	for _, path := range []string{"/sapi/v1/margin/allPairs", "/sapi/v1/margin/isolated/allPairs"} {
		st, body := e.binanceCall(bot.APIKey, bot.Secret, "GET", path, nil)
		if st != 200 || strings.TrimSpace(string(body)) != "[]" {
			t.Fatalf("%s: %d %s", path, st, body)
		}
		if n := seen.count(path + " " + e.venueKey); n != 1 {
			t.Fatalf("%s reached the upstream with the venue key %d times; want 1 (re-signed)", path, n)
		}
		// A read is verified like any other: a wrong secret is refused.
		st, body = e.binanceCall(bot.APIKey, "wrong-secret", "GET", path, nil)
		if code, _ := binanceErr(t, body); st != 400 || code != -1022 {
			t.Fatalf("%s with a wrong secret: %d %s", path, st, body)
		}
	}
	// Margin orders and transfers stay refused.
	st, body := e.binanceCall(bot.APIKey, bot.Secret, "POST", "/sapi/v1/margin/transfer", url.Values{"asset": {"BTC"}, "amount": {"1"}, "type": {"1"}})
	if code, msg := binanceErr(t, body); st != 400 || code != -1002 || !strings.Contains(msg, "rule class") {
		t.Fatalf("margin transfer: %d %d %s", st, code, msg)
	}
}

// CCXT's coinbase fetchBalance reads the Coinbase App's account list
// (GET /v2/accounts, same host and key as Advanced Trade): verified,
// re-signed and forwarded; any change under /v2 stays refused.
func TestCoinbaseV2AccountsThroughGateway(t *testing.T) {
	e := newEnv(t, envOpts{})
	bot := e.issue("cb-bot", Coinbase, "coinbase-main")
	st, b, _ := e.coinbaseCall(bot, "GET", "/v2/accounts", "", "")
	var list struct {
		Data []struct {
			Balance struct{ Amount, Currency string } `json:"balance"`
		} `json:"data"`
	}
	if st != 200 || json.Unmarshal(b, &list) != nil || len(list.Data) == 0 {
		t.Fatalf("v2 accounts: %d %s", st, b)
	}
	_, other, err := NewClient("other", Coinbase, "coinbase-main", IssueOptions{})
	must(t, err)
	other.APIKey = bot.APIKey
	if st, b, _ = e.coinbaseCall(other, "GET", "/v2/accounts", "", ""); st != 401 {
		t.Fatalf("v2 accounts with a wrong key: %d %s", st, b)
	}
	for _, path := range []string{"/v2/accounts", "/v2/accounts/btc/withdrawals"} {
		st, b, _ = e.coinbaseCall(bot, "POST", path, `{"amount":"1","currency":"BTC"}`, "")
		if st != 403 || !strings.Contains(string(b), "PERMISSION_DENIED") {
			t.Fatalf("POST %s: %d %s", path, st, b)
		}
	}
	if len(e.coinbase.Transfers()) != 0 {
		t.Fatal("a transfer reached the venue")
	}
}
