package exchangetest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// kcData decodes the data of a KuCoin answer.
func kcData(t *testing.T, b []byte, v any) {
	t.Helper()
	var env struct {
		Code string          `json:"code"`
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &env); err != nil || env.Code != "200000" {
		t.Fatalf("answer %s: %v", b, err)
	}
	if err := json.Unmarshal(env.Data, v); err != nil {
		t.Fatalf("data %s: %v", env.Data, err)
	}
}

func TestKuCoinMarketData(t *testing.T) {
	clk := newFakeClock(start)
	k := newKuCoinSim(t, clk)
	signed := func(method, path, query, body string) (int, string, []byte) {
		return kcBase(clk, method, path, query, body).signed().send(t, k.URL())
	}
	public := func(path, query string) (int, string, []byte) {
		return kcReq{method: "GET", path: path, query: query}.send(t, k.URL())
	}

	// The thin book, both sides, best first, 2,000 THIN a level.
	_, _, b := public("/api/v1/market/orderbook/level2_20", "symbol=THIN-USDT")
	var book struct{ Bids, Asks [][2]string }
	kcData(t, b, &book)
	if len(book.Bids) != 5 || len(book.Asks) != 5 || book.Bids[0][0] != "0.0499" || book.Asks[0][0] != "0.0501" ||
		book.Bids[1][0] != "0.0489" || book.Asks[4][0] != "0.0541" || book.Asks[0][1] != "2000" {
		t.Errorf("thin book %+v", book)
	}
	// The full book is private.
	if st, code, _ := public("/api/v3/market/orderbook/level2", "symbol=BTC-USDT"); st != http.StatusUnauthorized || code != "400001" {
		t.Errorf("full book without a signature: %d %s", st, code)
	}
	if _, code, _ := public("/api/v1/market/candles", "type=2min&symbol=BTC-USDT"); code != "400100" {
		t.Errorf("a kline type KuCoin does not have: %s", code)
	}
	if st, code, _ := public("/api/v1/market/nope", ""); st != http.StatusNotFound || code != "404" {
		t.Errorf("unknown endpoint: %d %s", st, code)
	}

	// A market buy by funds: 100 USDT pays for the BTC and the 0.1% fee,
	// charged in USDT.
	if _, code, b := signed("POST", "/api/v1/hf/orders", "", `{"symbol":"BTC-USDT","side":"buy","type":"market","funds":"100"}`); code != "200000" {
		t.Fatalf("market buy: %s", b)
	}
	_, _, b = signed("GET", "/api/v1/hf/fills", "symbol=BTC-USDT", "")
	var fills struct {
		Items []struct {
			Size, Funds, Fee, FeeRate, FeeCurrency, Type, Liquidity string
		}
	}
	kcData(t, b, &fills)
	if len(fills.Items) != 1 {
		t.Fatalf("fills %s", b)
	}
	f := fills.Items[0]
	funds, fee := decimal.RequireFromString(f.Funds), decimal.RequireFromString(f.Fee)
	if f.FeeCurrency != "USDT" || f.FeeRate != "0.001" || !fee.Equal(funds.Mul(dec("0.001"))) || f.Type != "market" ||
		f.Liquidity != "taker" || funds.Add(fee).GreaterThan(dec("100")) {
		t.Errorf("fill %+v", f)
	}
	for _, bal := range k.Balances("k1") {
		if bal.Asset == "USDT" && !bal.Free.Equal(dec("10000").Sub(funds).Sub(fee)) {
			t.Errorf("USDT %s after spending %s and %s in fees", bal.Free, funds, fee)
		}
		if bal.Asset == "BTC" && !bal.Free.Equal(dec("1").Add(decimal.RequireFromString(f.Size))) {
			t.Errorf("BTC %s after buying %s", bal.Free, f.Size)
		}
	}

	// The trade shows in the public feed, the 24 h stats and the kline of
	// the minute it fell in (1699999980 to 1700000040).
	_, _, b = public("/api/v1/market/histories", "symbol=BTC-USDT")
	var hist []struct{ Side, Size string }
	kcData(t, b, &hist)
	if len(hist) != 1 || hist[0].Side != "buy" || hist[0].Size != f.Size {
		t.Errorf("trade history %s", b)
	}
	_, _, b = public("/api/v1/market/stats", "symbol=BTC-USDT")
	var stats struct{ Vol, Last, High string }
	kcData(t, b, &stats)
	if stats.Vol != f.Size || stats.Last != "50000" || stats.High != "50000.1" {
		t.Errorf("24 h stats %s", b)
	}
	_, _, b = public("/api/v1/market/candles", "type=1min&symbol=BTC-USDT")
	var kl [][7]string
	kcData(t, b, &kl)
	if len(kl) == 0 || kl[0][5] != f.Size || kl[0][0] != "1699999980" {
		t.Errorf("newest kline %v, want the trade's volume %s", kl[:min(len(kl), 1)], f.Size)
	}
	_, _, b = public("/api/v1/market/stats", "symbol=NOPE-USDT")
	var none map[string]any
	kcData(t, b, &none)
	if none["symbol"] != "NOPE-USDT" || none["last"] != nil {
		t.Errorf("stats of an unknown symbol %s", b)
	}

	// Accounts: trade and trade_hf list the trading account, main none.
	for typ, want := range map[string]int{"trade": 5, "trade_hf": 5, "": 5, "main": 0, "margin": 0} {
		_, _, b = signed("GET", "/api/v1/accounts", "type="+typ, "")
		if typ == "" {
			_, _, b = signed("GET", "/api/v1/accounts", "", "")
		}
		var accts []struct{ Type string }
		kcData(t, b, &accts)
		if len(accts) != want || (want > 0 && typ != "" && accts[0].Type != typ) {
			t.Errorf("accounts of type %q: %s", typ, b)
		}
	}
	if _, code, _ := signed("GET", "/api/v1/accounts", "type=savings", ""); code != "400100" {
		t.Errorf("an unknown account type: %s", code)
	}

	// Done orders page backwards by lastId.
	for range 2 {
		if _, code, b := signed("POST", "/api/v1/hf/orders", "", `{"symbol":"ETH-USDT","side":"sell","type":"market","size":"0.1"}`); code != "200000" {
			t.Fatalf("market sell: %s", b)
		}
	}
	_, _, b = signed("GET", "/api/v1/hf/orders/done", "symbol=ETH-USDT&limit=1", "")
	var page struct {
		LastID int64 `json:"lastId"`
		Items  []struct{ ID string }
	}
	kcData(t, b, &page)
	if len(page.Items) != 1 || page.Items[0].ID != kcOrderID(3) {
		t.Fatalf("first page %s", b)
	}
	_, _, b = signed("GET", "/api/v1/hf/orders/done", "symbol=ETH-USDT&limit=1&lastId=3", "")
	kcData(t, b, &page)
	if len(page.Items) != 1 || page.Items[0].ID != kcOrderID(2) {
		t.Errorf("second page %s", b)
	}
	if _, code, _ := signed("GET", "/api/v1/trade-fees", "symbols=A,B,C,D,E,F,G,H,I,J,K", ""); code != "400100" {
		t.Errorf("eleven symbols' fees: %s", code)
	}

	// The answers that tell CCXT the account is a classic spot account.
	_, _, b = signed("GET", "/api/ua/v1/account/mode", "", "")
	var mode struct{ SelfAccountMode string }
	kcData(t, b, &mode)
	if mode.SelfAccountMode != "CLASSIC" {
		t.Errorf("account mode %s", b)
	}
}

func TestKuCoinSDKStartEndpoints(t *testing.T) {
	clk := newFakeClock(start)
	k := newKuCoinSim(t, clk)
	public := func(path string) []byte {
		_, _, b := kcReq{method: "GET", path: path}.send(t, k.URL())
		return b
	}
	var sym struct{ Symbol, PriceIncrement string }
	kcData(t, public("/api/v2/symbols/ETH-BTC"), &sym)
	if sym.Symbol != "ETH-BTC" || sym.PriceIncrement != "0.00001" {
		t.Errorf("symbol %+v", sym)
	}
	var none any
	kcData(t, public("/api/v2/symbols/NOPE-BTC"), &none)
	if none != nil {
		t.Errorf("unknown symbol: %v", none)
	}
	var st struct{ Status string }
	kcData(t, public("/api/v1/status"), &st)
	if st.Status != "open" {
		t.Errorf("status %+v", st)
	}
	if _, code, b := kcBase(clk, "POST", "/api/v1/hf/orders", "", `{"symbol":"ETH-USDT","side":"buy","type":"limit","price":"100","size":"1"}`).signed().send(t, k.URL()); code != "200000" {
		t.Fatalf("rest: %s", b)
	}
	_, _, b := kcBase(clk, "GET", "/api/v1/hf/orders/active/symbols", "", "").signed().send(t, k.URL())
	var act struct{ Symbols []string }
	kcData(t, b, &act)
	if len(act.Symbols) != 1 || act.Symbols[0] != "ETH-USDT" {
		t.Errorf("symbols with open orders %s", b)
	}
}

func TestKuCoinHistoryFilters(t *testing.T) {
	clk := newFakeClock(start)
	k := newKuCoinSim(t, clk)
	signed := func(method, path, query, body string) (string, []byte) {
		_, code, b := kcBase(clk, method, path, query, body).signed().send(t, k.URL())
		return code, b
	}
	// Three fills a second apart: a buy, a sell, a buy.
	for _, side := range []string{"buy", "sell", "buy"} {
		if code, b := signed("POST", "/api/v1/hf/orders", "", `{"symbol":"ETH-USDT","side":"`+side+`","type":"market","size":"0.1"}`); code != "200000" {
			t.Fatalf("%s: %s", side, b)
		}
		clk.Add(time.Second)
	}
	type page struct {
		LastID int64 `json:"lastId"`
		Items  []struct {
			ID   int64
			Side string
		}
	}
	list := func(query string) page {
		t.Helper()
		code, b := signed("GET", "/api/v1/hf/fills", "symbol=ETH-USDT&"+query, "")
		if code != "200000" {
			t.Fatalf("fills?%s: %s", query, b)
		}
		var p page
		kcData(t, b, &p)
		return p
	}
	ids := func(p page) []int64 {
		var out []int64
		for _, it := range p.Items {
			out = append(out, it.ID)
		}
		return out
	}
	if got := ids(list("")); !slices.Equal(got, []int64{3, 2, 1}) {
		t.Errorf("fills newest first: %v", got)
	}
	p := list("limit=2")
	if got := ids(p); !slices.Equal(got, []int64{3, 2}) || p.LastID != 2 {
		t.Errorf("first page %+v", p)
	}
	if got := ids(list("limit=2&lastId=2")); !slices.Equal(got, []int64{1}) {
		t.Errorf("second page %v", got)
	}
	if got := ids(list("side=buy")); !slices.Equal(got, []int64{3, 1}) {
		t.Errorf("buys %v", got)
	}
	from := strconv.FormatInt(start.Add(time.Second).UnixMilli(), 10)
	if got := ids(list("startAt=" + from + "&endAt=" + from)); !slices.Equal(got, []int64{2}) {
		t.Errorf("the second second %v", got)
	}
	if got := ids(list("orderId=" + kcOrderID(1))); !slices.Equal(got, []int64{1}) {
		t.Errorf("the first order's fills %v", got)
	}
	for _, q := range []string{"limit=0", "limit=101", "side=both", "type=stop", "lastId=-1", "startAt=x"} {
		if code, _ := signed("GET", "/api/v1/hf/fills", "symbol=ETH-USDT&"+q, ""); code != "400100" {
			t.Errorf("fills?%s: %s", q, code)
		}
		if code, _ := signed("GET", "/api/v1/hf/orders/done", "symbol=ETH-USDT&"+q, ""); code != "400100" {
			t.Errorf("done?%s: %s", q, code)
		}
	}
}
