package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/keyfence/keyfence/exchange/exchangetest"
	"github.com/keyfence/keyfence/internal/simflag"
	"github.com/keyfence/keyfence/signer"
	"github.com/shopspring/decimal"
)

const simUsage = "usage: keyfence sim [--venue VENUE]... [--listen ADDR] [--key KEY]... [--key-file FILE] [--price SYMBOL=PRICE]...\n" +
	"    [--drift STEP [--drift-every DURATION] [--seed N]] [--latency DURATION] [--no-rate-limits] [--testnet]"

// simKeysEnv names the environment variable that holds --key values, one
// per line, so that secrets stay out of the process arguments.
const simKeysEnv = "KEYFENCE_SIM_KEYS"

// simOptions are the options every simulated venue takes.
type simOptions struct {
	drift    *exchangetest.Drift
	latency  time.Duration
	noLimits bool
	testnet  bool // Binance only: serve no /sapi
}

// multiFlag collects a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// simVenue runs one simulated venue.
type simVenue struct {
	// accepts parses a --key value for this venue; ok is false when the
	// value does not have this venue's key format.
	addKey func(v string) (ok bool, err error)
	// setPrice moves a symbol's price; false when the venue has no such symbol.
	setPrice func(symbol string, price decimal.Decimal) bool
	url      func() string
	run      func(ctx context.Context) error
	close    func()
}

// simVenues builds a simulator per venue name, listening on l.
var simVenues = map[string]func(l net.Listener, o simOptions) *simVenue{
	"coinbase": coinbaseSim,
	"kucoin":   kucoinSim,
	"binance": func(l net.Listener, o simOptions) *simVenue {
		opts := []exchangetest.BinanceOption{exchangetest.WithBinanceListener(l), exchangetest.WithBinanceLatency(o.latency)}
		if o.drift != nil {
			opts = append(opts, exchangetest.WithBinanceDrift(*o.drift))
		}
		if o.noLimits {
			opts = append(opts, exchangetest.WithBinanceNoRateLimits())
		}
		if o.testnet {
			opts = append(opts, exchangetest.WithBinanceTestnet())
		}
		b := exchangetest.NewBinance(opts...)
		return &simVenue{
			addKey: func(v string) (bool, error) {
				if strings.Count(v, ":") > 1 {
					return false, nil // APIKEY:SECRET:PASSPHRASE is another venue's format
				}
				k, err := simflag.ParseBinanceKey(v)
				if err != nil {
					return false, err
				}
				b.AddKey(k)
				return true, nil
			},
			setPrice: func(sym string, p decimal.Decimal) bool {
				if _, ok := b.Price(sym); !ok {
					return false
				}
				b.SetPrice(sym, p)
				return true
			},
			url: b.URL, run: b.Run, close: b.Close,
		}
	},
}

// coinbaseSim runs the simulated Coinbase Advanced Trade.
func coinbaseSim(l net.Listener, o simOptions) *simVenue {
	opts := []exchangetest.CoinbaseOption{exchangetest.WithCoinbaseListener(l), exchangetest.WithCoinbaseLatency(o.latency)}
	if o.drift != nil {
		opts = append(opts, exchangetest.WithCoinbaseDrift(*o.drift))
	}
	if o.noLimits {
		opts = append(opts, exchangetest.WithCoinbaseNoRateLimits())
	}
	cb := exchangetest.NewCoinbase(opts...)
	return &simVenue{
		addKey: func(v string) (bool, error) {
			k, err := simflag.ParseCoinbaseKey(v)
			if err != nil {
				return false, err
			}
			cb.AddKey(k)
			return true, nil
		},
		setPrice: func(sym string, p decimal.Decimal) bool {
			if _, ok := cb.Price(sym); !ok {
				return false
			}
			cb.SetPrice(sym, p)
			return true
		},
		url: cb.URL, run: cb.Run, close: cb.Close,
	}
}

// kucoinSim runs the simulated KuCoin.
func kucoinSim(l net.Listener, o simOptions) *simVenue {
	opts := []exchangetest.KuCoinOption{exchangetest.WithKuCoinListener(l), exchangetest.WithKuCoinLatency(o.latency)}
	if o.drift != nil {
		opts = append(opts, exchangetest.WithKuCoinDrift(*o.drift))
	}
	if o.noLimits {
		opts = append(opts, exchangetest.WithKuCoinNoRateLimits())
	}
	k := exchangetest.NewKuCoin(opts...)
	return &simVenue{
		addKey: func(v string) (bool, error) {
			if !strings.Contains(v, "@") && strings.Count(v, ":") != 2 {
				return false, nil // KuCoin keys are APIKEY:SECRET:PASSPHRASE
			}
			key, err := simflag.ParseKuCoinKey(v)
			if err != nil {
				return false, err
			}
			k.AddKey(key)
			return true, nil
		},
		setPrice: func(sym string, p decimal.Decimal) bool {
			if _, ok := k.Price(sym); !ok {
				return false
			}
			k.SetPrice(sym, p)
			return true
		},
		url: k.URL, run: k.Run, close: k.Close,
	}
}

// simOrder is the order in which venues start and print.
var simOrder = []string{"binance", "coinbase", "kucoin"}

func simCmd(ctx context.Context, args []string, e *env) error {
	fs := newFlags("sim", e)
	var venueFlags, keys, prices multiFlag
	fs.Var(&venueFlags, "venue", "venue to simulate (repeatable; default: all)")
	listen := fs.String("listen", "127.0.0.1:0", "address of the first venue; with a fixed port, further venues take the next ports")
	fs.Var(&keys, "key", "API key the venues accept (repeatable): Binance APIKEY:SECRET or APIKEY:@FILE (an HMAC secret or a PEM public key), Coinbase NAME:@PUBLIC_KEY.pem, KuCoin APIKEY:SECRET:PASSPHRASE or APIKEY:@FILE; VENUE=VALUE for one venue only. A secret given here shows in ps: prefer @FILE, --key-file or "+simKeysEnv)
	keyFile := fs.String("key-file", "", "file of --key values, one per line (# comments); it must not be readable by group or others")
	fs.Var(&prices, "price", "initial price SYMBOL=PRICE (repeatable)")
	driftStep := fs.String("drift", "", "random-walk every price by this fraction per step (e.g. 0.001), so resting orders fill over time")
	driftEvery := fs.Duration("drift-every", time.Second, "time between drift steps")
	seed := fs.Uint64("seed", 1, "seed of the drift: the same seed gives the same prices at the same times")
	latency := fs.Duration("latency", 0, "answer every request after this delay")
	noLimits := fs.Bool("no-rate-limits", false, "switch the simulated rate limits off (benchmarks); the venues advertise limits no client reaches")
	testnet := fs.Bool("testnet", false, "Binance: serve as the Spot testnet does, without /sapi routes")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("sim: unexpected argument %q; %s", fs.Arg(0), simUsage)
	}
	opts := simOptions{latency: *latency, noLimits: *noLimits, testnet: *testnet}
	if *latency < 0 {
		return usagef("sim: --latency %s: use zero or more", *latency)
	}
	if *driftStep != "" {
		d, err := simflag.ParseDrift(*driftStep, *driftEvery, *seed)
		if err != nil {
			return usagef("sim: %v", err)
		}
		opts.drift = &d
	}
	for _, k := range keys {
		if !strings.Contains(k, ":@") {
			fmt.Fprintf(e.stderr, "sim: warning: a --key secret on the command line shows in ps; use APIKEY:@FILE, --key-file or %s\n", simKeysEnv)
			break
		}
	}
	moreKeys, err := simKeysFrom(e, *keyFile)
	if err != nil {
		return usagef("sim: %v", err)
	}
	keys = append(keys, moreKeys...)
	names, err := simNames(venueFlags)
	if err != nil {
		return err
	}
	host, portStr, err := net.SplitHostPort(*listen)
	if err != nil {
		return usagef("sim: --listen %q: %v", *listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return usagef("sim: --listen %q: bad port", *listen)
	}
	type started struct {
		name string
		v    *simVenue
	}
	var running []started
	defer func() {
		for _, s := range running {
			s.v.close()
		}
	}()
	for i, name := range names {
		p := port
		if port != 0 {
			p = port + i
		}
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
		if err != nil {
			return fmt.Errorf("sim: %s: %w", name, err)
		}
		running = append(running, started{name, simVenues[name](l, opts)})
	}
	for _, k := range keys {
		venue, value, scoped := strings.Cut(k, "=")
		if !scoped || strings.ContainsAny(venue, ":@") {
			venue, value = "", k
		} else if _, ok := simVenues[venue]; !ok {
			return usagef("sim: --key %s=...: unknown venue %q", venue, venue)
		}
		accepted := false
		var lastErr error
		for _, s := range running {
			if venue != "" && s.name != venue {
				continue
			}
			ok, err := s.v.addKey(value)
			if err != nil {
				lastErr = err
			}
			accepted = accepted || ok
		}
		if !accepted {
			if lastErr == nil {
				lastErr = errors.New("no venue served accepts it")
			}
			return usagef("sim: --key: %v", lastErr)
		}
	}
	for _, pf := range prices {
		sym, p, err := simflag.ParsePrice(pf)
		if err != nil {
			return usagef("sim: %v", err)
		}
		found := false
		for _, s := range running {
			found = s.v.setPrice(sym, p) || found
		}
		if !found {
			return usagef("sim: --price %s: no simulated venue lists that symbol", sym)
		}
	}
	for _, s := range running {
		fmt.Fprintf(e.stdout, "%s %s\n", s.name, s.v.url())
	}
	errc := make(chan error, len(running))
	for _, s := range running {
		go func() { errc <- s.v.run(ctx) }()
	}
	var first error
	for range running {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
	}
	return first
}

func simNames(flags []string) ([]string, error) {
	if len(flags) == 0 {
		var all []string
		for _, n := range simOrder {
			if _, ok := simVenues[n]; ok {
				all = append(all, n)
			}
		}
		return all, nil
	}
	seen := map[string]bool{}
	for _, f := range flags {
		if _, ok := simVenues[f]; !ok {
			return nil, usagef("sim: unknown venue %q", f)
		}
		seen[f] = true
	}
	var out []string
	for _, n := range simOrder {
		if seen[n] {
			out = append(out, n)
		}
	}
	return out, nil
}

// simKeysFrom returns the --key values of the key file and of the
// environment variable simKeysEnv: one per line, blank lines and lines
// starting with # skipped. The file must not be readable by group or
// others. Errors never quote a line, which may hold a secret.
func simKeysFrom(e *env, path string) ([]string, error) {
	var out []string
	add := func(text string) {
		for _, line := range strings.Split(text, "\n") {
			line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			out = append(out, line)
		}
	}
	if path != "" {
		b, err := readPrivateFile(path, "--key-file")
		if err != nil {
			return nil, err
		}
		add(string(b))
		signer.Wipe(b)
	}
	if v := e.getenv(simKeysEnv); v != "" {
		add(v)
	}
	return out, nil
}
