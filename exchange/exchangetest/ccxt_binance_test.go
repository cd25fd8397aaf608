package exchangetest

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// ccxtCalls is the data of a CCXT step: its result and the requests
// (method and path) CCXT sent for it.
type ccxtCalls struct {
	Result json.RawMessage `json:"result"`
	Calls  []string        `json:"calls"`
}

func stepData(t *testing.T, s ccxtStep) ccxtCalls {
	t.Helper()
	var d ccxtCalls
	require.NoError(t, json.Unmarshal(s.Data, &d), "step %s data %s", s.Step, s.Data)
	return d
}

// TestCCXTBinance runs CCXT's binance client against the simulator with
// only urls.api retargeted: every step passes, and a wrong secret raises
// AuthenticationError.
func TestCCXTBinance(t *testing.T) {
	ccxtNode(t)
	b := NewBinance()
	t.Cleanup(b.Close)
	b.AddKey(BinanceKey{APIKey: "ccxt-key", HMACSecret: []byte("ccxt-secret-canary"), Permissions: traderPerms})
	steps := runCCXT(t, "binance.mjs", map[string]string{
		"SIM_URL": b.URL(), "API_KEY": "ccxt-key", "API_SECRET": "ccxt-secret-canary",
		"WRONG_SECRET": "not-the-secret", "SYMBOL": "BTC/USDT",
	})
	requireCCXTOK(t, steps, "wrongSecret")
	ws := ccxtStepNamed(t, steps, "wrongSecret")
	require.False(t, ws.OK, "a wrong secret was accepted")
	require.Equal(t, "AuthenticationError", ws.ErrorClass, ws.Error)
	ccxtStepNamed(t, steps, "done")
	for _, s := range steps {
		if s.Step == "done" || s.Step == "wrongSecret" {
			continue
		}
		t.Logf("%s: %v", s.Step, stepData(t, s).Calls)
	}
}
