package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/kucoin"
	"github.com/keyfence/keyfence/internal/venueauth"
)

func init() {
	venues[KuCoin] = &venue{
		scheme: func(string) (exchange.Scheme, bool) {
			s, err := kucoin.NewScheme("")
			return s, err == nil
		},
		prices: func(base string, hc *http.Client) exchange.PriceSource {
			return kucoin.NewPriceFeed(kucoin.PriceFeedConfig{BaseURL: base, HTTPClient: hc})
		},
		// Every credential shares the first one's pools (the public pool
		// is the gateway address's; the others are held together).
		connect: func(ctx context.Context, f *front, credential string) (venueClient, error) {
			risks, _ := f.g.Guard().AcceptKeyRisks(credential)
			rate, _ := f.shared.(kucoin.Limiter)
			c, err := kucoin.New(ctx, kucoin.Config{
				BaseURL: f.base, Credential: credential, Signer: f.g.cfg.Signer, Guard: &f.g.guard, Audit: f.g.cfg.Audit,
				HTTPClient: f.g.cfg.HTTPClient, Logger: f.g.logger, KeyRisks: risks, Prices: f.prices.(*kucoin.PriceFeed),
				Rate: rate,
			})
			if err == nil && f.shared == nil {
				f.shared = c.RateLimiter()
			}
			return c, err
		},
		verify: kucoinVerify,
		public: func(r *http.Request, body []byte, req *exchange.Request) *answer {
			return kucoinParams(r, body, req)
		},
		deny: kucoinDeny,
		unknown: func(msg string) *answer {
			return kucoinAnswer(http.StatusServiceUnavailable, "503000", msg, nil)
		},
		rateLimited: func(msg string, retryAfter time.Duration) *answer {
			return kucoinAnswer(http.StatusTooManyRequests, "429000", "Exceeded the access frequency. "+msg,
				map[string]string{"Retry-After": strconv.Itoa(int(retryAfter/time.Second) + 1)})
		},
		unavailable: func() *answer {
			return kucoinAnswer(http.StatusServiceUnavailable, "503000", "keyfence: the gateway is shutting down; send the request again once it is back", nil)
		},
	}
}

func kucoinAnswer(status int, code, msg string, header map[string]string) *answer {
	body, _ := json.Marshal(struct {
		Code string `json:"code"`
		Msg  string `json:"msg"`
	}{code, msg})
	h := map[string]string{"Content-Type": "application/json"}
	for k, v := range header {
		h[k] = v
	}
	return &answer{status: status, header: h, body: body}
}

// kucoinParams passes the query's parameters and the body on as sent.
func kucoinParams(r *http.Request, body []byte, req *exchange.Request) *answer {
	q, err := exchange.ParseParams(r.URL.RawQuery)
	if err != nil {
		return kucoinAnswer(http.StatusBadRequest, "400100", "Invalid query string.", nil)
	}
	if len(q) > 0 {
		req.Params = q
	}
	if len(body) > 0 {
		req.Body = body
	}
	return nil
}

// kucoinVerify checks the KC-API headers as KuCoin does and refuses a
// replayed KC-API-SIGN.
func kucoinVerify(f *front, r *http.Request, body []byte, req *exchange.Request, class exchange.Class) (*Client, *answer) {
	var cl *Client
	lookup := func(apiKey string) (venueauth.KuCoinKey, bool) {
		c, ok := f.lookup(apiKey)
		if !ok {
			return venueauth.KuCoinKey{}, false
		}
		cl = c
		return venueauth.KuCoinKey{Secret: c.secret, Passphrase: c.passphrase, Version: c.KeyVersion}, true
	}
	now := f.g.now()
	signed, verr := venueauth.VerifyKuCoin(r.Header, r.Method, r.RequestURI, body, now, lookup)
	if verr != nil {
		return nil, &answer{status: verr.Status, header: map[string]string{"Content-Type": "application/json"}, body: verr.Body()}
	}
	if class != exchange.ClassRead {
		if ans := f.once(r.Context(), class, signed.APIKey+"\x00"+signed.Sign, signed.Expires, func() *answer {
			return kucoinAnswer(http.StatusUnauthorized, "400005",
				"keyfence: this KC-API-SIGN was used before within its 5 s window; sign every request anew (the gateway refuses replays)", nil)
		}); ans != nil {
			return nil, ans
		}
	}
	if ans := kucoinParams(r, body, req); ans != nil {
		return nil, ans
	}
	return cl, nil
}

// kucoinDeny answers a refusal: 400200 ("Forbidden to place an order"),
// which CCXT maps to InvalidOrder, for orders; 400303 with "require more
// permission", which CCXT maps to PermissionDenied, for the rest.
func kucoinDeny(class exchange.Class, msg string) *answer {
	if class == exchange.ClassTrade {
		return kucoinAnswer(http.StatusBadRequest, "400200", msg, nil)
	}
	return kucoinAnswer(http.StatusBadRequest, "400303", msg+" (access denied, require more permission)", nil)
}
