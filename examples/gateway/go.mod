module github.com/keyfence/keyfence/examples/gateway

go 1.26.0

replace github.com/keyfence/keyfence => ../..

require (
	github.com/adshao/go-binance/v2 v2.8.7
	github.com/keyfence/keyfence v0.0.0-00010101000000-000000000000
	github.com/shopspring/decimal v1.6.0
)

require (
	github.com/bitly/go-simplejson v0.5.0 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/gorilla/websocket v1.5.3 // indirect
	github.com/jpillora/backoff v1.0.0 // indirect
	github.com/kr/text v0.2.0 // indirect
	go.yaml.in/yaml/v3 v3.0.6 // indirect
	golang.org/x/crypto v0.59.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/time v0.16.0 // indirect
)
