package exchange

import (
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Class is the class of an endpoint. The guard allows or refuses requests
// by class before it looks at anything else.
type Class string

// Endpoint classes.
const (
	ClassPublic   Class = "public"   // market data; no key
	ClassRead     Class = "read"     // account data
	ClassTrade    Class = "trade"    // creates or changes orders
	ClassCancel   Class = "cancel"   // cancels orders
	ClassTransfer Class = "transfer" // moves funds between accounts of the same owner
	ClassWithdraw Class = "withdraw" // moves funds out (withdrawals, gift cards, sends)
	ClassKeys     Class = "keys"     // API-key management
)

// classes lists every class, in the order above.
var classes = [...]Class{ClassPublic, ClassRead, ClassTrade, ClassCancel, ClassTransfer, ClassWithdraw, ClassKeys}

// Classes returns every class, in the order above, in a new slice.
func Classes() []Class { return append([]Class(nil), classes[:]...) }

// ParseClass parses a class name.
func ParseClass(s string) (Class, error) {
	for _, c := range classes {
		if string(c) == s {
			return c, nil
		}
	}
	return "", fmt.Errorf("exchange: unknown endpoint class %q", s)
}

// Side is the side of an order.
type Side string

// Sides.
const (
	Buy  Side = "BUY"
	Sell Side = "SELL"
)

// ParseSide parses a side, case-insensitively.
func ParseSide(s string) (Side, error) {
	switch strings.ToUpper(s) {
	case "BUY":
		return Buy, nil
	case "SELL":
		return Sell, nil
	}
	return "", fmt.Errorf("exchange: unknown side %q: use BUY or SELL", s)
}

// OrderType is the type of an order.
type OrderType string

// Order types. Venues map their own names onto these.
const (
	Limit      OrderType = "LIMIT"
	Market     OrderType = "MARKET"
	LimitMaker OrderType = "LIMIT_MAKER" // post-only limit
	StopLoss   OrderType = "STOP_LOSS"
	StopLimit  OrderType = "STOP_LOSS_LIMIT"
	TakeProfit OrderType = "TAKE_PROFIT"
	TakeLimit  OrderType = "TAKE_PROFIT_LIMIT"
)

// TimeInForce says how long an order rests.
type TimeInForce string

// Times in force.
const (
	GTC TimeInForce = "GTC" // good till cancelled
	IOC TimeInForce = "IOC" // immediate or cancel
	FOK TimeInForce = "FOK" // fill or kill
	GTD TimeInForce = "GTD" // good till date
)

// OrderStatus is the life-cycle state of an order.
type OrderStatus string

// Order states.
const (
	StatusNew             OrderStatus = "NEW"
	StatusPartiallyFilled OrderStatus = "PARTIALLY_FILLED"
	StatusFilled          OrderStatus = "FILLED"
	StatusCanceled        OrderStatus = "CANCELED"
	StatusRejected        OrderStatus = "REJECTED"
	StatusExpired         OrderStatus = "EXPIRED"
	StatusUnknown         OrderStatus = "UNKNOWN" // the venue's answer was lost; look the order up
)

// Open reports whether an order in this state can still fill.
func (s OrderStatus) Open() bool { return s == StatusNew || s == StatusPartiallyFilled }

// Order is an order to place, or an order as the venue reports it.
type Order struct {
	Symbol      string // venue symbol, e.g. "BTCUSDT", "BTC-USD"
	Side        Side
	Type        OrderType
	TimeInForce TimeInForce // zero for market orders
	Price       decimal.Decimal
	Quantity    decimal.Decimal // base quantity; zero when QuoteQuantity is set
	// QuoteQuantity is the quote amount to spend or receive, for market
	// orders by quote (Binance quoteOrderQty, Coinbase quote_size, KuCoin funds).
	QuoteQuantity decimal.Decimal
	// StopPrice is the trigger price of a stop or take-profit order
	// (Binance stopPrice, Coinbase stop_price); with a TrailingDelta it is
	// the price at which trailing starts. Zero when the order has none.
	StopPrice decimal.Decimal
	// TrailingDelta is the distance of a trailing stop, in basis points
	// of the price (Binance trailingDelta): a buy triggers that far above
	// the lowest price since trailing started, a sell that far below the
	// highest. Zero for an order that does not trail.
	TrailingDelta decimal.Decimal
	ClientID      string

	// Filled in by the venue.
	ID          string
	Status      OrderStatus
	Executed    decimal.Decimal // base quantity filled
	ExecutedQuo decimal.Decimal // quote amount filled
	Created     time.Time
}

// String summarises the order for logs and the audit log.
func (o Order) String() string {
	var stack [128]byte
	return string(o.appendTo(stack[:0]))
}

// appendTo appends o.String() to dst.
func (o *Order) appendTo(b []byte) []byte {
	b = append(b, o.Side...)
	b = append(b, ' ')
	b = append(b, o.Type...)
	if !o.QuoteQuantity.IsZero() {
		b = append(b, " quote="...)
		b = appendDecimal(b, o.QuoteQuantity)
	} else {
		b = append(b, ' ')
		b = appendDecimal(b, o.Quantity)
	}
	b = append(b, ' ')
	b = append(b, o.Symbol...)
	if !o.Price.IsZero() {
		b = append(b, " @ "...)
		b = appendDecimal(b, o.Price)
	}
	if !o.StopPrice.IsZero() {
		b = append(b, " stop "...)
		b = appendDecimal(b, o.StopPrice)
	}
	if !o.TrailingDelta.IsZero() {
		b = append(b, " trail "...)
		b = appendDecimal(b, o.TrailingDelta)
		b = append(b, "bps"...)
	}
	if o.TimeInForce != "" {
		b = append(b, ' ')
		b = append(b, o.TimeInForce...)
	}
	return b
}

// Fill is one trade of an order.
type Fill struct {
	Symbol     string
	OrderID    string
	TradeID    string
	Side       Side
	Price      decimal.Decimal
	Quantity   decimal.Decimal
	Commission decimal.Decimal
	FeeAsset   string
	Time       time.Time
}

// Balance is the holding of one asset.
type Balance struct {
	Asset  string
	Free   decimal.Decimal
	Locked decimal.Decimal
}

// Total is Free + Locked.
func (b Balance) Total() decimal.Decimal { return b.Free.Add(b.Locked) }

// SymbolInfo is a tradable pair and the venue's filters on it.
type SymbolInfo struct {
	Symbol  string // venue symbol
	Base    string
	Quote   string
	Trading bool // false when the venue halted it or allows only cancels
	Filters Filters
}

// Filters are a venue's order rules for a symbol. A zero value means the
// rule is not set.
type Filters struct {
	TickSize    decimal.Decimal // price increment
	MinPrice    decimal.Decimal
	MaxPrice    decimal.Decimal
	StepSize    decimal.Decimal // base quantity increment
	MinQty      decimal.Decimal
	MaxQty      decimal.Decimal
	MinNotional decimal.Decimal // in quote
	MaxNotional decimal.Decimal // in quote
	// QuoteStep is the quote-amount increment of orders by quote.
	QuoteStep decimal.Decimal
	// MarketByQuote reports whether market orders by quote amount are allowed.
	MarketByQuote bool
}

// Quote is a reference price for a symbol at a point in time.
type Quote struct {
	Symbol string
	Bid    decimal.Decimal
	Ask    decimal.Decimal
	At     time.Time // when the venue reported it (or when it was fetched)
}

// Mid returns the midpoint of bid and ask, or whichever side is set.
func (q Quote) Mid() decimal.Decimal {
	switch {
	case q.Bid.IsZero():
		return q.Ask
	case q.Ask.IsZero():
		return q.Bid
	}
	return q.Bid.Add(q.Ask).Div(decimal.NewFromInt(2))
}

// Permissions is what an API key is allowed to do, as the venue reports it.
type Permissions struct {
	Read     bool
	Trade    bool
	Withdraw bool
	Transfer bool // internal or universal transfers
	// IPRestricted reports whether the key only works from listed addresses.
	IPRestricted bool
	// Other holds venue permissions that match none of the above, by name;
	// a hygiene check treats unknown permissions as dangerous.
	Other []string
}
