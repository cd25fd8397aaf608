package main

import (
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pgGateway is one `keyfence gateway` process on the shared PostgreSQL
// state, with an audit log and an admin socket of its own.
type pgGateway struct {
	url, sock, au string
	cmd           *exec.Cmd
}

func startPGGateway(t *testing.T, f *gwFixture, name, dsn, schema string) *pgGateway {
	t.Helper()
	g := &pgGateway{sock: filepath.Join(f.dir, name+".sock"), au: filepath.Join(f.dir, name+".audit.jsonl")}
	g.cmd = exec.Command(f.bin, "gateway", "--policy", f.policy, "--state", dsn, "--state-schema", schema, "--audit", g.au,
		"--upstream", "binance="+f.simURL, "--admin", g.sock)
	g.cmd.Env = append(os.Environ(), "KEYFENCE_KEYSTORE="+f.c.env["KEYFENCE_KEYSTORE"], "KEYFENCE_PASSPHRASE="+f.c.env["KEYFENCE_PASSPHRASE"])
	g.url = startLine(t, g.cmd, "binance")
	return g
}

// TestGatewaysSharePostgres: two `keyfence gateway` processes with
// --state naming one PostgreSQL schema, each with its own audit log and
// admin socket, front one simulated Binance account. Orders through
// either count against one daily cap, a concurrent burst through both
// never passes it, and the kill switch tripped on one gateway's admin
// socket stops the other's next order (and its reset on the other
// resumes the first).
func TestGatewaysSharePostgres(t *testing.T) {
	dsn, schema, pw := testPostgres(t)
	f := newGWFixture(t)
	a := startPGGateway(t, f, "a", dsn, schema)
	b := startPGGateway(t, f, "b", dsn, schema)
	key, secret := f.client["api_key"], f.client["secret"]

	// 0.018 BTC at 49000 is 882 USDT: five fit under the 5000 USDT daily
	// cap (4410), a sixth does not (5292). Two through each gateway...
	for _, g := range []*pgGateway{a, b, a, b} {
		st, body := signedCall(t, g.url, key, secret, "POST", "/api/v3/order", order("0.018", "49000"))
		require.Equal(t, 200, st, body)
	}
	// ...then a concurrent burst of eight through both: exactly one more
	// passes.
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		passed   int
		refusals []string
	)
	for i := range 8 {
		g := a
		if i%2 == 1 {
			g = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			q := order("0.018", "49000")
			q.Set("newClientOrderId", "burst-"+strconv.Itoa(i)) // no two alike, lest one be refused as a replay
			req, err := http.NewRequest("POST", g.url+"/api/v3/order?"+signQuery(q, secret), nil)
			if !assert.NoError(t, err) {
				return
			}
			req.Header.Set("X-MBX-APIKEY", key)
			resp, err := http.DefaultClient.Do(req)
			if !assert.NoError(t, err) {
				return
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			mu.Lock()
			defer mu.Unlock()
			if resp.StatusCode == 200 {
				passed++
			} else {
				refusals = append(refusals, string(raw))
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, 1, passed, "refusals: %v", refusals)
	for _, r := range refusals {
		assert.Contains(t, r, `"code":-2010`)
		assert.Contains(t, r, "daily_notional")
	}
	open := openOrders(t, f.simURL)
	total := 0.0
	for _, o := range open {
		p, _ := strconv.ParseFloat(o.Price, 64)
		q, _ := strconv.ParseFloat(o.OrigQty, 64)
		total += p * q
	}
	assert.Len(t, open, 5)
	assert.InDelta(t, 4410.0, total, 1e-6)
	// Both admin sockets report the shared usage.
	for _, g := range []*pgGateway{a, b} {
		r := f.c.run("", "gateway", "status", "--admin", g.sock)
		require.Equal(t, 0, r.code, r.stderr)
		assert.Contains(t, r.stdout, `{"quote":"USDT","used":"4410","cap":"5000","window":"24h0m0s"}`)
	}

	// One kill switch: tripped on a, b refuses an order that fits the cap.
	r := f.c.run("", "gateway", "killswitch", "trip", "--admin", a.sock, "--reason", "shared halt")
	require.Equal(t, 0, r.code, r.stderr)
	st, body := signedCall(t, b.url, key, secret, "POST", "/api/v3/order", order("0.001", "49000"))
	assert.Equal(t, 400, st, body)
	assert.Contains(t, body, "kill_switch")
	r = f.c.run("", "gateway", "killswitch", "status", "--admin", b.sock)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "shared halt")
	// Reset on b: a trades again, within what is left of the cap.
	r = f.c.run("", "gateway", "killswitch", "reset", "--admin", b.sock)
	require.Equal(t, 0, r.code, r.stderr)
	st, body = signedCall(t, a.url, key, secret, "POST", "/api/v3/order", order("0.001", "49000"))
	require.Equal(t, 200, st, body)
	assert.Len(t, openOrders(t, f.simURL), 6)

	// Each gateway's audit log is its own and verifies.
	for _, g := range []*pgGateway{a, b} {
		require.NoError(t, g.cmd.Process.Signal(syscall.SIGINT))
		require.NoError(t, g.cmd.Wait())
		r = f.c.run("", "audit", "verify", g.au)
		require.Equal(t, 0, r.code, r.stderr+r.stdout)
	}

	// A password in --state is refused before anything opens, and not echoed.
	withPW, err := url.Parse(dsn)
	require.NoError(t, err)
	withPW.User = url.UserPassword(withPW.User.Username(), pw+"-canary")
	r = f.c.run("", "gateway", "--policy", f.policy, "--state", withPW.String(), "--state-schema", schema,
		"--audit", filepath.Join(f.dir, "c.audit.jsonl"), "--upstream", "binance="+f.simURL)
	assert.Equal(t, 2, r.code, r.stderr)
	assert.Contains(t, r.stderr, "PGPASSWORD")
	assert.NotContains(t, r.stderr+r.stdout, pw+"-canary")
	_, err = os.Stat(filepath.Join(f.dir, "c.audit.jsonl"))
	assert.ErrorIs(t, err, os.ErrNotExist, "refused before the audit log opens")
}

// TestGatewaysRefuseReplayPostgres: one signed order captured on the wire
// and sent to both gateways on one PostgreSQL schema, at once and again,
// is admitted by exactly one of them; every other copy is refused as a
// replay, as the venue itself would refuse it, and one order reaches the
// venue.
func TestGatewaysRefuseReplayPostgres(t *testing.T) {
	dsn, schema, _ := testPostgres(t)
	f := newGWFixture(t)
	a := startPGGateway(t, f, "a", dsn, schema)
	b := startPGGateway(t, f, "b", dsn, schema)
	key, secret := f.client["api_key"], f.client["secret"]
	q := signQuery(order("0.001", "49000"), secret)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		passed   int
		refusals []string
	)
	for i := range 6 {
		g := []*pgGateway{a, b}[i%2]
		wg.Go(func() {
			req, err := http.NewRequest("POST", g.url+"/api/v3/order?"+q, nil)
			if !assert.NoError(t, err) {
				return
			}
			req.Header.Set("X-MBX-APIKEY", key)
			resp, err := http.DefaultClient.Do(req)
			if !assert.NoError(t, err) {
				return
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			mu.Lock()
			defer mu.Unlock()
			if resp.StatusCode == 200 {
				passed++
			} else {
				refusals = append(refusals, string(raw))
			}
		})
	}
	wg.Wait()
	require.Equal(t, 1, passed, "refusals: %v", refusals)
	for _, r := range refusals {
		assert.Contains(t, r, `"code":-1022`)
		assert.Contains(t, r, "used before")
	}
	assert.Len(t, openOrders(t, f.simURL), 1)
	// A newly signed order passes either gateway.
	for _, g := range []*pgGateway{a, b} {
		st, body := signedCall(t, g.url, key, secret, "POST", "/api/v3/order", order("0.001", "49000"))
		require.Equal(t, 200, st, body)
	}
}
