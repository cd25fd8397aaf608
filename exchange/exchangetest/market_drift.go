package exchangetest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/shopspring/decimal"
)

// Drift makes a simulated market move by itself: every Every, each
// symbol's last price steps up or down by Step (a fraction of the price,
// e.g. 0.001 for 0.1 %), rounded to the tick and at least one tick, in a
// direction drawn from a generator seeded with Seed. The walk is a pure
// function of the seed and of the clock: the same seed and the same times
// give the same prices, whoever asks and however often. Each step moves
// the price as SetPrice does, so resting orders it crosses fill.
type Drift struct {
	Step  decimal.Decimal
	Every time.Duration
	Seed  uint64
}

// ErrBadDrift is wrapped by the errors of an invalid Drift.
var ErrBadDrift = errors.New("exchangetest: bad drift")

// maxDriftStep bounds Step: a walk of more than 10 % per step is no
// market.
var maxDriftStep = decimal.RequireFromString("0.1")

// Validate reports a drift the simulators refuse: a Step not above zero
// or above 0.1, or Every under a millisecond. The error wraps ErrBadDrift.
func (d Drift) Validate() error {
	if d.Step.Sign() <= 0 || d.Step.GreaterThan(maxDriftStep) {
		return fmt.Errorf("%w: step %s: use a fraction of the price above 0 and at most 0.1 (e.g. 0.001 for 0.1 %%)", ErrBadDrift, d.Step)
	}
	if d.Every < time.Millisecond {
		return fmt.Errorf("%w: every %s: use at least 1ms between steps", ErrBadDrift, d.Every)
	}
	return nil
}

// maxDriftCatchUp bounds the steps applied at once when the clock jumped;
// older steps are skipped.
const maxDriftCatchUp = 100_000

// drifter is a running Drift. The market's lock guards it.
type drifter struct {
	Drift
	rng   *rand.Rand
	steps int64 // steps applied since the market started
	names []string
}

func newDrifter(d Drift, m *market) *drifter {
	names := make([]string, 0, len(m.symbols))
	for n := range m.symbols {
		names = append(names, n)
	}
	sort.Strings(names)
	return &drifter{Drift: d, rng: rand.New(rand.NewPCG(d.Seed, 0x6b657966656e6365)), names: names}
}

// advance applies the steps due by the market's clock. mu is held.
func (d *drifter) advance(m *market) {
	due := int64(m.now().Sub(m.started) / d.Every)
	if due <= d.steps {
		return
	}
	if due-d.steps > maxDriftCatchUp {
		d.steps = due - maxDriftCatchUp
	}
	one := decimal.NewFromInt(1)
	for ; d.steps < due; d.steps++ {
		at := m.started.Add(time.Duration(d.steps+1) * d.Every)
		for _, n := range d.names {
			up := d.rng.Uint64()&1 == 1
			s := m.symbols[n]
			if s.Halted {
				continue
			}
			factor := one.Sub(d.Step)
			if up {
				factor = one.Add(d.Step)
			}
			p := s.Price.Mul(factor)
			if t := s.Filters.TickSize; t.Sign() > 0 {
				p = p.Div(t).Round(0).Mul(t)
				if p.Equal(s.Price) {
					if up {
						p = p.Add(t)
					} else {
						p = p.Sub(t)
					}
				}
				floor := decimal.Max(t, s.Filters.MinPrice)
				if p.LessThan(floor) {
					p = floor
				}
				if s.Filters.MaxPrice.Sign() > 0 && p.GreaterThan(s.Filters.MaxPrice) {
					p = s.Filters.MaxPrice
				}
			} else {
				p = p.Truncate(8)
			}
			if p.Sign() > 0 {
				m.setPriceLocked(n, p, at)
			}
		}
	}
}
