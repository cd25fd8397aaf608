package gateway

import (
	"testing"

	"github.com/shopspring/decimal"
)

func TestCCXTKuCoinThroughGateway(t *testing.T) {
	e := newEnv(t, envOpts{})
	bot := e.issue("ccxt-bot", KuCoin, "kucoin-main")
	before := value(e.kucoin.Balances("venue-kucoin-main"), e.kucoin.Price, "-USDT")
	steps := runCCXT(t, "kucoin.mjs", map[string]string{
		"GW_URL": e.srv[KuCoin].URL, "API_KEY": bot.APIKey, "API_SECRET": bot.Secret, "API_PASSPHRASE": bot.Passphrase,
		"WRONG_SECRET": "wrong-secret", "SYMBOL": "BTC/USDT", "OFF_LIST": "ETH/BTC",
	})
	requireVenueSteps(t, steps)
	if len(e.kucoin.Withdrawals()) != 0 {
		t.Error("a withdrawal reached the venue")
	}
	after := value(e.kucoin.Balances("venue-kucoin-main"), e.kucoin.Price, "-USDT")
	if after.LessThan(before.Mul(decimal.RequireFromString("0.995"))) {
		t.Errorf("the account lost value: %s USDT before, %s after", before, after)
	}
}

func TestCCXTCoinbaseThroughGateway(t *testing.T) {
	e := newEnv(t, envOpts{})
	bot := e.issue("ccxt-bot", Coinbase, "coinbase-main")
	_, wrong, err := NewClient("other", Coinbase, "coinbase-main", IssueOptions{})
	must(t, err)
	before := value(e.coinbase.Balances(coinbaseVenueKey), e.coinbase.Price, "-USD")
	steps := runCCXT(t, "coinbase.mjs", map[string]string{
		"GW_URL": e.srv[Coinbase].URL, "API_KEY": bot.APIKey, "API_SECRET": bot.Secret,
		"WRONG_SECRET": wrong.Secret, "SYMBOL": "BTC/USD", "OFF_LIST": "ETH/BTC",
	})
	requireVenueSteps(t, steps)
	if len(e.coinbase.Transfers()) != 0 {
		t.Error("a transfer reached the venue")
	}
	after := value(e.coinbase.Balances(coinbaseVenueKey), e.coinbase.Price, "-USD")
	if after.LessThan(before.Mul(decimal.RequireFromString("0.995"))) {
		t.Errorf("the account lost value: %s USD before, %s after", before, after)
	}
}
