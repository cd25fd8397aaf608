package exchangetest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"os"
	"testing"

	"github.com/keyfence/keyfence/exchange"
)

func ecPEM(t *testing.T, k *ecdsa.PrivateKey) string {
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
}

func TestCCXTCoinbase(t *testing.T) {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	wrong, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	name := "organizations/0000/apiKeys/ccxt"
	sim := NewCoinbase(WithCoinbaseKeys(CoinbaseKey{Name: name, PublicKey: &priv.PublicKey, Permissions: exchange.Permissions{Read: true, Trade: true}}),
		WithCoinbaseLogger(slog.New(slog.NewTextHandler(os.Stderr, nil))))
	defer sim.Close()
	steps := runCCXT(t, "coinbase.mjs", map[string]string{"SIM_URL": sim.URL(), "CB_KEY": name, "CB_SECRET": ecPEM(t, priv), "CB_WRONG_SECRET": ecPEM(t, wrong)})
	for _, s := range steps {
		t.Logf("%s ok=%v %s %s %s", s.Step, s.OK, s.ErrorClass, s.Error, s.Data)
	}
	t.Log(sim.AuthFailures())
}
