package kucoin

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
)

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		status int
		body   string
		kind   error
		code   string
	}{
		{401, `{"code":"400001","msg":"Please check the header of your request"}`, exchange.ErrSignature, "400001"},
		{401, `{"code":"400002","msg":"KC-API-TIMESTAMP Invalid"}`, exchange.ErrClock, "400002"},
		{401, `{"code":"400003","msg":"KC-API-KEY not exists"}`, exchange.ErrPermission, "400003"},
		{401, `{"code":"400004","msg":"Invalid KC-API-PASSPHRASE"}`, exchange.ErrPermission, "400004"},
		{401, `{"code":"400005","msg":"Invalid KC-API-SIGN"}`, exchange.ErrSignature, "400005"},
		{401, `{"code":"400006","msg":"Invalid request ip"}`, exchange.ErrPermission, "400006"},
		{403, `{"code":"400007","msg":"Access denied, require more permission."}`, exchange.ErrPermission, "400007"},
		{429, `{"code":"429000","msg":"Too Many Requests"}`, exchange.ErrRateLimited, "429000"},
		{200, `{"code":"429000","msg":"Too Many Requests"}`, exchange.ErrRateLimited, "429000"},
		{200, `{"code":"200004","msg":"Balance insufficient!"}`, exchange.ErrRejected, "200004"},
		{200, `{"code":"400100","msg":"The order does not exist."}`, exchange.ErrNotFound, "400100"},
		{400, `{"code":"400100","msg":"Parameter error"}`, exchange.ErrRejected, "400100"},
		{200, `{"code":200004,"msg":"numeric code"}`, exchange.ErrRejected, "200004"},
		{500, `{"code":"500000","msg":"Internal Server Error"}`, exchange.ErrOutcomeUnknown, "500000"},
		{502, `<html>bad gateway</html>`, exchange.ErrOutcomeUnknown, ""},
		{200, `not json`, exchange.ErrRejected, ""},
		{403, `forbidden`, exchange.ErrPermission, ""},
	}
	h := http.Header{}
	h.Set(HeaderReset, "1500")
	for _, tc := range tests {
		_, e := decode(tc.status, h, []byte(tc.body))
		if e == nil || !errors.Is(e, tc.kind) || e.Code != tc.code || e.Status != tc.status {
			t.Errorf("%d %s: %v, want %v code %q", tc.status, tc.body, e, tc.kind, tc.code)
			continue
		}
		if (tc.kind == exchange.ErrRateLimited) != (e.RetryAfter == 1500*time.Millisecond) {
			t.Errorf("%s: RetryAfter %v", tc.body, e.RetryAfter)
		}
	}
	data, e := decode(200, nil, []byte(`{"code":"200000","data":{"a":1}}`))
	if e != nil || string(data) != `{"a":1}` {
		t.Fatalf("success decoded as %s, %v", data, e)
	}
}

func TestUsage(t *testing.T) {
	h := http.Header{}
	h.Set("gw-ratelimit-limit", "4000")
	h.Set("gw-ratelimit-remaining", "3990")
	h.Set("gw-ratelimit-reset", "12000")
	at := time.Unix(100, 0)
	u := usage(PoolSpot, at, 200, h)
	if u.Used["spot:30s"] != 10 || len(u.Used) != 1 || u.RetryAfter != 0 || !u.At.Equal(at) {
		t.Fatalf("usage %+v", u)
	}
	u = usage(PoolManagement, at, 429, h)
	if u.Used["management:30s"] != 10 || u.RetryAfter != 12*time.Second {
		t.Fatalf("429 usage %+v", u)
	}
	h.Set("gw-ratelimit-remaining", "5000")
	if u := usage(PoolSpot, at, 200, h); u.Used != nil {
		t.Fatalf("inconsistent headers read as %+v", u)
	}
}

func TestParsePermissions(t *testing.T) {
	tests := []struct {
		list, ips string
		want      exchange.Permissions
	}{
		{"General,Spot", "1.2.3.4", exchange.Permissions{Read: true, Trade: true, IPRestricted: true}},
		{"General,Spot", "", exchange.Permissions{Read: true, Trade: true}},
		{"General,Spot,InnerTransfer", "x", exchange.Permissions{Read: true, Trade: true, Transfer: true, IPRestricted: true}},
		{"General,Withdrawal", "x", exchange.Permissions{Read: true, Withdraw: true, IPRestricted: true}},
		{"General, Spot, Margin, Futures, Earn, Mystery", "x", exchange.Permissions{Read: true, Trade: true, IPRestricted: true,
			Other: []string{"Earn", "Futures", "Margin", "Mystery"}}},
	}
	for _, tc := range tests {
		got := parsePermissions(tc.list, tc.ips)
		if got.Read != tc.want.Read || got.Trade != tc.want.Trade || got.Withdraw != tc.want.Withdraw ||
			got.Transfer != tc.want.Transfer || got.IPRestricted != tc.want.IPRestricted || len(got.Other) != len(tc.want.Other) {
			t.Errorf("%q %q = %+v, want %+v", tc.list, tc.ips, got, tc.want)
			continue
		}
		for i := range got.Other {
			if got.Other[i] != tc.want.Other[i] {
				t.Errorf("%q: Other %v", tc.list, got.Other)
			}
		}
	}
}
