package exchangetest

import "github.com/shopspring/decimal"

// Price returns a symbol's last price and whether the symbol exists.
func (k *KuCoin) Price(symbol string) (decimal.Decimal, bool) {
	s, ok := k.mkt.symbol(symbol)
	return s.Price, ok
}
