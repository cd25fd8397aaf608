package exchange_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/binance"
	"github.com/keyfence/keyfence/limits"
	"github.com/keyfence/keyfence/signer"
)

// Concurrent orders through one Authorizer never together pass a cap: with
// a 5000 USDT daily cap, exactly five of twenty 1000 USDT orders are
// signed, and every decision is in the chain.
func TestAuthorizeConcurrent(t *testing.T) {
	f := newFixture(t)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := f.auth.Authorize(context.Background(), limitOrder("50000", "0.02"))
			errs <- err
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	allowed, denied := 0, 0
	for err := range errs {
		var v *limits.Violation
		switch {
		case err == nil:
			allowed++
		case errors.As(err, &v) && v.Rule == limits.RuleDailyNotional:
			denied++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if allowed != 5 || denied != n-5 {
		t.Errorf("%d allowed, %d denied; want 5 and %d", allowed, denied, n-5)
	}
	if f.signer.Calls() != 5 {
		t.Errorf("%d signatures, want 5", f.signer.Calls())
	}
	recs := f.records(t) // also verifies the chain
	if len(recs) != n {
		t.Fatalf("%d records, want %d", len(recs), n)
	}
	allows := 0
	for _, r := range recs {
		if r.Decision == audit.Allow {
			allows++
		}
	}
	if allows != 5 {
		t.Errorf("%d allow records, want 5", allows)
	}
}

// Through the Authorizer, the Binance documentation's signed order comes
// out with the documented signature.
func TestAuthorizeBinanceDocumentationVector(t *testing.T) {
	keys := signer.NewMemory()
	defer keys.Close()
	// The published documentation key (not a real account).
	if err := keys.Import(signer.KeyInfo{Name: "doc", Venue: "binance", Type: signer.KeyHMAC,
		APIKey: "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"},
		[]byte("NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"), nil); err != nil {
		t.Fatal(err)
	}
	scheme, err := binance.NewScheme(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	aud := &recordingAuditor{}
	auth := &exchange.Authorizer{Scheme: scheme, Signer: keys, Guard: ruleAllGuard{}, Audit: aud,
		Clock: func() time.Time { return time.UnixMilli(1499827319559) }}
	a, err := auth.Authorize(context.Background(), &exchange.Request{Credential: "doc", Method: "POST", Path: "/api/v3/order", Params: exchange.Params{
		{Key: "symbol", Value: "LTCBTC"}, {Key: "side", Value: "BUY"}, {Key: "type", Value: "LIMIT"},
		{Key: "timeInForce", Value: "GTC"}, {Key: "quantity", Value: "1"}, {Key: "price", Value: "0.1"}}})
	if err != nil {
		t.Fatal(err)
	}
	const payload = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
	const want = payload + "&signature=c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
	if a.Wire.Query != want {
		t.Errorf("query = %q, want %q", a.Wire.Query, want)
	}
	recs := aud.Records()
	if len(recs) != 1 || recs[0].PayloadSHA256 != sha256Of(payload) {
		t.Errorf("records = %+v", recs)
	}
}

// A cancelled context fails closed: nothing is signed and the budget goes
// back.
func TestAuthorizeCancelledContext(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	a, err := f.auth.Authorize(ctx, limitOrder("50000", "0.01"))
	if err == nil || a != nil {
		t.Fatalf("Authorize = %v, %v; want an error", a, err)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Authorize = %v, want it to wrap context.Canceled", err)
	}
	if f.signer.Calls() != 0 {
		t.Error("signed under a cancelled context")
	}
	if n := f.guard.Releases(); n > 1 {
		t.Errorf("released %d times", n)
	}
	// Whatever was reserved went back: the full daily cap is still there.
	for i := range 5 {
		if _, err := f.auth.Authorize(context.Background(), limitOrder("50000", "0.02")); err != nil {
			t.Fatalf("order %d: %v", i, err)
		}
	}
}
