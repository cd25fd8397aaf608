package exchange_test

import (
	"context"
	"errors"
	"testing"

	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/signer"
)

// failingSigner knows its keys but cannot sign with them (an HSM that went
// away between the check and the signature).
type failingSigner struct{ signer.Signer }

var errHSMGone = errors.New("token removed")

func (failingSigner) Sign(context.Context, string, signer.Algorithm, []byte) ([]byte, error) {
	return nil, errHSMGone
}

// TestAuthorizeSignFailureIsRecorded: when the signer fails after the allow
// record was written, a deny record with rule "sign" follows it, so the log
// never claims a signature that was not made, and the budget is released.
func TestAuthorizeSignFailureIsRecorded(t *testing.T) {
	f := newFixture(t)
	f.auth.Signer = failingSigner{f.keys}
	_, err := f.auth.Authorize(context.Background(), limitOrder("50000", "0.01"))
	if !errors.Is(err, errHSMGone) {
		t.Fatalf("err = %v, want the signer's error", err)
	}
	recs := f.records(t)
	if len(recs) != 2 {
		t.Fatalf("records = %d, want allow then deny", len(recs))
	}
	if recs[0].Decision != audit.Allow || recs[1].Decision != audit.Deny || recs[1].Rule != "sign" {
		t.Errorf("records = %+v / %+v, want allow then deny by rule sign", recs[0], recs[1])
	}
	if recs[1].PayloadSHA256 != recs[0].PayloadSHA256 || recs[1].Intent != recs[0].Intent || recs[1].Intent == "" || recs[1].Seq != recs[0].Seq+1 {
		t.Errorf("the deny record must name the same payload and follow the allow record")
	}
	if got := f.guard.Releases(); got != 1 {
		t.Errorf("releases = %d, want 1", got)
	}
}
