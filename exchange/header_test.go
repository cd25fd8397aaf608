package exchange_test

import (
	"net/http"
	"reflect"
	"testing"

	"github.com/keyfence/keyfence/exchange"
)

func TestHeaderSetReplacesEveryFieldOfTheName(t *testing.T) {
	h := exchange.Header{{"X-A", "1"}, {"x-b", "2"}, {"X-B", "3"}, {"X-C", "4"}, {"X-b", "5"}}
	h.Set("X-B", "new")
	want := exchange.Header{{"X-A", "1"}, {"X-B", "new"}, {"X-C", "4"}}
	if !reflect.DeepEqual(h, want) {
		t.Fatalf("Set = %v, want %v", h, want)
	}
	h.Set("x-mbx-apikey", "k")
	if got := h[len(h)-1]; got != (exchange.HeaderField{"X-Mbx-Apikey", "k"}) {
		t.Errorf("Set of a new field appended %v, want it in canonical form", got)
	}
}

func TestHeaderGetValuesHasDel(t *testing.T) {
	h := exchange.Header{{"Content-Type", "a"}, {"X-Trace", "1"}, {"x-trace", "2"}}
	if h.Get("content-type") != "a" || h.Get("X-TRACE") != "1" || h.Get("missing") != "" {
		t.Errorf("Get: %q %q %q", h.Get("content-type"), h.Get("X-TRACE"), h.Get("missing"))
	}
	if got := h.Values("X-Trace"); !reflect.DeepEqual(got, []string{"1", "2"}) {
		t.Errorf("Values = %q", got)
	}
	if !h.Has("CONTENT-TYPE") || h.Has("X-Other") {
		t.Error("Has is wrong")
	}
	h.Del("x-TRACE")
	if !reflect.DeepEqual(h, exchange.Header{{"Content-Type", "a"}}) {
		t.Errorf("Del = %v", h)
	}
	h.Del("absent")
	if len(h) != 1 {
		t.Errorf("Del of an absent name changed the header: %v", h)
	}
}

func TestHeaderCloneSharesNothing(t *testing.T) {
	var nilHeader exchange.Header
	if nilHeader.Clone() != nil {
		t.Error("Clone of nil is not nil")
	}
	h := make(exchange.Header, 1, 8)
	h[0] = exchange.HeaderField{"X-A", "1"}
	c := h.Clone()
	c[0].Value = "2"
	c.Add("X-B", "3")
	_ = append(h, exchange.HeaderField{"X-C", "4"}) // would show in c if they shared an array
	if h[0].Value != "1" || len(c) != 2 || c[1] != (exchange.HeaderField{"X-B", "3"}) {
		t.Errorf("h = %v, c = %v", h, c)
	}
}

func TestHeaderHTTP(t *testing.T) {
	h := exchange.Header{{"x-mbx-apikey", "k"}, {"X-Trace", "1"}, {"X-TRACE", "2"}}
	want := http.Header{"X-Mbx-Apikey": {"k"}, "X-Trace": {"1", "2"}}
	if got := h.HTTP(); !reflect.DeepEqual(got, want) {
		t.Errorf("HTTP() = %v, want %v", got, want)
	}
}
