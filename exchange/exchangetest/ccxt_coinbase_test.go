package exchangetest

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"slices"
	"strings"
	"testing"

	"github.com/keyfence/keyfence/exchange"
)

// cdpSecret returns a private key as CCXT's coinbase class takes it: a
// SEC1 PEM for ECDSA (it then signs ES256 tokens with iss coinbase-cloud
// and a uri claim), base64 of seed and public key for Ed25519 (EdDSA
// tokens with iss cdp and a uris claim); and its public half.
func cdpSecret(t *testing.T, ed bool) (secret string, pub any) {
	t.Helper()
	if ed {
		p, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return base64.StdEncoding.EncodeToString(priv), p
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})), &k.PublicKey
}

func TestCCXTCoinbase(t *testing.T) {
	for _, kind := range []string{"ecdsa", "ed25519"} {
		t.Run(kind, func(t *testing.T) {
			secret, pub := cdpSecret(t, kind == "ed25519")
			wrong, _ := cdpSecret(t, kind == "ed25519")
			name := "organizations/ccxt/apiKeys/" + kind
			sim := NewCoinbase(WithCoinbaseKeys(CoinbaseKey{Name: name, PublicKey: pub, Permissions: exchange.Permissions{Read: true, Trade: true}}))
			defer sim.Close()
			steps := runCCXT(t, "coinbase.mjs", map[string]string{"SIM_URL": sim.URL(), "CB_KEY": name, "CB_SECRET": secret, "CB_WRONG_SECRET": wrong})
			requireCCXTOK(t, steps, "wrongSecret")

			var m ccxtMarket
			ccxtData(t, steps, "loadMarkets", &m)
			if !slices.Equal(m.Symbols, []string{"BTC/USD", "ETH/BTC", "ETH/USD", "LIMIT/USD", "THIN/USD"}) || m.Precision.Price != 0.01 ||
				m.Precision.Amount != 1e-8 || m.Taker != 0.012 || m.Maker != 0.006 || !m.Active {
				t.Errorf("markets %+v", m)
			}
			var bal map[string]struct{ Free, Used, Total float64 }
			ccxtData(t, steps, "fetchBalance", &bal)
			if bal["BTC"].Total != 1 || bal["USD"].Total != 10000 {
				t.Errorf("balance %+v", bal)
			}
			var tk struct {
				Symbol         string
				Bid, Ask, Last float64
			}
			ccxtData(t, steps, "fetchTicker", &tk)
			if tk.Symbol != "BTC/USD" || tk.Bid != 49999.99 || tk.Ask != 50000.01 || tk.Last != 50000 {
				t.Errorf("ticker %+v", tk)
			}
			var ob struct{ Bids, Asks [][2]float64 }
			ccxtData(t, steps, "fetchOrderBook", &ob)
			if len(ob.Bids) == 0 || len(ob.Asks) == 0 || ob.Bids[0][0] != 49999.99 || ob.Asks[0][0] != 50000.01 {
				t.Errorf("order book %+v", ob)
			}
			var candles [][6]float64
			ccxtData(t, steps, "fetchOHLCV", &candles)
			checkCCXTCandles(t, candles, 50000)

			_, market := checkCCXTTrading(t, steps, "USD", 0.012)
			checkSimAfterCCXT(t, sim.Orders(name), sim.Balances(name), "BTC", "USD", 10000, market, market.Cost*0.012)
			if f := sim.AuthFailures(); len(f) != 1 || !strings.Contains(f[0], "signature") {
				t.Errorf("authentication failures %v, want only the wrong secret's bad signature", f)
			}
		})
	}
}
