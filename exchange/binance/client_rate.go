package binance

import "github.com/keyfence/keyfence/exchange"

// RateLimiter returns the client's rate guard. Binance counts request
// weight per IP address: clients of several keys on one host should share
// it, by passing it as Config.Rate to the others.
func (c *Client) RateLimiter() exchange.RateLimiter { return c.rate }
