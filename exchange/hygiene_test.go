package exchange_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/keyfence/keyfence/exchange"
)

func TestCheckPermissions(t *testing.T) {
	safe := exchange.Permissions{Read: true, Trade: true, IPRestricted: true}
	tests := []struct {
		name   string
		p      exchange.Permissions
		accept exchange.KeyRisks
		want   []string // problems named; nil: accepted
	}{
		{"trade-only restricted key", safe, exchange.KeyRisks{}, nil},
		{"withdraw", with(safe, func(p *exchange.Permissions) { p.Withdraw = true }), exchange.KeyRisks{}, []string{"withdrawals are enabled"}},
		{"withdraw accepted", with(safe, func(p *exchange.Permissions) { p.Withdraw = true }), exchange.KeyRisks{Withdraw: true}, nil},
		{"transfer", with(safe, func(p *exchange.Permissions) { p.Transfer = true }), exchange.KeyRisks{}, []string{"transfers are enabled"}},
		{"transfer accepted", with(safe, func(p *exchange.Permissions) { p.Transfer = true }), exchange.KeyRisks{Transfer: true}, nil},
		{"no IP restriction", with(safe, func(p *exchange.Permissions) { p.IPRestricted = false }), exchange.KeyRisks{}, []string{"no IP restriction"}},
		{"no IP restriction accepted", with(safe, func(p *exchange.Permissions) { p.IPRestricted = false }), exchange.KeyRisks{UnrestrictedIP: true}, nil},
		{"unknown", with(safe, func(p *exchange.Permissions) { p.Other = []string{"MARGIN", "FUTURES"} }), exchange.KeyRisks{}, []string{"unknown permissions MARGIN,FUTURES"}},
		{"unknown accepted", with(safe, func(p *exchange.Permissions) { p.Other = []string{"MARGIN"} }), exchange.KeyRisks{Unknown: true}, nil},
		{"withdraw accepted does not accept transfer",
			with(safe, func(p *exchange.Permissions) { p.Withdraw, p.Transfer = true, true }),
			exchange.KeyRisks{Withdraw: true}, []string{"transfers are enabled"}},
		{"everything", exchange.Permissions{Read: true, Trade: true, Withdraw: true, Transfer: true, Other: []string{"X"}},
			exchange.KeyRisks{}, []string{"withdrawals are enabled", "transfers are enabled", "no IP restriction", "unknown permissions X"}},
		{"everything accepted", exchange.Permissions{Withdraw: true, Transfer: true, Other: []string{"X"}},
			exchange.KeyRisks{Withdraw: true, Transfer: true, UnrestrictedIP: true, Unknown: true}, nil},
		{"empty Other is not unknown", with(safe, func(p *exchange.Permissions) { p.Other = []string{} }), exchange.KeyRisks{}, nil},
	}
	all := []string{"withdrawals", "transfers", "IP restriction", "unknown permissions"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := exchange.CheckPermissions("binance", tt.p, tt.accept)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("CheckPermissions = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, exchange.ErrKeyTooPowerful) {
				t.Fatalf("CheckPermissions = %v, want ErrKeyTooPowerful", err)
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q does not name %q", msg, w)
				}
			}
			// Problems that are not there are not named.
			for _, a := range all {
				named := false
				for _, w := range tt.want {
					named = named || strings.Contains(w, a)
				}
				if !named && strings.Contains(msg, a) {
					t.Errorf("message %q names %q, which is not a problem here", msg, a)
				}
			}
			if !strings.Contains(msg, "binance") || !strings.Contains(msg, "restrict the key") {
				t.Errorf("message %q does not name the venue and what to do", msg)
			}
		})
	}
}

func with(p exchange.Permissions, f func(*exchange.Permissions)) exchange.Permissions {
	f(&p)
	return p
}
