// Package gobinancetest runs go-binance (github.com/adshao/go-binance/v2),
// a widely used Binance client, against the simulated Binance of package
// exchangetest with only its base URL changed. It is a module of its own
// so that go-binance is a dependency of these tests only.
package gobinancetest
