package gateway

import (
	"context"
	"crypto"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/coinbase"
	"github.com/keyfence/keyfence/internal/venueauth"
)

func init() {
	venues[Coinbase] = &venue{
		scheme: func(base string) (exchange.Scheme, bool) {
			s, err := coinbase.NewScheme(base)
			return s, err == nil
		},
		prices: func(string, *http.Client) exchange.PriceSource {
			return coinbase.NewPriceFeed(coinbase.PriceFeedConfig{})
		},
		// Every credential shares the first one's rate guard.
		connect: func(ctx context.Context, f *front, credential string) (venueClient, error) {
			risks, _ := f.g.Guard().AcceptKeyRisks(credential)
			rate, _ := f.shared.(exchange.RateLimiter)
			c, err := coinbase.New(ctx, coinbase.Config{
				BaseURL: f.base, Credential: credential, Signer: f.g.cfg.Signer, Guard: &f.g.guard, Audit: f.g.cfg.Audit,
				HTTPClient: f.g.cfg.HTTPClient, Logger: f.g.logger, KeyRisks: risks, Prices: f.prices.(*coinbase.PriceFeed),
				Rate: rate,
			})
			if err == nil && f.shared == nil {
				f.shared = c.RateLimiter()
			}
			return c, err
		},
		verify: coinbaseVerify,
		public: func(r *http.Request, body []byte, req *exchange.Request) *answer {
			return coinbaseParams(r, body, req)
		},
		deny: func(_ exchange.Class, msg string) *answer {
			return coinbaseAnswer(http.StatusForbidden, "PERMISSION_DENIED", msg, nil)
		},
		unknown: func(msg string) *answer {
			return coinbaseAnswer(http.StatusServiceUnavailable, "UNAVAILABLE", msg, nil)
		},
		rateLimited: func(msg string, retryAfter time.Duration) *answer {
			return coinbaseAnswer(http.StatusTooManyRequests, "RATE_LIMIT_EXCEEDED", msg,
				map[string]string{"Retry-After": strconv.Itoa(int(retryAfter/time.Second) + 1)})
		},
		unavailable: func() *answer {
			return coinbaseAnswer(http.StatusServiceUnavailable, "UNAVAILABLE", "keyfence: the gateway is shutting down; send the request again once it is back", nil)
		},
	}
}

// coinbaseAnswer is an answer in Advanced Trade's error shape. CCXT maps
// PERMISSION_DENIED to PermissionDenied.
func coinbaseAnswer(status int, code, msg string, header map[string]string) *answer {
	body, _ := json.Marshal(struct {
		Error        string `json:"error"`
		ErrorDetails string `json:"error_details"`
		Message      string `json:"message"`
	}{code, msg, msg})
	h := map[string]string{"Content-Type": "application/json"}
	for k, v := range header {
		h[k] = v
	}
	return &answer{status: status, header: h, body: body}
}

func coinbaseParams(r *http.Request, body []byte, req *exchange.Request) *answer {
	q, err := exchange.ParseParams(r.URL.RawQuery)
	if err != nil {
		return coinbaseAnswer(http.StatusBadRequest, "INVALID_ARGUMENT", "invalid query string", nil)
	}
	if len(q) > 0 {
		req.Params = q
	}
	if len(body) > 0 {
		req.Body = body
	}
	return nil
}

// coinbaseUnauthorized is Coinbase's answer to a JWT it refuses.
func coinbaseUnauthorized() *answer {
	return &answer{status: http.StatusUnauthorized, header: map[string]string{"Content-Type": "text/plain; charset=utf-8"}, body: []byte("Unauthorized\n")}
}

// coinbaseVerify checks the CDP JWT as Coinbase does (its uri claim names
// the gateway's host, as the client addressed it) and refuses a token
// presented twice.
func coinbaseVerify(f *front, r *http.Request, body []byte, req *exchange.Request, class exchange.Class) (*Client, *answer) {
	var cl *Client
	lookup := func(kid string) (crypto.PublicKey, bool) {
		c, ok := f.lookup(kid)
		if !ok {
			return nil, false
		}
		cl = c
		return c.PublicKey, true
	}
	now := f.g.now()
	signed, reason := venueauth.VerifyCoinbase(r, now, lookup)
	if reason != "" {
		f.g.logger.Info("gateway: coinbase JWT refused", "reason", reason)
		return nil, coinbaseUnauthorized()
	}
	if class != exchange.ClassRead {
		if ans := f.once(r.Context(), class, signed.Kid+"\x00"+signed.Nonce, signed.Expires, func() *answer {
			f.g.logger.Info("gateway: coinbase JWT replayed", "kid", signed.Kid)
			return coinbaseUnauthorized()
		}); ans != nil {
			return nil, ans
		}
	}
	if ans := coinbaseParams(r, body, req); ans != nil {
		return nil, ans
	}
	return cl, nil
}
