package exchange

import (
	"fmt"
	"strings"
)

// KeyRisks lists what a policy accepts of a key beyond trading.
type KeyRisks struct {
	Withdraw       bool // accept a key that can withdraw
	Transfer       bool // accept a key that can transfer between accounts
	UnrestrictedIP bool // accept a key that works from any address
	Unknown        bool // accept permissions the venue reports that keyfence does not know
}

// CheckPermissions refuses a key that can do more than the policy accepts:
// withdrawals, transfers, no IP restriction, or a permission keyfence does
// not know. The error wraps ErrKeyTooPowerful and says what to change.
func CheckPermissions(venue string, p Permissions, accept KeyRisks) error {
	var bad []string
	if p.Withdraw && !accept.Withdraw {
		bad = append(bad, "withdrawals are enabled")
	}
	if p.Transfer && !accept.Transfer {
		bad = append(bad, "transfers are enabled")
	}
	if !p.IPRestricted && !accept.UnrestrictedIP {
		bad = append(bad, "no IP restriction is set")
	}
	if len(p.Other) > 0 && !accept.Unknown {
		bad = append(bad, "unknown permissions "+strings.Join(p.Other, ","))
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s key: %s; restrict the key at the venue, or accept the risk in the policy", ErrKeyTooPowerful, venue, strings.Join(bad, "; "))
}
