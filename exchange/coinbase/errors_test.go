package coinbase

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
)

func TestAPIError(t *testing.T) {
	for _, tc := range []struct {
		status     int
		body, code string
		kind       error
	}{
		{401, "Unauthorized\n", "", exchange.ErrSignature},
		{403, `{"error":"PERMISSION_DENIED","error_details":"Missing required scopes","message":"Missing required scopes"}`, "PERMISSION_DENIED", exchange.ErrPermission},
		{400, `{"error":"PERMISSION_DENIED","message":"no"}`, "PERMISSION_DENIED", exchange.ErrPermission},
		{429, `{"error":"RATE_LIMIT_EXCEEDED","message":"Too many requests"}`, "RATE_LIMIT_EXCEEDED", exchange.ErrRateLimited},
		{404, `{"error":"NOT_FOUND","message":"order with this orderID was not found"}`, "NOT_FOUND", exchange.ErrNotFound},
		{400, `{"error":"INVALID_ARGUMENT","error_details":"bad","message":""}`, "INVALID_ARGUMENT", exchange.ErrRejected},
		{500, `{"error":"INTERNAL","message":"internal error"}`, "INTERNAL", exchange.ErrOutcomeUnknown},
		{503, `<html>`, "", exchange.ErrOutcomeUnknown},
	} {
		h := http.Header{}
		if tc.status == 429 {
			h.Set("Retry-After", "2")
		}
		e := apiError(tc.status, h, []byte(tc.body))
		if !errors.Is(e, tc.kind) || e.Code != tc.code || e.Status != tc.status || e.Venue != Venue || e.Msg == "" {
			t.Errorf("%d %s: %+v", tc.status, tc.body, e)
		}
		if tc.status == 429 && e.RetryAfter != 2*time.Second {
			t.Errorf("retry after %v", e.RetryAfter)
		}
	}
	f := orderFailure("INSUFFICIENT_FUND", "Insufficient balance in source account")
	if !errors.Is(f, exchange.ErrRejected) || f.Code != "INSUFFICIENT_FUND" || f.Status != 200 {
		t.Errorf("%+v", f)
	}
	if f := orderFailure("UNKNOWN_CANCEL_ORDER", ""); !errors.Is(f, exchange.ErrNotFound) {
		t.Errorf("%+v", f)
	}
	if f := orderFailure("", "x"); f.Code != "UNKNOWN_FAILURE_REASON" {
		t.Errorf("%+v", f)
	}
}

func TestUsage(t *testing.T) {
	at := time.Unix(100, 0)
	h := http.Header{}
	h.Set("x-ratelimit-limit", "30")
	h.Set("x-ratelimit-remaining", "12")
	u := usage(at, 200, h)
	if u.Used["PRIVATE:1s"] != 18 || !u.At.Equal(at) || u.Status != 200 {
		t.Errorf("%+v", u)
	}
	h.Set("x-ratelimit-remaining", "31")
	if u := usage(at, 200, h); u.Used != nil {
		t.Errorf("inconsistent headers used: %+v", u)
	}
	if u := usage(at, 200, http.Header{}); u.Used != nil {
		t.Errorf("no headers: %+v", u)
	}
}

func TestParsePermissions(t *testing.T) {
	raw := func(s string) map[string]json.RawMessage {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	p, err := parsePermissions(raw(`{"can_view":true,"can_trade":true,"can_transfer":false,"can_receive":true,"portfolio_uuid":"x","portfolio_type":"DEFAULT"}`))
	if err != nil || !p.Read || !p.Trade || p.Transfer || p.Withdraw || p.IPRestricted || len(p.Other) != 0 {
		t.Errorf("%+v %v", p, err)
	}
	p, err = parsePermissions(raw(`{"can_view":true,"can_trade":false,"can_transfer":true,"can_manage_keys":true}`))
	if err != nil || !p.Transfer || !p.Withdraw || len(p.Other) != 1 || p.Other[0] != "can_manage_keys" {
		t.Errorf("%+v %v", p, err)
	}
	if _, err := parsePermissions(raw(`{"can_view":true}`)); err == nil {
		t.Error("answer without can_transfer accepted")
	}
	// Hygiene: a key with can_transfer is refused; IP restriction is
	// never reported by Coinbase, so it must be accepted explicitly.
	p, _ = parsePermissions(raw(`{"can_view":true,"can_trade":true,"can_transfer":false}`))
	if err := exchange.CheckPermissions(Venue, p, exchange.KeyRisks{}); !errors.Is(err, exchange.ErrKeyTooPowerful) {
		t.Errorf("unrestricted IP not refused: %v", err)
	}
	if err := exchange.CheckPermissions(Venue, p, exchange.KeyRisks{UnrestrictedIP: true}); err != nil {
		t.Error(err)
	}
}
