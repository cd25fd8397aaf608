package limits

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Categories of refusal. Every error the Guard returns from Check wraps
// ErrDenied; the others say more about why.
var (
	// ErrDenied: the guard refused the intent. Nothing may be signed.
	ErrDenied = errors.New("limits: denied")
	// ErrNoReference: no fresh reference price was available for a symbol,
	// so the price band and notional could not be checked (fail closed).
	ErrNoReference = errors.New("limits: no fresh reference price")
	// ErrUndecidable: the guard could not decide, e.g. the state store
	// failed; the intent is refused (fail closed).
	ErrUndecidable = errors.New("limits: cannot decide; refusing")
	// ErrKillSwitch: the kill switch is tripped; trading is halted until
	// it is reset.
	ErrKillSwitch = errors.New("limits: kill switch tripped")
	// ErrSettled: a reservation was committed or released twice.
	ErrSettled = errors.New("limits: reservation already settled")
	// ErrInvalidPolicy: a policy fails validation. *PolicyError wraps it.
	ErrInvalidPolicy = errors.New("limits: invalid policy")
)

// Rule names a guard rule. It is what the audit log records for a denial.
type Rule string

// Rules, in the order the guard checks them.
const (
	RuleKillSwitch    Rule = "kill_switch"
	RuleCredential    Rule = "credential" // unknown credential or venue mismatch
	RuleClass         Rule = "class"
	RuleIntent        Rule = "intent" // malformed order (no quantity, no price, ...)
	RuleSymbol        Rule = "symbol"
	RuleOrderType     Rule = "order_type"
	RuleMarketByBase  Rule = "market_by_base" // a market order by base quantity the policy does not accept
	RuleReference     Rule = "reference"      // missing or stale reference price
	RulePriceBand     Rule = "price_band"
	RuleOrderNotional Rule = "order_notional"
	RuleDailyNotional Rule = "daily_notional"
	RuleOpenOrders    Rule = "open_orders"
	RuleStore         Rule = "store" // the state store failed
)

// Violation is a refusal by the guard: which rule, the limit in force and
// what the intent would have done. It wraps ErrDenied and, where it
// applies, ErrNoReference, ErrUndecidable or ErrKillSwitch.
type Violation struct {
	Rule       Rule
	Credential string
	Symbol     string // empty when the rule is not about a symbol
	Limit      string // the limit in force, e.g. "500 USDT", "2%", "[LIMIT LIMIT_MAKER]"
	Observed   string // what the intent would do, e.g. "600 USDT", "2.5%", "MARKET"
	// Detail says what is wrong, e.g. "order notional over the per-order cap".
	Detail string
	// Fix says what to change, in a few words.
	Fix string
	// Cause is a category (ErrNoReference, ErrUndecidable, ErrKillSwitch)
	// or the underlying error, or nil.
	Cause error
}

// RuleName returns the rule's name for the audit log.
func (v *Violation) RuleName() string { return string(v.Rule) }

// Error is one line: rule, credential, symbol, observed against limit, and
// what to change.
func (v *Violation) Error() string {
	b := make([]byte, 0, 160)
	b = append(b, "limits: denied by "...)
	b = append(b, v.Rule...)
	if v.Credential != "" {
		b = append(b, ": credential "...)
		b = strconv.AppendQuote(b, v.Credential)
	}
	if v.Symbol != "" {
		b = append(b, " symbol "...)
		b = append(b, v.Symbol...)
	}
	if v.Detail != "" {
		b = append(b, ": "...)
		b = append(b, v.Detail...)
	}
	if v.Observed != "" || v.Limit != "" {
		b = append(b, " ("...)
		if v.Observed != "" {
			b = append(b, v.Observed...)
			b = append(b, ", "...)
		}
		b = append(b, "limit "...)
		if v.Limit == "" {
			b = append(b, "none"...)
		}
		b = append(b, v.Limit...)
		b = append(b, ')')
	}
	if v.Cause != nil && !isCategory(v.Cause) {
		b = append(b, ": "...)
		b = append(b, v.Cause.Error()...)
	}
	if v.Fix != "" {
		b = append(b, "; "...)
		b = append(b, v.Fix...)
	}
	return string(b)
}

// Unwrap returns ErrDenied and the cause.
func (v *Violation) Unwrap() []error {
	if v.Cause == nil {
		return []error{ErrDenied}
	}
	return []error{ErrDenied, v.Cause}
}

func isCategory(err error) bool {
	return err == ErrNoReference || err == ErrUndecidable || err == ErrKillSwitch
}

// PolicyError is a problem in a policy: the line of the policy file (0 for
// a policy built in Go), the field path and what is wrong.
type PolicyError struct {
	Line  int
	Field string // e.g. "credentials.binance-main.price_band"
	Msg   string
}

func (e *PolicyError) Error() string {
	switch {
	case e.Line > 0 && e.Field != "":
		return fmt.Sprintf("policy line %d: %s: %s", e.Line, e.Field, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("policy line %d: %s", e.Line, e.Msg)
	case e.Field != "":
		return fmt.Sprintf("policy: %s: %s", e.Field, e.Msg)
	}
	return "policy: " + e.Msg
}

// Unwrap returns ErrInvalidPolicy.
func (e *PolicyError) Unwrap() error { return ErrInvalidPolicy }

// PolicyErrors is every problem found in a policy, in the order of the
// file: a policy is checked whole, so that one round of fixes is enough.
// errors.As finds each *PolicyError in it, and errors.Is(err,
// ErrInvalidPolicy) holds.
type PolicyErrors []*PolicyError

func (e PolicyErrors) Error() string {
	var b strings.Builder
	for i, pe := range e {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(pe.Error())
	}
	return b.String()
}

// Unwrap returns the problems.
func (e PolicyErrors) Unwrap() []error {
	errs := make([]error, len(e))
	for i, pe := range e {
		errs[i] = pe
	}
	return errs
}

// problems collects the problems of a policy as they are found.
type problems struct {
	errs PolicyErrors
}

// add records err: a *PolicyError or a PolicyErrors; anything else is kept
// as a problem of the whole policy.
func (ps *problems) add(err error) {
	var many PolicyErrors
	var one *PolicyError
	switch {
	case err == nil:
	case errors.As(err, &many):
		ps.errs = append(ps.errs, many...)
	case errors.As(err, &one):
		ps.errs = append(ps.errs, one)
	default:
		ps.errs = append(ps.errs, &PolicyError{Msg: err.Error()})
	}
}

// err returns nil, the only problem, or all of them ordered by line.
func (ps *problems) err() error {
	switch len(ps.errs) {
	case 0:
		return nil
	case 1:
		return ps.errs[0]
	}
	out := slices.Clone(ps.errs)
	// By line; problems of the policy as a whole (line 0) last.
	key := func(e *PolicyError) int {
		if e.Line == 0 {
			return int(^uint(0) >> 1)
		}
		return e.Line
	}
	slices.SortStableFunc(out, func(a, b *PolicyError) int { return cmp.Compare(key(a), key(b)) })
	return out
}

// covers reports whether a recorded problem is about field, one of its
// parents or one of its children.
func (ps *problems) covers(field string) bool {
	for _, pe := range ps.errs {
		a, b := pe.Field, field
		if len(a) > len(b) {
			a, b = b, a
		}
		if a == b || (strings.HasPrefix(b, a) && (a == "" || b[len(a)] == '.')) {
			return true
		}
	}
	return false
}
