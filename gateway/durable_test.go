package gateway

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/limits"
)

// failingSync is an audit log that syncs in groups and whose fsync fails
// while fail is set.
type failingSync struct {
	*audit.Log
	fail atomic.Bool
}

func (f *failingSync) SyncThrough(n uint64) error {
	if f.fail.Load() {
		return errors.New("disk full")
	}
	return f.Log.SyncThrough(n)
}

// committedStore is a store that is not a Durable: its reservations are
// durable when Reserve returns, as a PostgreSQL store's are.
type committedStore struct{ limits.Store }

// TestGatewayNonDurableStore: with a store that commits each reservation
// itself (a PostgreSQL store), the gateway adds no fsync of its own for
// it, and still answers nothing before the decision record is on disk:
// when the audit log's fsync fails, the answer says the outcome is
// unknown, and the reservation stays held, never released.
func TestGatewayNonDurableStore(t *testing.T) {
	e := newEnv(t, envOpts{})
	bot := e.issue("bot", Binance, "binance-main")
	ctx := context.Background()
	log, err := audit.Open(ctx, filepath.Join(t.TempDir(), "audit.jsonl"), audit.NoSync())
	must(t, err)
	t.Cleanup(func() { _ = log.Close() })
	au := &failingSync{Log: log}
	store := committedStore{limits.NewMemoryStore()}
	pol, err := limits.ParsePolicy([]byte(testPolicy))
	must(t, err)
	gw, err := New(ctx, Config{Signer: e.keys, Policy: pol, Store: store, Audit: au, Clients: e.clients,
		Upstreams: map[string]string{Binance: e.binance.URL()}})
	must(t, err)
	t.Cleanup(gw.Close)
	if gw.storeDur != nil || gw.auditDur == nil {
		t.Fatalf("the store is synced by the gateway (%v) or the audit log is not (%v)", gw.storeDur, gw.auditDur)
	}
	h, _ := gw.Handler(Binance)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	order := func(qty string) (int, []byte) {
		return e.send(srv.URL, bot.APIKey, "POST", "/api/v3/order", signedQuery(bot.Secret, url.Values{
			"symbol": {"BTCUSDT"}, "side": {"BUY"}, "type": {"LIMIT"}, "timeInForce": {"GTC"},
			"quantity": {qty}, "price": {"49000"}}))
	}
	if st, body := order("0.001"); st != 200 {
		t.Fatalf("order: %d %s", st, body)
	}
	au.fail.Store(true)
	st, body := order("0.002")
	if st != http.StatusServiceUnavailable {
		t.Fatalf("an order whose record is not on disk was answered: %d %s", st, body)
	}
	// The venue took it, and the store still holds both orders.
	if n := e.binance.OrdersPlaced(); n != 2 {
		t.Fatalf("the venue placed %d orders; want 2", n)
	}
	tr, err := store.Tracked(ctx, "binance-main")
	must(t, err)
	if len(tr) != 2 {
		t.Fatalf("the store tracks %d orders; want 2 (none released): %+v", len(tr), tr)
	}
}
