package binance

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
)

func TestErrorMapping(t *testing.T) {
	cases := []struct {
		status int
		body   string
		kind   error
		code   string
	}{
		{400, `{"code":-1021,"msg":"Timestamp for this request is outside of the recvWindow."}`, exchange.ErrClock, "-1021"},
		{400, `{"code":-1022,"msg":"Signature for this request is not valid."}`, exchange.ErrSignature, "-1022"},
		{401, `{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}`, exchange.ErrPermission, "-2015"},
		{401, `{"code":-2014,"msg":"API-key format invalid."}`, exchange.ErrPermission, "-2014"},
		{429, `{"code":-1003,"msg":"Too many requests."}`, exchange.ErrRateLimited, "-1003"},
		{400, `{"code":-1015,"msg":"Too many new orders."}`, exchange.ErrRateLimited, "-1015"},
		{429, ``, exchange.ErrRateLimited, ""},
		{418, `{"code":-1003,"msg":"Way too many requests; IP banned until 1700000000000."}`, exchange.ErrBanned, "-1003"},
		{400, `{"code":-2010,"msg":"Account has insufficient balance for requested action."}`, exchange.ErrRejected, "-2010"},
		{400, `{"code":-1013,"msg":"Filter failure: PRICE_FILTER"}`, exchange.ErrRejected, "-1013"},
		{400, `{"code":-2011,"msg":"Unknown order sent."}`, exchange.ErrNotFound, "-2011"},
		{400, `{"code":-2011,"msg":"Order was not canceled due to cancel restrictions."}`, exchange.ErrRejected, "-2011"},
		{400, `{"code":-2013,"msg":"Order does not exist."}`, exchange.ErrNotFound, "-2013"},
		{400, `{"code":-1121,"msg":"Invalid symbol."}`, exchange.ErrRejected, "-1121"},
		{403, `<html>WAF</html>`, exchange.ErrRejected, ""},
		{500, `{"code":-1000,"msg":"An unknown error occurred while processing the request."}`, exchange.ErrOutcomeUnknown, "-1000"},
		{503, `Service Unavailable`, exchange.ErrOutcomeUnknown, ""},
		{408, `{"code":-1007,"msg":"Timeout waiting for response from backend server. Send status unknown; execution status unknown."}`, exchange.ErrOutcomeUnknown, "-1007"},
		{400, `{"code":-1006,"msg":"An unexpected response was received from the message bus. Execution status unknown."}`, exchange.ErrOutcomeUnknown, "-1006"},
	}
	for _, tc := range cases {
		h := http.Header{}
		if tc.status == 429 || tc.status == 418 {
			h.Set("Retry-After", "120")
		}
		e := apiError(tc.status, h, []byte(tc.body))
		if !errors.Is(e, tc.kind) || e.Code != tc.code || e.Status != tc.status || e.Venue != "binance" {
			t.Errorf("%d %s: %+v, want %v", tc.status, tc.body, e, tc.kind)
		}
		if (tc.status == 429 || tc.status == 418) && e.RetryAfter != 2*time.Minute {
			t.Errorf("%d: RetryAfter %s", tc.status, e.RetryAfter)
		}
		var ae *exchange.APIError
		if !errors.As(error(e), &ae) {
			t.Error("not an APIError")
		}
	}
}

func TestUsageHeaders(t *testing.T) {
	h := http.Header{}
	h.Set("X-MBX-USED-WEIGHT-1M", "42")
	h.Set("X-MBX-USED-WEIGHT", "42") // legacy, no interval: ignored
	h.Set("X-MBX-ORDER-COUNT-10S", "3")
	h.Set("X-MBX-ORDER-COUNT-1D", "17")
	h.Set("X-MBX-USED-WEIGHT-1X", "1")
	h.Set("Retry-After", "7")
	at := time.Unix(100, 0)
	u := usage(at, 429, h)
	want := map[string]int{"REQUEST_WEIGHT:1m": 42, "ORDERS:10s": 3, "ORDERS:1d": 17}
	if len(u.Used) != len(want) {
		t.Fatalf("used %v", u.Used)
	}
	for k, v := range want {
		if u.Used[k] != v {
			t.Fatalf("used %v, want %v", u.Used, want)
		}
	}
	if u.Status != 429 || u.RetryAfter != 7*time.Second || !u.At.Equal(at) {
		t.Fatalf("usage %+v", u)
	}
}

func TestParsePermissions(t *testing.T) {
	p, err := parsePermissions(rawJSON(t, `{"ipRestrict":true,"createTime":1698645219000,"enableReading":true,"enableWithdrawals":false,
		"enableInternalTransfer":false,"permitsUniversalTransfer":false,"enableSpotAndMarginTrading":true,"enableMargin":false,
		"enableFutures":true,"enableVanillaOptions":false,"enablePortfolioMarginTrading":false,"enableFixApiTrade":false,"enableFixReadOnly":true}`))
	if err != nil {
		t.Fatal(err)
	}
	if !p.Read || !p.Trade || p.Withdraw || p.Transfer || !p.IPRestricted || len(p.Other) != 1 || p.Other[0] != "enableFutures" {
		t.Fatalf("permissions %+v", p)
	}
	p, err = parsePermissions(rawJSON(t, `{"ipRestrict":false,"enableWithdrawals":true,"permitsUniversalTransfer":true}`))
	if err != nil || !p.Withdraw || !p.Transfer || p.IPRestricted {
		t.Fatalf("permissions %+v %v", p, err)
	}
	if _, err := parsePermissions(rawJSON(t, `{"ipRestrict":true}`)); err == nil {
		t.Fatal("answer without enableWithdrawals accepted")
	}
}
