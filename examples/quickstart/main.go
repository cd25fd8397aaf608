// Command quickstart is keyfence's main job: a bot trades through keyfence
// on a simulated Binance, then the 2022 key leak is replayed against it.
//
//	go run ./examples/quickstart [--venue binance|coinbase|kucoin]
//
// It needs no account and no network: it creates a temporary encrypted
// keystore, starts the simulated venue on loopback, places and cancels a
// few orders under the policy in policy.yaml, then plays the attacker: the
// stolen keystore file, a compromised bot pumping a thin coin, an order far
// over the cap, a withdrawal, a burst of requests, an over-privileged key.
// Every attempt must be refused, the venue balances must show nothing lost
// and the audit log must verify; otherwise it exits 1.
package main

import (
	"context"
	_ "embed"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

//go:embed policy.yaml
var policyYAML []byte

func main() {
	venue := flag.String("venue", "binance", "venue to simulate: "+venueNames())
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Stdout, *venue)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", failure(ctx, err))
		if ctx.Err() != nil {
			os.Exit(130)
		}
		os.Exit(1)
	}
}

// failure says what stopped the run: an interruption is reported as such,
// not as the error of whatever step it cut short.
func failure(ctx context.Context, err error) string {
	if ctx.Err() != nil {
		return "interrupted"
	}
	return err.Error()
}
