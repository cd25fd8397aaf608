package gateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/exchangetest"
	"github.com/shopspring/decimal"
)

// The CCXT tests run a real client, CCXT (the version pinned in
// exchange/exchangetest/testdata/ccxt, installed there by `npm ci`;
// testdata/ccxt/node_modules links to it), through the gateway to a
// simulated venue. Each script prints one JSON step per line; see
// testdata/ccxt/lib.mjs.

const ccxtDir = "testdata/ccxt"

type ccxtStep struct {
	Step       string          `json:"step"`
	OK         bool            `json:"ok"`
	Error      string          `json:"error"`
	ErrorClass string          `json:"errorClass"`
	Family     string          `json:"family"`
	Network    bool            `json:"network"`
	Data       json.RawMessage `json:"data"`
}

// skipOrFail skips t, or fails it when KEYFENCE_REQUIRE_INTEGRATION=1.
func skipOrFail(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv("KEYFENCE_REQUIRE_INTEGRATION") == "1" {
		t.Fatalf("%s (KEYFENCE_REQUIRE_INTEGRATION=1)", msg)
	}
	t.Skip(msg)
}

// runCCXT runs node testdata/ccxt/<script> with env and returns its steps
// by name.
func runCCXT(t *testing.T, script string, env map[string]string) map[string]ccxtStep {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		skipOrFail(t, "CCXT test skipped: node is not installed; install Node.js, then run `npm ci` in exchange/exchangetest/testdata/ccxt")
	}
	if _, err := os.Stat(filepath.Join(ccxtDir, "node_modules", "ccxt", "package.json")); err != nil {
		skipOrFail(t, "CCXT test skipped: CCXT is not installed; run `npm ci` in exchange/exchangetest/testdata/ccxt")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Dir = ccxtDir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "NODE_NO_WARNINGS=1"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if strings.Contains(stdout.String()+stderr.String(), canary) {
		t.Fatal("the venue secret shows in CCXT's output")
	}
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("node %s exited with %d; stderr:\n%s\nstdout:\n%s", script, ee.ExitCode(), stderr.String(), stdout.String())
		}
		t.Fatalf("node %s: %v", script, err)
	}
	steps := map[string]ccxtStep{}
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var s ccxtStep
		if err := json.Unmarshal([]byte(line), &s); err != nil || s.Step == "" {
			t.Fatalf("a line of output is not a JSON step: %s", line)
		}
		t.Logf("ccxt %s: ok=%v %s %s", s.Step, s.OK, s.ErrorClass, s.Error)
		steps[s.Step] = s
	}
	if _, ok := steps["done"]; !ok {
		t.Fatalf("the script did not finish; stderr:\n%s", stderr.String())
	}
	return steps
}

// requireSteps fails unless each named step passed.
func requireSteps(t *testing.T, steps map[string]ccxtStep, names ...string) {
	t.Helper()
	for _, n := range names {
		s, ok := steps[n]
		if !ok || !s.OK {
			t.Errorf("ccxt step %s failed: %s: %s", n, s.ErrorClass, s.Error)
		}
	}
}

// requireRefused fails unless the step raised an error of one of the
// families, not a network error, with rule in its message.
func requireRefused(t *testing.T, s ccxtStep, rule string, families ...string) {
	t.Helper()
	ok := false
	for _, f := range families {
		ok = ok || s.Family == f
	}
	if s.OK || !ok || s.Network || !strings.Contains(s.Error, rule) {
		t.Errorf("ccxt step %s: want a %v error naming %q; got ok=%v %s (%s): %s", s.Step, families, rule, s.OK, s.ErrorClass, s.Family, s.Error)
	}
}

func TestCCXTBinanceThroughGateway(t *testing.T) {
	seen := &simPaths{}
	e := newEnv(t, envOpts{binance: []exchangetest.BinanceOption{exchangetest.WithBinanceLogger(slog.New(seen))}})
	bot := e.issue("ccxt-bot", Binance, "binance-main")
	before := value(e.binance.Balances(e.venueKey), e.binance.Price, "USDT")
	steps := runCCXT(t, "binance.mjs", map[string]string{
		"GW_URL": e.srv[Binance].URL, "API_KEY": bot.APIKey, "API_SECRET": bot.Secret,
		"WRONG_SECRET": strings.Repeat("x", 64), "SYMBOL": "BTC/USDT", "OFF_LIST": "LTC/BTC",
	})
	requireVenueSteps(t, steps)
	// CCXT ran with its default options: its loadMarkets read the margin
	// pair lists (forwarded, re-signed with the venue key) and the
	// futures exchangeInfo, which the gateway answered without sending it
	// upstream.
	for _, p := range []string{"/sapi/v1/margin/allPairs " + e.venueKey, "/sapi/v1/margin/isolated/allPairs " + e.venueKey, "/sapi/v1/capital/config/getall " + e.venueKey} {
		if seen.count(p) == 0 {
			t.Errorf("CCXT's start-up read %s never reached the venue", p)
		}
	}
	if n := seen.count("/fapi/") + seen.count("/dapi/"); n != 0 {
		t.Errorf("%d futures requests reached the Spot upstream", n)
	}
	requireRefused(t, steps["overCap"], "order_notional", "InvalidOrder")
	requireRefused(t, steps["withdraw"], "rule class", "PermissionDenied")
	if len(e.binance.Withdrawals()) != 0 {
		t.Error("a withdrawal reached the venue")
	}
	after := value(e.binance.Balances(e.venueKey), e.binance.Price, "USDT")
	if after.LessThan(before.Mul(decimal.RequireFromString("0.999"))) {
		t.Errorf("the account lost value: %s USDT before, %s after", before, after)
	}
}

// requireVenueSteps holds a bot run to what every venue must do: the
// trading steps pass; the policy's refusals raise permission or
// invalid-order errors naming the rule, never network errors; a wrong
// secret raises AuthenticationError.
func requireVenueSteps(t *testing.T, steps map[string]ccxtStep) {
	t.Helper()
	requireSteps(t, steps, "loadMarkets", "fetchBalance", "fetchTicker", "fetchOrderBook", "createLimitOrder",
		"fetchOpenOrders", "cancelOrder", "createMarketOrderByQuote", "fetchMyTrades")
	requireRefused(t, steps["overCap"], "order_notional", "InvalidOrder", "PermissionDenied")
	requireRefused(t, steps["offList"], "rule symbol", "InvalidOrder", "PermissionDenied")
	requireRefused(t, steps["outsideBand"], "price_band", "InvalidOrder", "PermissionDenied")
	requireRefused(t, steps["withdraw"], "keyfence: rule", "PermissionDenied")
	if s := steps["wrongSecret"]; s.OK || s.Family != "AuthenticationError" {
		t.Errorf("wrong secret: want AuthenticationError, got ok=%v %s", s.OK, s.ErrorClass)
	}
}

// value values balances in the quote asset at the simulator's prices;
// sep is what follows the base in a symbol: "USDT" on Binance, "-USDT" on
// KuCoin.
func value(bals []exchange.Balance, price func(string) (decimal.Decimal, bool), sep string) decimal.Decimal {
	quote := strings.TrimPrefix(sep, "-")
	total := decimal.Zero
	for _, b := range bals {
		amt := b.Free.Add(b.Locked)
		if b.Asset == quote {
			total = total.Add(amt)
		} else if p, ok := price(b.Asset + sep); ok {
			total = total.Add(amt.Mul(p))
		}
	}
	return total
}
