package coinbase

import "github.com/keyfence/keyfence/exchange"

// RateLimiter returns the client's rate guard. Coinbase counts private
// requests per key and public ones per address: clients on one host may
// share a guard by passing it as Config.Rate.
func (c *Client) RateLimiter() exchange.RateLimiter { return c.rate }
