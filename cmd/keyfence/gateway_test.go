package main

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gatewayCanary is the venue secret: it must show in no output.
const gatewayCanary = "CANARY-gw-venue-secret-51d0"

const gatewayPolicy = `version: 1
credentials:
  binance-main:
    venue: binance
    allow: [read, trade, cancel]
    order_types: [LIMIT, MARKET]
    max_open_orders: 50
    price_band: "5%"
    quotes:
      USDT: {max_order_notional: "1000", max_daily_notional: "5000"}
    symbols:
      BTCUSDT: {}
`

// gwFixture is a simulated Binance process, a keystore holding its key,
// a policy and a client credential issued for the gateway.
type gwFixture struct {
	bin, dir, sock    string
	c                 *cli
	simURL            string
	client            map[string]string
	policy, state, au string
}

func newGWFixture(t *testing.T, simArgs ...string) *gwFixture {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	f := &gwFixture{bin: buildCLI(t), dir: t.TempDir()}
	f.sock = filepath.Join(f.dir, "admin.sock")
	f.policy, f.state, f.au = filepath.Join(f.dir, "policy.yaml"), filepath.Join(f.dir, "limits.state"), filepath.Join(f.dir, "audit.jsonl")
	require.NoError(t, os.WriteFile(f.policy, []byte(gatewayPolicy), 0o600))
	sim := exec.Command(f.bin, append([]string{"sim", "--venue", "binance"}, simArgs...)...)
	sim.Env = append(os.Environ(), "KEYFENCE_SIM_KEYS=VENUEKEY:"+gatewayCanary)
	f.simURL = startLine(t, sim, "binance")
	ks := filepath.Join(f.dir, "keys.kfs")
	f.c = &cli{t: t, env: map[string]string{"KEYFENCE_KEYSTORE": ks, "KEYFENCE_PASSPHRASE": "correct horse battery staple"}}
	r := f.c.run("", "keys", "init")
	require.Equal(t, 0, r.code, r.stderr)
	r = f.c.run(gatewayCanary+"\n", "keys", "add", "--name", "binance-main", "--venue", "binance", "--api-key", "VENUEKEY")
	require.Equal(t, 0, r.code, r.stderr)
	r = f.c.run("", "gateway", "client", "add", "--name", "bot", "--credential", "binance-main")
	require.Equal(t, 0, r.code, r.stderr)
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &f.client), r.stdout)
	assert.Equal(t, "bot", f.client["name"])
	assert.Equal(t, "binance", f.client["venue"])
	assert.Len(t, f.client["secret"], 64)
	assert.NotContains(t, r.stdout+r.stderr, gatewayCanary)
	return f
}

// start runs the gateway and returns its Binance URL and process.
func (f *gwFixture) start(t *testing.T, args ...string) (string, *exec.Cmd) {
	t.Helper()
	cmd := exec.Command(f.bin, append([]string{"gateway", "--policy", f.policy, "--state", f.state, "--audit", f.au,
		"--upstream", "binance=" + f.simURL, "--admin", f.sock}, args...)...)
	cmd.Env = append(os.Environ(), "KEYFENCE_KEYSTORE="+f.c.env["KEYFENCE_KEYSTORE"], "KEYFENCE_PASSPHRASE="+f.c.env["KEYFENCE_PASSPHRASE"])
	return startLine(t, cmd, "binance"), cmd
}

// startLine starts cmd and returns the URL it prints for venue.
func startLine(t *testing.T, cmd *exec.Cmd, venue string) string {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	stderr := &lockedWriter{}
	cmd.Stderr = stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		assert.NotContains(t, stderr.String(), gatewayCanary)
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err, "stderr: %s", stderr.String())
	m := regexp.MustCompile(`^` + venue + ` (http://127\.0\.0\.1:\d+)\n$`).FindStringSubmatch(line)
	require.NotNil(t, m, "got %q", line)
	return m[1]
}

// lockedWriter collects a process's output for the test to read.
type lockedWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(b)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// signedCall sends a Binance request signed with an HMAC secret.
func signedCall(t *testing.T, base, apiKey, secret, method, path string, params url.Values) (int, string) {
	t.Helper()
	q := params.Encode()
	if q != "" {
		q += "&"
	}
	q += "timestamp=" + strconv.FormatInt(time.Now().UnixMilli(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(q))
	q += "&signature=" + hex.EncodeToString(m.Sum(nil))
	req, err := http.NewRequest(method, base+path+"?"+q, nil)
	require.NoError(t, err)
	req.Header.Set("X-MBX-APIKEY", apiKey)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	require.NotContains(t, string(b), gatewayCanary)
	return resp.StatusCode, string(b)
}

func order(qty, price string) url.Values {
	return url.Values{"symbol": {"BTCUSDT"}, "side": {"BUY"}, "type": {"LIMIT"}, "timeInForce": {"GTC"},
		"quantity": {qty}, "price": {price}}
}

// TestGatewayProcess runs `keyfence gateway` as a process in front of
// `keyfence sim`: a bot trades with its client credential, the admin
// socket trips the kill switch for the next order, revokes the client at
// once, and SIGINT shuts the gateway down cleanly with an audit log that
// verifies.
func TestGatewayProcess(t *testing.T) {
	f := newGWFixture(t)
	gw, cmd := f.start(t)
	key, secret := f.client["api_key"], f.client["secret"]

	st, body := signedCall(t, gw, key, secret, "GET", "/api/v3/account", nil)
	require.Equal(t, 200, st, body)
	st, body = signedCall(t, gw, key, secret, "POST", "/api/v3/order", order("0.001", "49000"))
	require.Equal(t, 200, st, body)

	r := f.c.run("", "gateway", "killswitch", "trip", "--admin", f.sock, "--reason", "operator test")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, `"tripped":true`)
	st, body = signedCall(t, gw, key, secret, "POST", "/api/v3/order", order("0.001", "49000"))
	assert.Equal(t, 400, st)
	assert.Contains(t, body, `"code":-2010`)
	assert.Contains(t, body, "kill_switch")
	// Cancels and reads still pass while tripped.
	st, body = signedCall(t, gw, key, secret, "GET", "/api/v3/openOrders", url.Values{"symbol": {"BTCUSDT"}})
	require.Equal(t, 200, st, body)
	r = f.c.run("", "gateway", "killswitch", "reset", "--admin", f.sock)
	require.Equal(t, 0, r.code, r.stderr)
	st, body = signedCall(t, gw, key, secret, "POST", "/api/v3/order", order("0.001", "49000"))
	require.Equal(t, 200, st, body)

	r = f.c.run("", "gateway", "status", "--admin", f.sock)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, `"credential":"binance-main"`)
	assert.Contains(t, r.stdout, `"rule":"kill_switch"`)
	// Caps used: two orders of 49 USDT rest on the book.
	assert.Contains(t, r.stdout, `"usage":{"credential":"binance-main","notional":[{"quote":"USDT","used":"98","cap":"5000","window":"24h0m0s"}],"open_orders":2,"max_open_orders":50}`)

	r = f.c.run("", "gateway", "client", "remove", "--admin", f.sock, "--name", "bot")
	require.Equal(t, 0, r.code, r.stderr)
	st, body = signedCall(t, gw, key, secret, "GET", "/api/v3/account", nil)
	assert.Equal(t, 401, st, body)
	assert.Contains(t, body, `"code":-2015`)

	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	require.NoError(t, cmd.Wait(), "the gateway exits 0 when interrupted")
	r = f.c.run("", "audit", "verify", f.au)
	require.Equal(t, 0, r.code, r.stderr+r.stdout)
}

// TestGatewayKill9 kills the gateway with SIGKILL in the middle of a burst
// of orders; after a restart on the same state and audit log, the daily
// cap still holds over both runs and the audit log verifies.
func TestGatewayKill9(t *testing.T) {
	f := newGWFixture(t)
	gw, cmd := f.start(t)
	key, secret := f.client["api_key"], f.client["secret"]
	// 0.018 BTC at 49000 is 882 USDT: five fit under the 5000 USDT daily cap.
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 3 {
				q := order("0.018", "49000")
				req, _ := http.NewRequest("POST", gw+"/api/v3/order?"+signQuery(q, secret), nil)
				req.Header.Set("X-MBX-APIKEY", key)
				if resp, err := http.DefaultClient.Do(req); err == nil {
					_ = resp.Body.Close()
				}
			}
		}()
	}
	// Kill once the venue holds the burst's first order: the rest are in
	// flight or not sent yet.
	require.Eventually(t, func() bool { return len(openOrders(t, f.simURL)) > 0 }, 10*time.Second, time.Millisecond)
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	wg.Wait()

	gw, cmd = f.start(t)
	for range 8 {
		signedCall(t, gw, key, secret, "POST", "/api/v3/order", order("0.018", "49000"))
	}
	// The venue holds what both runs placed: never more than the cap.
	open := openOrders(t, f.simURL)
	total := 0.0
	for _, o := range open {
		p, _ := strconv.ParseFloat(o.Price, 64)
		q, _ := strconv.ParseFloat(o.OrigQty, 64)
		total += p * q
	}
	assert.LessOrEqual(t, total, 5000.0, "orders over both runs: %d, %s USDT", len(open), fmt.Sprint(total))
	assert.GreaterOrEqual(t, len(open), 1)
	// Reconciliation settles what the killed run left of unknown outcome
	// from the venue, and finds no foreign order: every order on the venue
	// was signed by the gateway.
	r := f.c.run("", "gateway", "reconcile", "--admin", f.sock)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, `"credential":"binance-main"`)
	assert.NotContains(t, r.stdout, `"error"`)
	assert.Contains(t, r.stdout, `"Foreign":null`)
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	require.NoError(t, cmd.Wait())
	r = f.c.run("", "audit", "verify", f.au)
	require.Equal(t, 0, r.code, r.stderr+r.stdout)
}

func signQuery(params url.Values, secret string) string {
	q := params.Encode() + "&timestamp=" + strconv.FormatInt(time.Now().UnixMilli(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(q))
	return q + "&signature=" + hex.EncodeToString(m.Sum(nil))
}

type openOrder struct{ Price, OrigQty string }

// openOrders reads the venue key's open orders straight from the venue.
func openOrders(t *testing.T, simURL string) []openOrder {
	st, body := signedCall(t, simURL, "VENUEKEY", gatewayCanary, "GET", "/api/v3/openOrders", url.Values{"symbol": {"BTCUSDT"}})
	require.Equal(t, 200, st, body)
	var open []openOrder
	require.NoError(t, json.Unmarshal([]byte(body), &open))
	return open
}

// TestGatewayGracefulShutdown interrupts the gateway while a request is in
// flight (the venue answers after 1 s): the request is answered, the
// gateway exits 0, and new connections are refused.
func TestGatewayGracefulShutdown(t *testing.T) {
	f := newGWFixture(t, "--latency", "1s")
	gw, cmd := f.start(t)
	key, secret := f.client["api_key"], f.client["secret"]
	done := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("POST", gw+"/api/v3/order?"+signQuery(order("0.001", "49000"), secret), nil)
		req.Header.Set("X-MBX-APIKEY", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- 0
			return
		}
		_ = resp.Body.Close()
		done <- resp.StatusCode
	}()
	require.Eventually(t, func() bool {
		r := f.c.run("", "gateway", "status", "--admin", f.sock)
		return r.code == 0 && strings.Contains(r.stdout, `"in_flight":1`)
	}, 10*time.Second, 5*time.Millisecond, "the request never reached the gateway")
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	assert.Equal(t, 200, <-done, "the request in flight is answered")
	require.NoError(t, cmd.Wait(), "the gateway exits 0")
	_, err := http.Get(gw + "/api/v3/ping")
	require.Error(t, err, "new connections are refused after shutdown")
	r := f.c.run("", "audit", "verify", f.au)
	require.Equal(t, 0, r.code, r.stderr+r.stdout)
}

// TestGatewayUnixSocket serves the venue on a Unix socket with --unix.
func TestGatewayUnixSocket(t *testing.T) {
	f := newGWFixture(t)
	dir := t.TempDir()
	cmd := exec.Command(f.bin, "gateway", "--policy", f.policy, "--state", f.state, "--audit", f.au,
		"--upstream", "binance="+f.simURL, "--unix", dir)
	cmd.Env = append(os.Environ(), "KEYFENCE_KEYSTORE="+f.c.env["KEYFENCE_KEYSTORE"], "KEYFENCE_PASSPHRASE="+f.c.env["KEYFENCE_PASSPHRASE"])
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	sock := filepath.Join(dir, "binance.sock")
	require.Equal(t, "binance unix:"+sock+"\n", line)
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
	req, _ := http.NewRequest("GET", "http://gw/api/v3/account?"+signQuery(url.Values{}, f.client["secret"]), nil)
	req.Header.Set("X-MBX-APIKEY", f.client["api_key"])
	resp, err := c.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode, string(body))
}
