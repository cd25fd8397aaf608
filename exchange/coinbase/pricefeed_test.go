package coinbase

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
)

func TestPriceFeed(t *testing.T) {
	now := time.Unix(1_000, 0)
	f := NewPriceFeed(PriceFeedConfig{MaxAge: time.Second, Clock: func() time.Time { return now }})
	if _, err := f.Reference(context.Background(), "BTC-USD"); !errors.Is(err, ErrFeedDetached) {
		t.Fatalf("detached feed: %v", err)
	}
	calls := 0
	answer := `{"pricebooks":[{"product_id":"BTC-USD","bids":[{"price":"99.5","size":"1"}],"asks":[{"price":"100.5","size":"2"}],"time":"x"}]}`
	f.attach(func(_ context.Context, req *exchange.Request) (*exchange.Response, error) {
		calls++
		if v, _ := req.Params.Get("product_ids"); v != "BTC-USD" || req.Path != Prefix+"/best_bid_ask" || req.Method != "GET" {
			t.Errorf("request %+v", req)
		}
		return &exchange.Response{Status: 200, Body: []byte(answer)}, nil
	})
	q, err := f.Reference(context.Background(), "BTC-USD")
	if err != nil || !q.Bid.Equal(d("99.5")) || !q.Ask.Equal(d("100.5")) || !q.At.Equal(now) || !q.Mid().Equal(d("100")) {
		t.Fatalf("%+v %v", q, err)
	}
	now = now.Add(time.Second)
	if _, err := f.Reference(context.Background(), "BTC-USD"); err != nil || calls != 1 {
		t.Errorf("cached quote refetched: %d calls, %v", calls, err)
	}
	now = now.Add(time.Millisecond)
	if _, err := f.Reference(context.Background(), "BTC-USD"); err != nil || calls != 2 {
		t.Errorf("stale quote reused: %d calls, %v", calls, err)
	}
	for _, bad := range []string{`{`, `{"pricebooks":[]}`, `{"pricebooks":[{"product_id":"BTC-USD","bids":[],"asks":[]}]}`,
		`{"pricebooks":[{"product_id":"BTC-USD","bids":[{"price":"-1"}],"asks":[]}]}`, `{"pricebooks":[{"product_id":"ETH-USD","bids":[{"price":"1"}]}]}`} {
		if _, err := parseBestBidAsk([]byte(bad), "BTC-USD", now); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if _, err := f.Reference(context.Background(), ""); err == nil {
		t.Error("empty product accepted")
	}
}
