package exchange_test

import (
	"testing"

	"github.com/keyfence/keyfence/exchange"
)

func TestRedteamCheckHeader(t *testing.T) {
	const js = "application/json"
	for _, tc := range []struct {
		h  exchange.Header
		ok bool
	}{
		{nil, true},
		{exchange.Header{{Name: "X-Trace", Value: "1"}}, true},
		{exchange.Header{{Name: "Content-Type", Value: js}}, true},
		{exchange.Header{{Name: "content-type", Value: " Application/JSON ; Charset=\"UTF-8\""}}, true},
		{exchange.Header{{Name: "Content-Type", Value: js + ";"}}, true},
		{exchange.Header{{Name: "Content-Type", Value: js + "; charset=utf-16"}}, false},
		{exchange.Header{{Name: "Content-Type", Value: js + "; charset=utf-8; boundary=x"}}, false},
		{exchange.Header{{Name: "Content-Type", Value: "application/jsonx"}}, false},
		{exchange.Header{{Name: "Content-Type", Value: "text/json"}}, false},
		{exchange.Header{{Name: "Content-Type", Value: js}, {Name: "Content-Type", Value: js}}, false},
		{exchange.Header{{Name: "CONTENT-ENCODING", Value: "identity"}}, false},
		{exchange.Header{{Name: "Transfer-Encoding", Value: "chunked"}}, false},
		{exchange.Header{{Name: "Content-Length", Value: "3"}}, false},
		{exchange.Header{{Name: "Trailer", Value: "X"}}, false},
		{exchange.Header{{Name: "X-Http-Method-Override", Value: "DELETE"}}, false},
		{exchange.Header{{Name: "X-HTTP-Method", Value: "DELETE"}}, false},
		{exchange.Header{{Name: "x-method-override", Value: "DELETE"}}, false},
		{exchange.Header{{Name: "Host", Value: "elsewhere"}}, false},
		{exchange.Header{{Name: "Content_Type", Value: "text/plain"}}, false},
		{exchange.Header{{Name: "Content_Type", Value: js}, {Name: "Content-Type", Value: js}}, false},
		{exchange.Header{{Name: "X_HTTP_Method_Override", Value: "DELETE"}}, false},
		{exchange.Header{{Name: "X-Original-URL", Value: "/api/v3/order"}}, false},
		{exchange.Header{{Name: "X-Rewrite-Url", Value: "/api/v3/order"}}, false},
		{exchange.Header{{Name: "X-Forwarded-Prefix", Value: "/x"}}, false},
		{exchange.Header{{Name: "x-forwarded-host", Value: "x"}}, false},
		{exchange.Header{{Name: "Forwarded", Value: "host=x"}}, false},
		{exchange.Header{{Name: "X-Forwarded", Value: "x"}}, true},
	} {
		r := &exchange.Request{Method: "POST", Path: "/x", Header: tc.h}
		if err := r.CheckHeader(js); (err == nil) != tc.ok {
			t.Errorf("%v: err = %v, want ok %v", tc.h, err, tc.ok)
		}
	}
}
