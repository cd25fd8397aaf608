package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// failingReplays is a ReplayGuard whose store is unreachable.
type failingReplays struct{}

func (failingReplays) Admit(context.Context, []byte, time.Time) (bool, error) {
	return false, errors.New("connection refused")
}

// TestReplayGuardFailureRefuses: when the replay guard cannot decide, an
// order is refused in the venue's shape of an undecidable guard and never
// reaches the venue; reads, which are not held to once, still pass.
func TestReplayGuardFailureRefuses(t *testing.T) {
	e := newEnv(t, envOpts{replays: failingReplays{}})
	bot := e.issue("bot", Binance, "binance-main")
	st, body := e.binanceCall(bot.APIKey, bot.Secret, "POST", "/api/v3/order", url.Values{"symbol": {"BTCUSDT"}, "side": {"BUY"},
		"type": {"LIMIT"}, "timeInForce": {"GTC"}, "quantity": {"0.001"}, "price": {"49000"}})
	code, msg := binanceErr(t, body)
	if st != http.StatusBadRequest || code != -2010 || !strings.Contains(msg, "rule store") || !strings.Contains(msg, "replay check") {
		t.Fatalf("order with a failing replay guard: %d %s", st, body)
	}
	if n := len(e.binance.Orders(e.venueKey)); n != 0 {
		t.Fatalf("the order reached the venue: %d orders", n)
	}
	if st, body := e.binanceCall(bot.APIKey, bot.Secret, "GET", "/api/v3/account", nil); st != 200 {
		t.Fatalf("read: %d %s", st, body)
	}
}

// recordingReplays records the keys a ReplayGuard is given.
type recordingReplays struct {
	ReplayGuard
	mu   sync.Mutex
	keys [][]byte
}

func (r *recordingReplays) Admit(ctx context.Context, key []byte, expires time.Time) (bool, error) {
	r.mu.Lock()
	r.keys = append(r.keys, append([]byte(nil), key...))
	r.mu.Unlock()
	return r.ReplayGuard.Admit(ctx, key, expires)
}

// TestReplayGuardShared: two gateways given one ReplayGuard admit a
// signed order once between them; the guard is given a digest, never the
// signature.
func TestReplayGuardShared(t *testing.T) {
	shared := &recordingReplays{ReplayGuard: newReplayCache(replayCap, time.Now)}
	a := newEnv(t, envOpts{replays: shared})
	b := newEnv(t, envOpts{replays: shared})
	cl, bot, err := NewClient("bot", Binance, "binance-main", IssueOptions{})
	must(t, err)
	must(t, a.clients.Add(cl))
	must(t, b.clients.Add(cl))
	q := signedQuery(bot.Secret, url.Values{"symbol": {"BTCUSDT"}, "side": {"BUY"}, "type": {"LIMIT"},
		"timeInForce": {"GTC"}, "quantity": {"0.001"}, "price": {"49000"}})
	if st, body := a.send(a.srv[Binance].URL, bot.APIKey, "POST", "/api/v3/order", q); st != 200 {
		t.Fatalf("first: %d %s", st, body)
	}
	st, body := b.send(b.srv[Binance].URL, bot.APIKey, "POST", "/api/v3/order", q)
	if code, msg := binanceErr(t, body); st != http.StatusBadRequest || code != -1022 || !strings.Contains(msg, "used before") {
		t.Fatalf("replay to the other gateway: %d %s", st, body)
	}
	if n := len(a.binance.Orders(a.venueKey)) + len(b.binance.Orders(b.venueKey)); n != 1 {
		t.Fatalf("%d orders placed; want 1", n)
	}
	sig, err := url.ParseQuery(q)
	must(t, err)
	raw, err := hex.DecodeString(sig.Get("signature"))
	must(t, err)
	for _, k := range shared.keys {
		if len(k) != sha256.Size || bytes.Equal(k, raw) || bytes.Contains([]byte(sig.Get("signature")), []byte(hex.EncodeToString(k))) {
			t.Fatalf("the replay key is not a digest: %x", k)
		}
	}
	if len(shared.keys) != 2 {
		t.Fatalf("the guard was asked %d times; want 2", len(shared.keys))
	}
}
