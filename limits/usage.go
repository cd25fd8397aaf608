package limits

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
)

// ErrUnknownCredential: Usage of a credential the policy does not name.
var ErrUnknownCredential = errors.New("limits: credential not in the policy")

// CounterUsage is one rolling notional counter of a credential: what it
// has used of its cap within its window.
type CounterUsage struct {
	// Symbol is set for a symbol's own cap
	// (credentials.NAME.symbols.SYMBOL.max_daily_notional); empty for the
	// cap of a quote asset, shared by its symbols
	// (credentials.NAME.quotes.QUOTE.max_daily_notional).
	Symbol string
	// Quote is the asset the notional counts in.
	Quote string
	Used  decimal.Decimal
	Cap   decimal.Decimal
	// Window is the rolling window: an amount counts for this long from
	// when it was reserved.
	Window time.Duration
}

// counterJSON is CounterUsage's JSON form.
type counterJSON struct {
	Symbol string          `json:"symbol,omitempty"`
	Quote  string          `json:"quote"`
	Used   decimal.Decimal `json:"used"`
	Cap    decimal.Decimal `json:"cap"`
	Window string          `json:"window"`
}

// MarshalJSON writes the window as a duration ("24h0m0s").
func (c CounterUsage) MarshalJSON() ([]byte, error) {
	return json.Marshal(counterJSON{c.Symbol, c.Quote, c.Used, c.Cap, c.Window.String()})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (c *CounterUsage) UnmarshalJSON(b []byte) error {
	var j counterJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	w, err := time.ParseDuration(j.Window)
	if err != nil {
		return fmt.Errorf("limits: counter window %q: %w", j.Window, err)
	}
	*c = CounterUsage{Symbol: j.Symbol, Quote: j.Quote, Used: j.Used, Cap: j.Cap, Window: w}
	return nil
}

// Usage is what a credential has used of its caps: each rolling notional
// counter the policy caps and the open-order gauge. The budget reserved
// for orders whose outcome is not known yet counts as used (principle:
// unknown means worst case).
type Usage struct {
	Credential string         `json:"credential"`
	Notional   []CounterUsage `json:"notional"`
	// OpenOrders is how many orders the guard holds open for the
	// credential (orders of unknown outcome included); MaxOpenOrders is
	// its cap.
	OpenOrders    int64 `json:"open_orders"`
	MaxOpenOrders int64 `json:"max_open_orders"`
}

// Usage reports what credential has used of its caps, at the guard's
// clock. It reads the counters through the store (a reservation that
// checks and records nothing) and changes no budget; with a store shared
// by processes it sees every process's usage. A credential the policy
// does not name returns ErrUnknownCredential.
func (g *Guard) Usage(ctx context.Context, credential string) (Usage, error) {
	cg := g.cred(credential)
	if cg == nil {
		return Usage{}, fmt.Errorf("%w: %q; name one of the policy's credentials", ErrUnknownCredential, credential)
	}
	now := g.now()
	u := Usage{Credential: credential, Notional: []CounterUsage{}, MaxOpenOrders: cg.maxOpen.IntPart()}
	seenQuote := map[string]bool{}
	for _, s := range sortedKeys(cg.symbols) {
		sg := cg.symbols[s]
		if sg.dailyCap.Valid {
			used, err := g.used(ctx, cg.name, sg.symKey, DailyWindow, now)
			if err != nil {
				return Usage{}, err
			}
			u.Notional = append(u.Notional, CounterUsage{Symbol: s, Quote: sg.quote, Used: used, Cap: sg.dailyCap.Decimal, Window: DailyWindow})
		}
		if sg.quoteDaily.Valid && !seenQuote[sg.quote] {
			seenQuote[sg.quote] = true
			used, err := g.used(ctx, cg.name, sg.quoteKey, DailyWindow, now)
			if err != nil {
				return Usage{}, err
			}
			u.Notional = append(u.Notional, CounterUsage{Quote: sg.quote, Used: used, Cap: sg.quoteDaily.Decimal, Window: DailyWindow})
		}
	}
	open, err := g.used(ctx, cg.name, cg.openKey, 0, now)
	if err != nil {
		return Usage{}, err
	}
	u.OpenOrders = open.Ceil().IntPart()
	return u, nil
}

// used reads a counter through Store.Reserve: a dry run of an amount of
// zero against a cap of zero, which every store checks like any
// reservation and records nothing for, exceeds exactly when the counter
// holds something, and then says how much (ExceededError.Used). window is
// the counter's own (a store that creates counters on first sight creates
// it as the guard's reservations would).
func (g *Guard) used(ctx context.Context, owner, key string, window time.Duration, now time.Time) (decimal.Decimal, error) {
	_, err := g.store.Reserve(ctx, &ReserveRequest{Owner: owner, Now: now, DryRun: true,
		Limits: []Limit{{Key: key, Amount: decimal.Zero, Cap: decimal.Zero, Window: window}}})
	var ex *ExceededError
	switch {
	case err == nil:
		return decimal.Zero, nil
	case errors.As(err, &ex):
		return ex.Used, nil
	}
	return decimal.Zero, fmt.Errorf("limits: reading the usage of %q: %w", owner, err)
}
