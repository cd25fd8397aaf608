package exchange

import (
	"fmt"
	"time"
)

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
		o := &in.Orders[i]
		b = o.appendTo(b)
		if ValidClientID(o.ClientID) {
			// An id that is not plain is left out: reconciliation then
			// finds no record for the order and reports it (fail closed).
			b = append(b, " cid="...)
			b = append(b, o.ClientID...)
		}
	}
	return b
}

// ClientIDPrefix introduces an order's client order id in the intent
// summary an audit record stores ("BUY LIMIT 1 BTCUSDT @ 50000 GTC
// cid=kf-3f2a..."): reconciliation matches venue orders to allow records
// by it.
const ClientIDPrefix = "cid="

// ValidClientID reports whether id can stand as a client order id in an
// intent summary: 1 to 64 ASCII letters, digits and ._:/- (no space, no
// ';', so that a summary cannot claim an id it does not hold).
func ValidClientID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.', c == '_', c == ':', c == '/', c == '-':
		default:
			return false
		}
	}
	return true
}

// creates reports whether the intent creates orders whose outcome must be
// settled from the venue's answer: a trade that is not a venue test.
func (in *Intent) creates() bool { return in.Route.Class == ClassTrade && !in.Test }

// CheckClientID returns an error wrapping ErrClientID when id is not a
// valid client order id (ValidClientID). Venue clients refuse such ids
// before anything is signed.
func CheckClientID(id string) error {
	if !ValidClientID(id) {
		return fmt.Errorf("%w; got %q", ErrClientID, id)
	}
	return nil
}

// unknownOutcome is the Outcome of a request whose answer did not say what
// happened: every order it may have created holds its budget, of unknown
// outcome, until a look-up or reconciliation sees it closed.
func (in *Intent) unknownOutcome() Outcome {
	out := Outcome{Orders: make([]OrderRef, len(in.Orders))}
	for i := range in.Orders {
		o := &in.Orders[i]
		out.Orders[i] = OrderRef{ID: o.ID, ClientID: o.ClientID, Symbol: o.Symbol, Unknown: true}
	}
	return out
}

// UnknownOutcome returns the Outcome to commit when the venue accepted a
// request but its answer does not state the orders' status and fills:
// each order holds its budget until a look-up sees it closed.
func (in *Intent) UnknownOutcome() Outcome { return in.unknownOutcome() }
