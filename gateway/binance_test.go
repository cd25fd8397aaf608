package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/keyfence/keyfence/audit"
)

func TestBinanceThroughGateway(t *testing.T) {
	e := newEnv(t, envOpts{})
	bot := e.issue("bot", Binance, "binance-main")

	// Market data goes through unsigned.
	st, body := e.binanceCall("", "", "GET", "/api/v3/ticker/bookTicker", url.Values{"symbol": {"BTCUSDT"}})
	if st != 200 || !strings.Contains(string(body), "bidPrice") {
		t.Fatalf("book ticker: %d %s", st, body)
	}
	// A read is verified and re-signed with the venue key.
	st, body = e.binanceCall(bot.APIKey, bot.Secret, "GET", "/api/v3/account", nil)
	if st != 200 || !strings.Contains(string(body), "balances") {
		t.Fatalf("account: %d %s", st, body)
	}
	// An order within the policy reaches the venue, placed with the venue's key.
	st, body = e.binanceCall(bot.APIKey, bot.Secret, "POST", "/api/v3/order", url.Values{
		"symbol": {"BTCUSDT"}, "side": {"BUY"}, "type": {"LIMIT"}, "timeInForce": {"GTC"},
		"quantity": {"0.001"}, "price": {"49000"}})
	if st != 200 {
		t.Fatalf("order: %d %s", st, body)
	}
	if n := len(e.binance.Orders(e.venueKey)); n != 1 {
		t.Fatalf("the venue holds %d orders of the venue key; want 1", n)
	}
	// Over the per-order cap: an invalid-order error naming the rule.
	st, body = e.binanceCall(bot.APIKey, bot.Secret, "POST", "/api/v3/order", url.Values{
		"symbol": {"BTCUSDT"}, "side": {"BUY"}, "type": {"LIMIT"}, "timeInForce": {"GTC"},
		"quantity": {"0.1"}, "price": {"49000"}})
	code, msg := binanceErr(t, body)
	if st != http.StatusBadRequest || code != -2010 || !strings.Contains(msg, "order_notional") {
		t.Fatalf("over-cap order: %d %d %s", st, code, msg)
	}
	// A withdrawal: a permission error naming the rule.
	st, body = e.binanceCall(bot.APIKey, bot.Secret, "POST", "/sapi/v1/capital/withdraw/apply", url.Values{
		"coin": {"BTC"}, "address": {"attacker"}, "amount": {"1"}})
	code, msg = binanceErr(t, body)
	if st != http.StatusBadRequest || code != -1002 || !strings.Contains(msg, "rule class") || !strings.Contains(msg, "has no operation privilege") {
		t.Fatalf("withdrawal: %d %d %s", st, code, msg)
	}
	if len(e.binance.Withdrawals()) != 0 {
		t.Fatal("a withdrawal reached the venue")
	}
	// An endpoint outside the route table.
	st, body = e.binanceCall(bot.APIKey, bot.Secret, "POST", "/sapi/v1/convert/acceptQuote", url.Values{"quoteId": {"1"}})
	if code, msg = binanceErr(t, body); st != http.StatusBadRequest || !strings.Contains(msg, "rule endpoint") {
		t.Fatalf("unknown endpoint: %d %d %s", st, code, msg)
	}
	// A wrong secret: Binance's signature error.
	st, body = e.binanceCall(bot.APIKey, "wrong-secret", "GET", "/api/v3/account", nil)
	if code, _ = binanceErr(t, body); st != http.StatusBadRequest || code != -1022 {
		t.Fatalf("wrong secret: %d %s", st, body)
	}
	// The venue's own key is worthless at the gateway.
	st, body = e.binanceCall(e.venueKey, canary, "GET", "/api/v3/account", nil)
	if code, _ = binanceErr(t, body); st != http.StatusUnauthorized || code != -2015 {
		t.Fatalf("venue key at the gateway: %d %s", st, body)
	}
	// The audit log holds the decisions under the venue credential and verifies.
	if err := e.auditLog.Sync(); err != nil {
		t.Fatal(err)
	}
	if _, err := audit.VerifyFiles(context.Background(), e.auditAt); err != nil {
		t.Fatalf("audit log: %v", err)
	}
}

func TestBinanceReplayRefused(t *testing.T) {
	e := newEnv(t, envOpts{})
	bot := e.issue("bot", Binance, "binance-main")
	q := signedQuery(bot.Secret, url.Values{"symbol": {"BTCUSDT"}, "side": {"BUY"}, "type": {"LIMIT"},
		"timeInForce": {"GTC"}, "quantity": {"0.001"}, "price": {"49000"}})
	st, body := e.send(e.srv[Binance].URL, bot.APIKey, "POST", "/api/v3/order", q)
	if st != 200 {
		t.Fatalf("first: %d %s", st, body)
	}
	st, body = e.send(e.srv[Binance].URL, bot.APIKey, "POST", "/api/v3/order", q)
	code, msg := binanceErr(t, body)
	if st != http.StatusBadRequest || code != -1022 || !strings.Contains(msg, "used before") {
		t.Fatalf("replay: %d %d %s", st, code, msg)
	}
	if n := len(e.binance.Orders(e.venueKey)); n != 1 {
		t.Fatalf("the replay placed an order: %d orders", n)
	}
}

func TestBinanceRevocationAtOnce(t *testing.T) {
	e := newEnv(t, envOpts{})
	bot := e.issue("bot", Binance, "binance-main")
	if st, body := e.binanceCall(bot.APIKey, bot.Secret, "GET", "/api/v3/account", nil); st != 200 {
		t.Fatalf("before: %d %s", st, body)
	}
	must(t, e.clients.Remove("bot"))
	st, body := e.binanceCall(bot.APIKey, bot.Secret, "GET", "/api/v3/account", nil)
	if code, _ := binanceErr(t, body); st != http.StatusUnauthorized || code != -2015 {
		t.Fatalf("after removal: %d %s", st, body)
	}
}

func TestBinanceACKAnswer(t *testing.T) {
	e := newEnv(t, envOpts{})
	bot := e.issue("bot", Binance, "binance-main")
	st, body := e.binanceCall(bot.APIKey, bot.Secret, "POST", "/api/v3/order", url.Values{
		"symbol": {"BTCUSDT"}, "side": {"BUY"}, "type": {"LIMIT"}, "timeInForce": {"GTC"},
		"quantity": {"0.001"}, "price": {"49000"}, "newOrderRespType": {"ACK"}})
	if st != 200 {
		t.Fatalf("order: %d %s", st, body)
	}
	var m map[string]json.RawMessage
	must(t, json.Unmarshal(body, &m))
	if len(m) != 5 || m["orderId"] == nil || m["transactTime"] == nil || m["status"] != nil {
		t.Fatalf("not an ACK answer: %s", body)
	}
}

// TestBinanceListenKey creates, keeps alive and closes a user-data-stream
// listen key through the gateway: the client shows its API key only, the
// gateway sends the venue's.
func TestBinanceListenKey(t *testing.T) {
	e := newEnv(t, envOpts{})
	bot := e.issue("bot", Binance, "binance-main")
	st, body := e.send(e.srv[Binance].URL, bot.APIKey, "POST", "/api/v3/userDataStream", "")
	var lk struct {
		ListenKey string `json:"listenKey"`
	}
	if st != 200 || json.Unmarshal(body, &lk) != nil || lk.ListenKey == "" {
		t.Fatalf("create: %d %s", st, body)
	}
	if st, body = e.send(e.srv[Binance].URL, bot.APIKey, "PUT", "/api/v3/userDataStream", "listenKey="+lk.ListenKey); st != 200 {
		t.Fatalf("keep alive: %d %s", st, body)
	}
	if st, body = e.send(e.srv[Binance].URL, bot.APIKey, "DELETE", "/api/v3/userDataStream", "listenKey="+lk.ListenKey); st != 200 {
		t.Fatalf("close: %d %s", st, body)
	}
	st, body = e.send(e.srv[Binance].URL, "unknown-key", "POST", "/api/v3/userDataStream", "")
	if code, _ := binanceErr(t, body); st != http.StatusUnauthorized || code != -2015 {
		t.Fatalf("unknown API key: %d %s", st, body)
	}
	// The venue key itself is not accepted at the gateway.
	st, body = e.send(e.srv[Binance].URL, e.venueKey, "POST", "/api/v3/userDataStream", "")
	if code, _ := binanceErr(t, body); st != http.StatusUnauthorized || code != -2015 {
		t.Fatalf("venue key at the gateway: %d %s", st, body)
	}
}

// TestRegistryChangedByAnotherProcess: a client removed from the registry
// file by another process (keyfence gateway client remove --keystore) is
// refused from the next request; an altered registry refuses every client.
func TestRegistryChangedByAnotherProcess(t *testing.T) {
	e := newEnv(t, envOpts{})
	bot := e.issue("bot", Binance, "binance-main")
	other := e.issue("other", Binance, "binance-main")
	if st, b := e.binanceCall(bot.APIKey, bot.Secret, "GET", "/api/v3/account", nil); st != 200 {
		t.Fatalf("before: %d %s", st, b)
	}
	// Another process opens the same registry and removes the client.
	c2, err := OpenClients(context.Background(), e.clients.Path(), e.keys, RegistryKeyName)
	must(t, err)
	must(t, c2.Remove("bot"))
	if st, b := e.binanceCall(bot.APIKey, bot.Secret, "GET", "/api/v3/account", nil); st != http.StatusUnauthorized {
		t.Fatalf("removed by another process: %d %s", st, b)
	}
	if st, b := e.binanceCall(other.APIKey, other.Secret, "GET", "/api/v3/account", nil); st != 200 {
		t.Fatalf("the other client: %d %s", st, b)
	}
	// A registry edited by hand (another credential for the client) is
	// refused as a whole.
	data, err := os.ReadFile(e.clients.Path())
	must(t, err)
	must(t, os.WriteFile(e.clients.Path(), []byte(strings.Replace(string(data), `"credential": "binance-main"`, `"credential": "binance-wide"`, 1)), 0o600))
	if st, b := e.binanceCall(other.APIKey, other.Secret, "GET", "/api/v3/account", nil); st != http.StatusUnauthorized {
		t.Fatalf("altered registry: %d %s", st, b)
	}
}
