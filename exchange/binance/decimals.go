package binance

import (
	"sync/atomic"

	"github.com/shopspring/decimal"
)

// decimalCache hands out the decimals of recently parsed values again.
//
// A shopspring decimal keeps its coefficient in a *big.Int, so building one
// costs two allocations. Orders repeat their quantities and, tick by tick,
// their prices; the cache builds the decimal of a coefficient and exponent
// once and returns the same value while it stays in its slot. Decimals are
// immutable (no method changes the big.Int a Decimal points to), so one
// value may be shared by any number of intents and goroutines.
//
// The cache is direct-mapped: each (coefficient, exponent) has one slot,
// and a miss replaces what the slot held. Slots are read and written
// atomically, without locks. Its size is fixed, whatever the traffic.
type decimalCache struct {
	slots [decimalCacheSlots]atomic.Pointer[cachedDecimal]
}

// decimalCacheSlots is the number of slots, a power of two.
const decimalCacheSlots = 256

// cachedDecimal is one slot's value: a decimal and what it was built from.
type cachedDecimal struct {
	coef int64
	exp  int32
	d    decimal.Decimal
}

// get returns decimal.New(coef, exp), built once per stay in the cache.
// A nil cache builds a new decimal every time.
func (c *decimalCache) get(coef int64, exp int32) decimal.Decimal {
	if c == nil {
		return decimal.New(coef, exp)
	}
	// Fibonacci hashing of the coefficient, then the exponent.
	h := (uint64(coef)*0x9E3779B97F4A7C15 ^ uint64(uint32(exp))*0xC2B2AE3D27D4EB4F) >> (64 - 8)
	slot := &c.slots[h%decimalCacheSlots]
	if e := slot.Load(); e != nil && e.coef == coef && e.exp == exp {
		return e.d
	}
	e := &cachedDecimal{coef: coef, exp: exp, d: decimal.New(coef, exp)}
	slot.Store(e)
	return e.d
}
