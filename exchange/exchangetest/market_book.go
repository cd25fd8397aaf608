package exchangetest

import (
	"github.com/shopspring/decimal"
)

// unlimitedDepth is the size the KuCoin and Coinbase books show at a best
// price that offers unlimited liquidity (a symbol without Depth).
var unlimitedDepth = decimal.NewFromInt(1000000)

// wholeBook is the level count that asks a book for every level it has.
const wholeBook = 1 << 20
