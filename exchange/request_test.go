package exchange_test

import (
	"bytes"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/keyfence/keyfence/exchange"
)

func TestParamsEncode(t *testing.T) {
	tests := []struct {
		name string
		p    exchange.Params
		want string
	}{
		{"empty", nil, ""},
		{"order kept", exchange.Params{{"z", "1"}, {"a", "2"}, {"m", "3"}}, "z=1&a=2&m=3"},
		{"duplicate keys kept", exchange.Params{{"a", "1"}, {"a", "2"}}, "a=1&a=2"},
		{"space as plus", exchange.Params{{"q", "a b"}}, "q=a+b"},
		{"plus escaped", exchange.Params{{"q", "1+1"}}, "q=1%2B1"},
		{"ampersand and equals escaped", exchange.Params{{"k&=", "v=&"}}, "k%26%3D=v%3D%26"},
		{"non-ASCII as UTF-8", exchange.Params{{"newClientOrderId", "１２３４５６"}}, "newClientOrderId=%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95%EF%BC%96"},
		{"empty value", exchange.Params{{"a", ""}}, "a="},
		{"empty key", exchange.Params{{"", "v"}}, "=v"},
		{"json value", exchange.Params{{"orders", `[{"a":1}]`}}, "orders=%5B%7B%22a%22%3A1%7D%5D"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.Encode(); got != tt.want {
				t.Errorf("Encode() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseParams(t *testing.T) {
	tests := []struct {
		in   string
		want exchange.Params
	}{
		{"", nil},
		{"a=1", exchange.Params{{"a", "1"}}},
		{"b=2&a=1", exchange.Params{{"b", "2"}, {"a", "1"}}},
		{"a=1&a=2", exchange.Params{{"a", "1"}, {"a", "2"}}},
		{"a", exchange.Params{{"a", ""}}},
		{"a=&b", exchange.Params{{"a", ""}, {"b", ""}}},
		{"&&a=1&&", exchange.Params{{"a", "1"}}},
		{"q=a+b", exchange.Params{{"q", "a b"}}},
		{"q=1%2B1", exchange.Params{{"q", "1+1"}}},
		{"q=x=y", exchange.Params{{"q", "x=y"}}},
		{"%EF%BC%91=%EF%BC%92", exchange.Params{{"１", "２"}}},
		{"raw=１２３", exchange.Params{{"raw", "１２３"}}},
	}
	for _, tt := range tests {
		got, err := exchange.ParseParams(tt.in)
		if err != nil {
			t.Errorf("ParseParams(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseParams(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseParamsRejectsBadEscapes(t *testing.T) {
	for _, in := range []string{"a=%", "a=%zz", "%g1=1", "a=1&b=%4"} {
		if p, err := exchange.ParseParams(in); err == nil {
			t.Errorf("ParseParams(%q) = %q, want an error", in, p)
		}
	}
}

func TestParamsRoundTrip(t *testing.T) {
	p := exchange.Params{
		{"symbol", "BTCUSDT"},
		{"newClientOrderId", "１２３４５６"},
		{"note", "a+b&c=d e%f"},
		{"symbol", "second"},
		{"empty", ""},
		{"emoji 🔑", "é\x00\n"},
	}
	got, err := exchange.ParseParams(p.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, p) {
		t.Fatalf("round trip = %q, want %q", got, p)
	}
}

func TestParamsGetHasCount(t *testing.T) {
	p := exchange.Params{{"a", "1"}, {"b", ""}, {"a", "2"}}
	if v, ok := p.Get("a"); !ok || v != "1" {
		t.Errorf(`Get("a") = %q, %v; want the first value "1", true`, v, ok)
	}
	if v, ok := p.Get("b"); !ok || v != "" {
		t.Errorf(`Get("b") = %q, %v; want "", true`, v, ok)
	}
	if v, ok := p.Get("c"); ok || v != "" {
		t.Errorf(`Get("c") = %q, %v; want "", false`, v, ok)
	}
	for key, want := range map[string]bool{"a": true, "b": true, "c": false, "A": false} {
		if got := p.Has(key); got != want {
			t.Errorf("Has(%q) = %v, want %v", key, got, want)
		}
	}
	for key, want := range map[string]int{"a": 2, "b": 1, "c": 0} {
		if got := p.Count(key); got != want {
			t.Errorf("Count(%q) = %d, want %d", key, got, want)
		}
	}
	var empty exchange.Params
	if empty.Has("a") || empty.Count("a") != 0 {
		t.Error("nil Params reports a key")
	}
}

func FuzzParseParams(f *testing.F) {
	for _, s := range []string{
		"", "a=1", "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=0.1",
		"a=1&a=2", "&&", "=", "a", "q=a+b", "q=1%2B1", "%EF%BC%91=%EF%BC%92",
		"a=%", "a=%zz", "k%26%3D=v%3D%26", "x=\xff", "a=b=c&&d",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := exchange.ParseParams(s)
		if err != nil {
			return
		}
		enc := p.Encode()
		q, err := exchange.ParseParams(enc)
		if err != nil {
			t.Fatalf("ParseParams(Encode(ParseParams(%q))) = %q: %v", s, enc, err)
		}
		if len(p) != len(q) {
			t.Fatalf("round trip of %q: %d params, then %d", s, len(p), len(q))
		}
		for i := range p {
			if p[i] != q[i] {
				t.Fatalf("round trip of %q: param %d is %q, then %q", s, i, p[i], q[i])
			}
		}
		if enc2 := q.Encode(); enc2 != enc {
			t.Fatalf("Encode is not stable: %q then %q", enc, enc2)
		}
	})
}

func TestRequestCloneIsDeep(t *testing.T) {
	orig := &exchange.Request{
		Credential: "bot", Method: "POST", Path: "/api/v3/order",
		Params: exchange.Params{{"symbol", "BTCUSDT"}, {"quantity", "1"}},
		Body:   []byte("price=100"),
		Header: exchange.Header{{Name: "X-Test", Value: "a"}},
	}
	c := orig.Clone()
	if !reflect.DeepEqual(c, orig) {
		t.Fatalf("Clone() = %+v, want %+v", c, orig)
	}

	// Mutating the clone leaves the original alone.
	c.Params[0].Value = "ETHUSDT"
	c.Params = append(c.Params, exchange.Param{"timestamp", "1"})
	c.Body[0] = 'P'
	c.Header[0].Value = "b"
	c.Header.Set("X-Other", "x")
	c.Credential = "other"
	if v, _ := orig.Params.Get("symbol"); v != "BTCUSDT" || len(orig.Params) != 2 {
		t.Errorf("original params changed: %q", orig.Params)
	}
	if string(orig.Body) != "price=100" {
		t.Errorf("original body changed: %q", orig.Body)
	}
	if orig.Header.Get("X-Test") != "a" || orig.Header.Get("X-Other") != "" {
		t.Errorf("original header changed: %v", orig.Header)
	}
	if orig.Credential != "bot" {
		t.Errorf("original credential changed: %q", orig.Credential)
	}

	// And mutating the original leaves a clone alone.
	c2 := orig.Clone()
	orig.Params[1].Value = "999"
	orig.Body[len(orig.Body)-1] = '9'
	orig.Header[0].Value = "z"
	if v, _ := c2.Params.Get("quantity"); v != "1" {
		t.Errorf("clone params changed: %q", c2.Params)
	}
	if string(c2.Body) != "price=100" {
		t.Errorf("clone body changed: %q", c2.Body)
	}
	if c2.Header.Get("X-Test") != "a" {
		t.Errorf("clone header changed: %v", c2.Header)
	}
}

func TestRequestCloneKeepsNil(t *testing.T) {
	c := (&exchange.Request{Method: "GET", Path: "/x"}).Clone()
	if c.Body != nil || c.Header != nil || c.Params != nil {
		t.Errorf("Clone of an empty request = %+v, want nil Body, Header and Params", c)
	}
	c = (&exchange.Request{Body: []byte{}}).Clone()
	if c.Body == nil || len(c.Body) != 0 {
		t.Errorf("Clone of an empty non-nil body = %#v, want empty non-nil", c.Body)
	}
}

func TestWireURL(t *testing.T) {
	tests := []struct {
		base string
		w    exchange.Wire
		want string
	}{
		{"https://api.binance.com", exchange.Wire{Path: "/api/v3/time"}, "https://api.binance.com/api/v3/time"},
		{"https://api.binance.com/", exchange.Wire{Path: "/api/v3/order", Query: "a=1&signature=ab"}, "https://api.binance.com/api/v3/order?a=1&signature=ab"},
		{"http://127.0.0.1:1//", exchange.Wire{Path: "/p", Query: "x=%2B"}, "http://127.0.0.1:1/p?x=%2B"},
	}
	for _, tt := range tests {
		if got := tt.w.URL(tt.base); got != tt.want {
			t.Errorf("URL(%q) = %q, want %q", tt.base, got, tt.want)
		}
	}
}

// The encoded form must be what url.Values would decode to the same
// values, so that venues parse what was signed.
func TestParamsEncodeIsFormEncoding(t *testing.T) {
	p := exchange.Params{{"a b", "c+d"}, {"é", "１"}}
	enc := p.Encode()
	if strings.ContainsAny(enc, " é１") {
		t.Fatalf("Encode left raw characters: %q", enc)
	}
	var b bytes.Buffer
	b.WriteString(enc)
	req, err := http.NewRequest("POST", "http://x/", &b)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if err := req.ParseForm(); err != nil {
		t.Fatal(err)
	}
	if req.PostForm.Get("a b") != "c+d" || req.PostForm.Get("é") != "１" {
		t.Fatalf("net/http decoded %v from %q", req.PostForm, enc)
	}
}

// FuzzAppendEncoded holds AppendEncoded to url.QueryEscape, with a
// destination that has room for the worst case and one that has none.
func FuzzAppendEncoded(f *testing.F) {
	f.Add("symbol", "BTCUSDT", "newClientOrderId", "a b+c/é~._-")
	f.Add("", "", "k", "\x00\xff%")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		p := exchange.Params{{Key: k1, Value: v1}, {Key: k2, Value: v2}}
		want := url.QueryEscape(k1) + "=" + url.QueryEscape(v1) + "&" + url.QueryEscape(k2) + "=" + url.QueryEscape(v2)
		roomy := p.AppendEncoded(make([]byte, 0, 3*(len(k1)+len(v1)+len(k2)+len(v2))+8))
		tight := p.AppendEncoded([]byte("x"))
		if string(roomy) != want || string(tight) != "x"+want {
			t.Fatalf("AppendEncoded = %q and %q, want %q", roomy, tight, want)
		}
	})
}
