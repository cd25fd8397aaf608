package binance

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
)

// fakeBinance is a minimal Binance Spot REST server for client tests: it
// checks API key, HMAC signature and timestamp like the venue, and keeps
// orders in memory.
type fakeBinance struct {
	srv    *httptest.Server
	apiKey string
	secret []byte
	offset time.Duration // server clock minus local clock

	mu          sync.Mutex
	perms       string
	orderFail   func(w http.ResponseWriter) bool // answers POST /api/v3/order instead of placing
	orders      map[string]*orderJSON
	next        int
	signedPaths []string
	// canned answers a route with what the function returns for the
	// request's parameters, before any route of its own.
	canned map[string]func(get func(string) string) (int, any)
}

func newFakeBinance(t testing.TB, apiKey string, secret []byte) *fakeBinance {
	f := &fakeBinance{apiKey: apiKey, secret: secret, orders: map[string]*orderJSON{},
		perms: `{"ipRestrict":true,"enableReading":true,"enableSpotAndMarginTrading":true,"enableWithdrawals":false,"enableInternalTransfer":false,"permitsUniversalTransfer":false}`}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeBinance) now() time.Time { return time.Now().Add(f.offset) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, map[string]any{"code": code, "msg": msg})
}

func (f *fakeBinance) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-MBX-USED-WEIGHT-1M", "7")
	route := r.Method + " " + r.URL.Path
	switch route {
	case "GET /api/v3/time":
		writeJSON(w, 200, map[string]int64{"serverTime": f.now().UnixMilli()})
		return
	case "GET /api/v3/exchangeInfo":
		_, _ = io.WriteString(w, testExchangeInfo)
		return
	case "GET /api/v3/ticker/bookTicker":
		writeJSON(w, 200, map[string]string{"symbol": r.URL.Query().Get("symbol"), "bidPrice": "49999.00", "askPrice": "50001.00"})
		return
	}
	body, _ := io.ReadAll(r.Body)
	if r.Header.Get("X-MBX-APIKEY") != f.apiKey {
		fail(w, 401, -2015, "Invalid API-key, IP, or permissions for action.")
		return
	}
	i := strings.LastIndex(r.URL.RawQuery, "&signature=")
	if i < 0 {
		fail(w, 400, -1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.")
		return
	}
	payload, sig := r.URL.RawQuery[:i]+string(body), r.URL.RawQuery[i+len("&signature="):]
	mac := hmac.New(sha256.New, f.secret)
	mac.Write([]byte(payload))
	if !hmac.Equal([]byte(sig), []byte(hex.EncodeToString(mac.Sum(nil)))) {
		fail(w, 400, -1022, "Signature for this request is not valid.")
		return
	}
	q, err := exchange.ParseParams(r.URL.RawQuery[:i])
	if err != nil {
		fail(w, 400, -1100, "Illegal characters found in a parameter.")
		return
	}
	ts, _ := q.Get("timestamp")
	ms, _ := strconv.ParseInt(ts, 10, 64)
	if d := f.now().Sub(time.UnixMilli(ms)); d > 5*time.Second || d < -time.Second {
		fail(w, 400, -1021, "Timestamp for this request is outside of the recvWindow.")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.signedPaths = append(f.signedPaths, route)
	get := func(k string) string { v, _ := q.Get(k); return v }
	if fn := f.canned[route]; fn != nil {
		status, v := fn(get)
		writeJSON(w, status, v)
		return
	}
	switch route {
	case "GET /sapi/v1/account/apiRestrictions":
		_, _ = io.WriteString(w, f.perms)
	case "POST /api/v3/order":
		if f.orderFail != nil && f.orderFail(w) {
			return
		}
		f.next++
		o := &orderJSON{Symbol: get("symbol"), OrderID: json.Number(strconv.Itoa(f.next)), ClientOrderID: get("newClientOrderId"),
			Price: get("price"), OrigQty: get("quantity"), ExecutedQty: "0", CummulativeQuoteQty: "0", Status: "NEW",
			TimeInForce: get("timeInForce"), Type: get("type"), Side: get("side"), TransactTime: f.now().UnixMilli()}
		if o.Type == "MARKET" {
			o.Status, o.ExecutedQty, o.CummulativeQuoteQty, o.TimeInForce = "FILLED", o.OrigQty, "50", "GTC"
		}
		f.orders[o.OrderID.String()] = o
		w.Header().Set("X-MBX-ORDER-COUNT-10S", "1")
		writeJSON(w, 200, o)
	case "GET /api/v3/order", "DELETE /api/v3/order":
		var o *orderJSON
		if id := get("orderId"); id != "" {
			o = f.orders[id]
		}
		for _, x := range f.orders {
			if cid := get("origClientOrderId"); cid != "" && x.ClientOrderID == cid {
				o = x
			}
		}
		if o == nil {
			if r.Method == "GET" {
				fail(w, 400, -2013, "Order does not exist.")
			} else {
				fail(w, 400, -2011, "Unknown order sent.")
			}
			return
		}
		if r.Method == "DELETE" {
			o.Status = "CANCELED"
		}
		writeJSON(w, 200, o)
	case "DELETE /api/v3/openOrders":
		out := []any{}
		for _, o := range f.orders {
			if o.Status == "NEW" && o.Symbol == get("symbol") {
				o.Status = "CANCELED"
				out = append(out, o)
			}
		}
		// An order list's reports, as Binance lists them.
		out = append(out, map[string]any{"orderListId": 7, "orderReports": []map[string]any{
			{"symbol": get("symbol"), "orderId": 70, "status": "CANCELED", "executedQty": "0", "cummulativeQuoteQty": "0"},
			{"symbol": get("symbol"), "orderId": 71, "status": "EXPIRED", "executedQty": "0", "cummulativeQuoteQty": "0"},
			// A report that does not state the fill is left to a look-up.
			{"symbol": get("symbol"), "orderId": 72, "status": "CANCELED"}}})
		writeJSON(w, 200, out)
	case "GET /api/v3/openOrders":
		var out []*orderJSON
		for _, o := range f.orders {
			if o.Status == "NEW" {
				out = append(out, o)
			}
		}
		writeJSON(w, 200, out)
	case "GET /api/v3/account":
		_, _ = io.WriteString(w, `{"balances":[{"asset":"BTC","free":"1.5","locked":"0.5"},{"asset":"USDT","free":"1000","locked":"0"},{"asset":"ETH","free":"0","locked":"0"}]}`)
	case "GET /api/v3/myTrades":
		_, _ = io.WriteString(w, fmt.Sprintf(`[{"symbol":%q,"id":28457,"orderId":100234,"price":"4.00000100","qty":"12.00000000","quoteQty":"48.000012","commission":"10.10000000","commissionAsset":"BNB","time":1499865549590,"isBuyer":true}]`, get("symbol")))
	default:
		fail(w, 404, -1, "no such route in the fake")
	}
}

func (f *fakeBinance) signed() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.signedPaths...)
}

func (f *fakeBinance) setOrderFail(fn func(w http.ResponseWriter) bool) {
	f.mu.Lock()
	f.orderFail = fn
	f.mu.Unlock()
}

// rateRecorder is a RateLimiter that admits everything and records usage.
type rateRecorder struct {
	mu    sync.Mutex
	waits []exchange.Cost
	seen  []exchange.Usage
}

func (r *rateRecorder) Wait(_ context.Context, c exchange.Cost) error {
	r.mu.Lock()
	r.waits = append(r.waits, c)
	r.mu.Unlock()
	return nil
}

func (r *rateRecorder) Observe(u exchange.Usage) {
	r.mu.Lock()
	r.seen = append(r.seen, u)
	r.mu.Unlock()
}

func (r *rateRecorder) usage() []exchange.Usage {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]exchange.Usage(nil), r.seen...)
}
