package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/binance"
	"github.com/keyfence/keyfence/internal/venueauth"
)

func init() {
	venues[Binance] = &venue{
		scheme: func(string) (exchange.Scheme, bool) {
			s, err := binance.NewScheme(0)
			return s, err == nil
		},
		prices: func(base string, hc *http.Client) exchange.PriceSource {
			return binance.NewPriceFeed(binance.PriceFeedConfig{BaseURL: base, HTTPClient: hc})
		},
		connect:     binanceConnect,
		verify:      binanceVerify,
		public:      binancePublic,
		adapt:       binanceAdapt,
		deny:        binanceDeny,
		unknown:     binanceUnknown,
		rateLimited: binanceRateLimited,
		unavailable: func() *answer {
			return binanceAnswer(http.StatusServiceUnavailable, -1001, "keyfence: the gateway is shutting down; send the request again once it is back", nil)
		},
	}
}

// binanceConnect connects a venue credential. Every credential shares the
// first one's rate guard: the request weight is the gateway address's, and
// the order counts, kept per account by Binance, are held together (never
// more than any one account may send).
func binanceConnect(ctx context.Context, f *front, credential string) (venueClient, error) {
	risks, _ := f.g.Guard().AcceptKeyRisks(credential)
	rate, _ := f.shared.(exchange.RateLimiter)
	c, err := binance.New(ctx, binance.Config{
		BaseURL: f.base, Credential: credential, Signer: f.g.cfg.Signer, Guard: &f.g.guard, Audit: f.g.cfg.Audit,
		HTTPClient: f.g.cfg.HTTPClient, Logger: f.g.logger, KeyRisks: risks, Prices: f.prices.(*binance.PriceFeed),
		Rate: rate,
	})
	if err == nil && f.shared == nil {
		f.shared = c.RateLimiter()
	}
	return c, err
}

// binanceAnswer is an answer in Binance's error shape.
func binanceAnswer(status, code int, msg string, header map[string]string) *answer {
	e := venueauth.BinanceError{Status: status, Code: code, Msg: msg}
	h := map[string]string{"Content-Type": "application/json;charset=UTF-8"}
	for k, v := range header {
		h[k] = v
	}
	return &answer{status: status, header: h, body: e.Body()}
}

func binanceError(e *venueauth.BinanceError) *answer {
	return binanceAnswer(e.Status, e.Code, e.Msg, nil)
}

// binanceListenKeyPath is the user-data-stream listen key's route: API
// key only, no signature.
const binanceListenKeyPath = "/api/v3/userDataStream"

// binanceVerify checks the API key and signature as Binance does, refuses
// a replayed signature, and passes the parameters on without signature
// and timestamp (the venue client stamps its own).
func binanceVerify(f *front, r *http.Request, body []byte, req *exchange.Request, class exchange.Class) (*Client, *answer) {
	params, perr := venueauth.BinanceParams(r.URL.RawQuery, string(body))
	if perr != nil {
		return nil, binanceError(perr)
	}
	apiKey := r.Header.Get(binance.APIKeyHeader)
	if r.URL.Path == binanceListenKeyPath {
		// USER_STREAM: Binance checks the API key only.
		if apiKey == "" {
			return nil, binanceError(venueauth.BinanceBadKeyFormat)
		}
		cl, ok := f.lookup(apiKey)
		if !ok {
			return nil, binanceError(venueauth.BinanceRejectedKey)
		}
		req.Params = params
		return cl, nil
	}
	var cl *Client
	lookup := func(apiKey string) (venueauth.BinanceKey, bool) {
		c, ok := f.lookup(apiKey)
		if !ok {
			return venueauth.BinanceKey{}, false
		}
		cl = c
		return venueauth.BinanceKey{HMACSecret: c.secret, PublicKey: c.PublicKey}, true
	}
	now := f.g.now()
	signed, verr := venueauth.VerifyBinance(apiKey, lookup, r.URL.RawQuery, string(body), params, now)
	if verr != nil {
		return nil, binanceError(verr)
	}
	if class != exchange.ClassRead {
		if ans := f.once(r.Context(), class, apiKey+"\x00"+signed.Signature, signed.Expires, func() *answer {
			return binanceAnswer(http.StatusBadRequest, -1022,
				"keyfence: this signature was used before within its recvWindow; sign every request anew (the gateway refuses replays)", nil)
		}); ans != nil {
			return nil, ans
		}
	}
	req.Params = make(exchange.Params, 0, len(params))
	for _, p := range params {
		if p.Key != "signature" && p.Key != "timestamp" {
			req.Params = append(req.Params, p)
		}
	}
	return cl, nil
}

// binancePublic passes a public request's parameters on; an API key sent
// with it is not forwarded. A route of another Binance host (the futures
// exchangeInfo CCXT's loadMarkets reads) is answered here, listing no
// markets: the upstream is the Spot API, which does not serve it, and the
// gateway forwards to no host it was not given (binance.OtherHostAnswer).
func binancePublic(r *http.Request, body []byte, req *exchange.Request) *answer {
	if _, b, ok := binance.OtherHostAnswer(r.Method, r.URL.Path, time.Now()); ok {
		return &answer{status: http.StatusOK, header: map[string]string{"Content-Type": "application/json;charset=UTF-8"}, body: b}
	}
	params, perr := venueauth.BinanceParams(r.URL.RawQuery, string(body))
	if perr != nil {
		return binanceError(perr)
	}
	req.Params = params
	return nil
}

// binanceAdapt asks for the RESULT answer of an order whose client asked
// for ACK (or sent no newOrderRespType on an order type whose default is
// ACK), so that the reservation settles from what the venue did, and
// returns the ACK answer to the client.
func binanceAdapt(req *exchange.Request) func(*exchange.Response) {
	if req.Method != http.MethodPost || (req.Path != "/api/v3/order" && req.Path != "/api/v3/sor/order") {
		return nil
	}
	rt, has := req.Params.Get("newOrderRespType")
	if !has {
		if typ, _ := req.Params.Get("type"); typ == "LIMIT" || typ == "MARKET" {
			return nil // FULL by default
		}
		rt = "ACK"
	}
	if rt != "ACK" {
		return nil
	}
	if has {
		for i := range req.Params {
			if req.Params[i].Key == "newOrderRespType" {
				req.Params[i].Value = "RESULT"
			}
		}
	} else {
		req.Params = append(req.Params, exchange.Param{Key: "newOrderRespType", Value: "RESULT"})
	}
	return func(resp *exchange.Response) { resp.Body = binanceACK(resp.Body) }
}

// binanceACK reduces an order answer to Binance's ACK shape: symbol,
// orderId, orderListId, clientOrderId and transactTime, as the venue sent
// them.
func binanceACK(body []byte) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return body
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range []string{"symbol", "orderId", "orderListId", "clientOrderId", "transactTime"} {
		v, ok := m[k]
		if !ok {
			return body
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(k))
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// binanceDeny answers a refusal. An order (class trade) gets -2010
// NEW_ORDER_REJECTED, which CCXT maps to InvalidOrder; anything else gets
// -1002 UNAUTHORIZED with a message CCXT matches to PermissionDenied ("has
// no operation privilege"). Both are HTTP 400: not retryable.
func binanceDeny(class exchange.Class, msg string) *answer {
	if class == exchange.ClassTrade {
		return binanceAnswer(http.StatusBadRequest, -2010, msg, nil)
	}
	return binanceAnswer(http.StatusBadRequest, -1002, msg+" (this key has no operation privilege for it)", nil)
}

func binanceUnknown(msg string) *answer {
	return binanceAnswer(http.StatusServiceUnavailable, -1007,
		"Timeout waiting for response from backend server. Send status unknown; execution status unknown. "+msg, nil)
}

func binanceRateLimited(msg string, retryAfter time.Duration) *answer {
	secs := int(retryAfter / time.Second)
	if retryAfter%time.Second != 0 || secs == 0 {
		secs++
	}
	return binanceAnswer(http.StatusTooManyRequests, -1003, msg, map[string]string{"Retry-After": strconv.Itoa(secs)})
}
