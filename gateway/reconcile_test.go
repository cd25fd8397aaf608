package gateway

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestReconcileForeignOrderTripsTheKillSwitch: the venue key is used
// outside keyfence (the 2022 leak: an order placed with it at the venue
// directly). Reconciliation through the gateway finds the foreign order,
// the kill switch trips, and the bot's next order through the gateway is
// refused; its own order, placed through the gateway, is not foreign.
func TestReconcileForeignOrderTripsTheKillSwitch(t *testing.T) {
	e := newEnv(t, envOpts{})
	bot := e.issue("bot", Binance, "binance-main")
	order := url.Values{"symbol": {"BTCUSDT"}, "side": {"BUY"}, "type": {"LIMIT"}, "timeInForce": {"GTC"},
		"quantity": {"0.001"}, "price": {"49000"}}
	if st, b := e.binanceCall(bot.APIKey, bot.Secret, "POST", "/api/v3/order", order); st != 200 {
		t.Fatalf("order through the gateway: %d %s", st, b)
	}
	rep := e.gw.Reconcile(context.Background())
	if len(rep) != 1 || rep[0].Error != "" || len(rep[0].Report.Foreign) != 0 {
		t.Fatalf("before the leak: %+v; want one credential, no foreign order", rep)
	}
	if tripped, _ := e.gw.KillSwitch(context.Background()); tripped {
		t.Fatal("the kill switch tripped on the gateway's own order")
	}
	// The attacker, with the venue key, at the venue itself.
	st, b := e.send(e.binance.URL(), e.venueKey, "POST", "/api/v3/order", signedQuery(canary, order))
	if st != 200 {
		t.Fatalf("the foreign order: %d %s", st, b)
	}
	rep = e.gw.Reconcile(context.Background())
	if len(rep) != 1 || len(rep[0].Report.Foreign) != 1 {
		t.Fatalf("after the leak: %+v; want one foreign order", rep)
	}
	if tripped, reason := e.gw.KillSwitch(context.Background()); !tripped || !strings.Contains(reason, "foreign") {
		t.Fatalf("kill switch: tripped=%v %q; want tripped by the foreign order", tripped, reason)
	}
	st, b = e.binanceCall(bot.APIKey, bot.Secret, "POST", "/api/v3/order", order)
	if code, msg := binanceErr(t, b); st != http.StatusBadRequest || code != -2010 || !strings.Contains(msg, "kill_switch") {
		t.Fatalf("order after the trip: %d %s", st, b)
	}
}
