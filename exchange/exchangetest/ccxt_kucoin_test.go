package exchangetest

import (
	"log/slog"
	"os"
	"testing"

	"github.com/keyfence/keyfence/exchange"
)

func TestCCXTKuCoin(t *testing.T) {
	sim := NewKuCoin(WithKuCoinKeys(KuCoinKey{APIKey: "ccxt-key", Secret: []byte("ccxt-secret"), Passphrase: []byte("ccxt-pass"),
		Version: "2", Permissions: exchange.Permissions{Read: true, Trade: true}}),
		WithKuCoinLogger(slog.New(slog.NewTextHandler(os.Stderr, nil))))
	defer sim.Close()
	steps := runCCXT(t, "kucoin.mjs", map[string]string{"SIM_URL": sim.URL(), "KC_KEY": "ccxt-key", "KC_SECRET": "ccxt-secret", "KC_PASSPHRASE": "ccxt-pass"})
	for _, s := range steps {
		t.Logf("%s ok=%v %s %s %s", s.Step, s.OK, s.ErrorClass, s.Error, s.Data)
	}
}
