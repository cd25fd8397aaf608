package exchange_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
)

func TestAPIError(t *testing.T) {
	e := &exchange.APIError{Venue: "binance", Status: 400, Code: "-1021", Msg: "Timestamp outside recvWindow", Kind: exchange.ErrClock}
	err := fmt.Errorf("placing order: %w", e)
	if !errors.Is(err, exchange.ErrClock) || errors.Is(err, exchange.ErrSignature) {
		t.Errorf("errors.Is does not follow Kind: %v", err)
	}
	var got *exchange.APIError
	if !errors.As(err, &got) || got.Code != "-1021" {
		t.Fatalf("errors.As = %+v", got)
	}
	msg := e.Error()
	for _, want := range []string{"binance", "400", "-1021", "Timestamp outside recvWindow", exchange.ErrClock.Error()} {
		if !strings.Contains(msg, want) {
			t.Errorf("Error() = %q, missing %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("Error() spans lines: %q", msg)
	}

	bare := &exchange.APIError{Venue: "kucoin", Status: 500, Code: "1", Msg: "oops"}
	if bare.Unwrap() != nil || !strings.Contains(bare.Error(), "(error)") {
		t.Errorf("APIError without Kind: %q, unwrap %v", bare.Error(), bare.Unwrap())
	}
}

func TestRateLimitError(t *testing.T) {
	until := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("X", 3600))
	tests := []struct {
		banned bool
		is     error
		isNot  error
		word   string
	}{
		{false, exchange.ErrRateLimited, exchange.ErrBanned, "rate limited"},
		{true, exchange.ErrBanned, exchange.ErrRateLimited, "banned"},
	}
	for _, tt := range tests {
		e := &exchange.RateLimitError{Venue: "binance", Limit: "REQUEST_WEIGHT 1m", Until: until, Banned: tt.banned}
		err := fmt.Errorf("wrapped: %w", e)
		if !errors.Is(err, tt.is) || errors.Is(err, tt.isNot) {
			t.Errorf("Banned=%v: errors.Is wrong for %v", tt.banned, err)
		}
		var got *exchange.RateLimitError
		if !errors.As(err, &got) || !got.Until.Equal(until) {
			t.Errorf("errors.As = %+v", got)
		}
		msg := e.Error()
		for _, want := range []string{"binance", tt.word, "REQUEST_WEIGHT 1m", "2026-01-02T02:04:05Z"} {
			if !strings.Contains(msg, want) {
				t.Errorf("Error() = %q, missing %q", msg, want)
			}
		}
	}
}

func TestFilterError(t *testing.T) {
	e := &exchange.FilterError{Symbol: "BTCUSDT", Filter: "PRICE_FILTER tickSize", Detail: "price 1.005 is not a multiple of 0.01"}
	err := fmt.Errorf("place: %w", e)
	if !errors.Is(err, exchange.ErrFilter) {
		t.Error("FilterError does not wrap ErrFilter")
	}
	var got *exchange.FilterError
	if !errors.As(err, &got) || got.Filter != "PRICE_FILTER tickSize" {
		t.Errorf("errors.As = %+v", got)
	}
	if want := "exchange: BTCUSDT: PRICE_FILTER tickSize: price 1.005 is not a multiple of 0.01"; e.Error() != want {
		t.Errorf("Error() = %q, want %q", e.Error(), want)
	}
}

// The sentinels are distinct, so errors.Is tells them apart.
func TestSentinelsDistinct(t *testing.T) {
	all := []error{exchange.ErrUnknownEndpoint, exchange.ErrMalformedRequest, exchange.ErrWrongVenue, exchange.ErrAudit,
		exchange.ErrFilter, exchange.ErrClock, exchange.ErrSignature, exchange.ErrPermission, exchange.ErrRateLimited,
		exchange.ErrBanned, exchange.ErrRejected, exchange.ErrNotFound, exchange.ErrOutcomeUnknown, exchange.ErrKeyTooPowerful}
	for i, a := range all {
		for j, b := range all {
			if i != j && errors.Is(a, b) {
				t.Errorf("%v is %v", a, b)
			}
		}
		if !strings.HasPrefix(a.Error(), "exchange: ") {
			t.Errorf("%q does not name the package", a)
		}
	}
}
