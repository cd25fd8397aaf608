package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
)

// TestQuickstart runs the main job: it fails if any replayed attack is not
// refused, if the venue balances show a loss, or if the audit log does not
// verify.
func TestQuickstart(t *testing.T) {
	for venue := range venues {
		t.Run(venue, func(t *testing.T) { testQuickstart(t, venue) })
	}
}

func testQuickstart(t *testing.T, venue string) {
	var out bytes.Buffer
	if err := run(context.Background(), &out, venue); err != nil {
		t.Fatalf("quickstart: %v\n%s", err, out.String())
	}
	s := out.String()
	for _, row := range []string{
		`open the stolen keystore without the passphrase\s+yes\s+keystore: wrong passphrase`,
		`THIN.* at 3x the market\s+yes\s+guard: price_band`,
		`100x the per-order cap.*\s+yes\s+guard: order_notional`,
		`withdraw 9,000 \w+\s+yes\s+guard: class`,
		`10x the rate limit\s+yes\s+rate guard: \d+ sent, \d+ held back; venue 429/418 answers: 0`,
		`key that can withdraw.*\s+yes\s+key check at start`,
		`kill switch tripped\s+yes\s+guard: kill_switch`,
		`withdrawals executed by the venue: 0`,
		`audit log: \d+ decisions, hash chain intact`,
	} {
		if !regexp.MustCompile(row).MatchString(s) {
			t.Errorf("output lacks %q:\n%s", row, s)
		}
	}
	if strings.Contains(s, " NO ") {
		t.Errorf("an attempt was not refused:\n%s", s)
	}
}
