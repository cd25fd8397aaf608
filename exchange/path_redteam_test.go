package exchange_test

import (
	"testing"

	"github.com/keyfence/keyfence/exchange"
)

func TestRedteamCleanPath(t *testing.T) {
	for _, p := range []string{"/a", "/api/v3/order", "/a-b_c.d~e/F9", "/v2/accounts/3f1e-9a/transactions", "/a/.b", "/a/b.."} {
		if !exchange.CleanPath(p) {
			t.Errorf("%q refused", p)
		}
	}
	for _, p := range []string{"", "a", "/", "//a", "/a/", "/a//b", "/.", "/..", "/a/./b", "/a/../b", "/a/..", "/a/%2e",
		"/a;b", "/a/..;/b", "/a\\b", "/a?b", "/a#b", "/a b", "/a\tb", "/a\nb", "/a\x00b", "/é", "/a:b", "/a@b", "/a+b", "/a,b"} {
		if exchange.CleanPath(p) {
			t.Errorf("%q accepted", p)
		}
	}
}

func FuzzRedteamCleanPath(f *testing.F) {
	for _, s := range []string{"/api/v3/order", "/a/../b", "/a;b", "//", "/a/.b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if !exchange.CleanPath(p) {
			return
		}
		// A clean path is its own normal form: no segment to remove or
		// merge, nothing to unescape.
		if p[0] != '/' || len(p) < 2 || p[len(p)-1] == '/' {
			t.Fatalf("%q", p)
		}
		for _, seg := range splitSlash(p[1:]) {
			if seg == "" || seg == "." || seg == ".." {
				t.Fatalf("%q: segment %q", p, seg)
			}
			for i := 0; i < len(seg); i++ {
				c := seg[i]
				if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
					t.Fatalf("%q: byte %q", p, c)
				}
			}
		}
	})
}

func splitSlash(s string) []string {
	var out []string
	for {
		i := 0
		for i < len(s) && s[i] != '/' {
			i++
		}
		out = append(out, s[:i])
		if i == len(s) {
			return out
		}
		s = s[i+1:]
	}
}
