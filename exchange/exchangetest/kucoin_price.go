package exchangetest

import "github.com/shopspring/decimal"

// Price returns a symbol's last price and whether the symbol exists.
func (k *KuCoin) Price(symbol string) (decimal.Decimal, bool) { return k.price(symbol) }
