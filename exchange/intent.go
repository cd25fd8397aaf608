package exchange

import "time"

// Cost is what a request consumes of a venue's rate limits.
type Cost struct {
	Weight int // request weight (Binance REQUEST_WEIGHT, KuCoin pool weight)
	Orders int // orders created (Binance ORDERS count)
}

// Route is a classified endpoint.
type Route struct {
	Name   string // "POST /api/v3/order"
	Class  Class
	Cost   Cost
	Signed bool // whether the request carries a signature
}

// Intent is what a request would do, parsed from the request itself.
type Intent struct {
	Credential string
	Venue      string
	Route      Route
	// Orders are the orders the request creates: one for a plain order, one
	// per leg for an order list, the new order of a cancel-replace.
	Orders []Order
	// Test reports a venue dry run (e.g. POST /api/v3/order/test), which
	// creates nothing but is checked like the real thing.
	Test bool
	// At is when the request is authorized, on the local clock: the
	// Authorizer sets it, and the audit record carries it. A guard judges
	// the request at At (quote ages, daily windows) and reads its own
	// clock only when At is zero.
	At time.Time
}

// Class is the class of the intent's route.
func (in *Intent) Class() Class { return in.Route.Class }

// String summarises the intent for the audit log: no secrets, no signature.
func (in *Intent) String() string {
	var stack [256]byte
	return string(in.appendTo(stack[:0]))
}

// appendTo appends String's summary to b.
func (in *Intent) appendTo(b []byte) []byte {
	b = append(b, in.Route.Name...)
	if in.Test {
		b = append(b, " (test)"...)
	}
	for i := range in.Orders {
		if i == 0 {
			b = append(b, ": "...)
		} else {
			b = append(b, "; "...)
		}
		b = in.Orders[i].appendTo(b)
	}
	return b
}
