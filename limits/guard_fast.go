package limits

import (
	"context"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/shopspring/decimal"
)

// checkTradeFast is checkTrade for one order on a MemoryStore: the same
// rules, limits and decisions, with the notional in units and the counters
// resolved when the guard was created. Decimals are built only to explain
// a refusal, or to value a market order whose reference times the band
// has more than 18 digits.
func (g *Guard) checkTradeFast(ctx context.Context, cg *credGuard, sg *symGuard, in *exchange.Intent, now time.Time) (exchange.Reservation, *Violation) {
	o := &in.Orders[0]
	n, v := g.orderRef(ctx, cg, o, now)
	if v != nil {
		return nil, v
	}
	amount, v := g.notionalUnits(cg, sg, o, &n)
	if v != nil {
		return nil, v
	}
	var lims [3]fastLimit
	nl := 0
	if sg.dailyCap.Valid {
		lims[nl] = fastLimit{c: sg.symC, amount: amount, cap: sg.dailyCapU}
		nl++
	}
	if sg.quoteDaily.Valid {
		lims[nl] = fastLimit{c: sg.quoteC, amount: amount, cap: sg.quoteDailyU}
		nl++
	}
	lims[nl] = fastLimit{c: cg.openC, amount: oneUnit, cap: cg.maxOpenU}
	nl++
	var res *fastReservation
	if !in.Test {
		res = &fastReservation{sg: sg, at: nanos(now), id: o.ID, cid: o.ClientID}
	}
	i, used, err := g.fast.fastReserve(ctx, nanos(now), lims[:nl], res)
	if err != nil {
		return nil, g.undecidable(ctx, cg.name, "reserving notional", err)
	}
	if i >= 0 {
		return nil, g.exceededFast(cg, sg, in, n.ref.d, i, used)
	}
	if in.Test {
		return &reservation{g: g, cg: cg}, nil
	}
	return res, nil
}

// notionalUnits is notionalAt in units, rounded up, for the decimals
// orderRef resolved. A refusal is explained by notionalAt.
func (g *Guard) notionalUnits(cg *credGuard, sg *symGuard, o *exchange.Order, n *orderNums) (units, *Violation) {
	ref, price := n.ref, n.price
	if !priced(o.Type) && o.Type != exchange.Market || o.Side == exchange.Sell && stopType(o.Type) {
		// A stop-market order, valued at its trigger; a stop-limit sell,
		// at the furthest of its price, the bid and its trigger.
		d, v := g.notionalAt(cg, sg, o, ref.d)
		if v != nil {
			return units{}, v
		}
		return unitsOf(d, true), nil
	}
	if !priced(o.Type) {
		// notionalAt's price, the reference widened by the band, when its
		// coefficient fits.
		if price = mulNum(ref, cg.bandUp); !price.ok {
			d, v := g.notionalAt(cg, sg, o, ref.d)
			if v != nil {
				return units{}, v
			}
			return unitsOf(d, true), nil
		}
	}
	if priced(o.Type) && o.Side == exchange.Sell && numGreater(ref, price) {
		// A limit sell below the bid fills at the bid or better.
		price = ref
	}
	// notionalAt's products are exact, and ceil(max(a, b)) ==
	// max(ceil(a), ceil(b)), so this is what the store makes of
	// notionalAt's decimal.
	var u units
	if n.qty.ok || o.Quantity.IsPositive() {
		u = mulNums(price, n.qty, true)
	}
	if o.QuoteQuantity.IsPositive() {
		if q := unitsOf(o.QuoteQuantity, true); q.cmp(u) > 0 {
			u = q
		}
	}
	if sg.hasOrderCap && u.cmp(sg.orderCapU) > 0 {
		if _, v := g.notionalAt(cg, sg, o, ref.d); v != nil {
			return units{}, v
		}
	}
	return u, nil
}

// exceededFast explains a refusal of fastReserve as checkTrade explains
// the *ExceededError of Store.Reserve.
func (g *Guard) exceededFast(cg *credGuard, sg *symGuard, in *exchange.Intent, ref decimal.Decimal, i int, used units) *Violation {
	notional, _ := g.notionalAt(cg, sg, &in.Orders[0], ref)
	var lims [3]Limit
	nl := 0
	if sg.dailyCap.Valid {
		lims[nl] = Limit{Key: sg.symKey, Amount: notional, Cap: sg.dailyCap.Decimal, Window: DailyWindow}
		nl++
	}
	if sg.quoteDaily.Valid {
		lims[nl] = Limit{Key: sg.quoteKey, Amount: notional, Cap: sg.quoteDaily.Decimal, Window: DailyWindow}
		nl++
	}
	lims[nl] = Limit{Key: cg.openKey, Amount: g.legs[1], Cap: cg.maxOpen}
	l := &lims[i]
	return g.exceeded(cg, in, l, &ExceededError{Index: i, Key: l.Key, Used: used.decimal(), Cap: l.Cap})
}
