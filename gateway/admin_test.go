package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keyfence/keyfence/limits"
	"github.com/shopspring/decimal"
)

// adminClient is an HTTP client of the admin socket at path.
func adminClient(path string) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}}}
}

func adminCall(t *testing.T, c *http.Client, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://admin"+path, strings.NewReader(body))
	must(t, err)
	resp, err := c.Do(req)
	must(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// startAdmin serves the admin API of e's gateway on a socket in dir.
func startAdmin(t *testing.T, e *env, dir string, cfg AdminConfig) string {
	t.Helper()
	path := filepath.Join(dir, "admin.sock")
	l, err := ListenAdmin(path)
	must(t, err)
	srv := &http.Server{Handler: e.gw.AdminHandler(cfg)}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	st, err := os.Stat(path)
	must(t, err)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("admin socket mode %v; want 0600", st.Mode().Perm())
	}
	return path
}

func TestAdminKillSwitchClientsAndPolicy(t *testing.T) {
	e := newEnv(t, envOpts{})
	dir := t.TempDir()
	policyFile := filepath.Join(dir, "policy.yaml")
	must(t, os.WriteFile(policyFile, []byte(testPolicy), 0o600))
	sock := startAdmin(t, e, dir, AdminConfig{
		LoadPolicy: func() (*limits.Policy, error) { return limits.LoadPolicy(policyFile) },
		CredentialVenue: func(ctx context.Context, cred string) (string, error) {
			info, err := e.keys.Info(ctx, cred)
			return info.Venue, err
		},
	})
	c := adminClient(sock)

	// A client added through the admin API trades at once.
	st, body := adminCall(t, c, "POST", "/v1/clients", `{"name":"bot","credential":"binance-main"}`)
	if st != 200 {
		t.Fatalf("add: %d %s", st, body)
	}
	var bot Issued
	must(t, json.Unmarshal([]byte(body), &bot))
	order := url.Values{"symbol": {"BTCUSDT"}, "side": {"BUY"}, "type": {"LIMIT"}, "timeInForce": {"GTC"}, "quantity": {"0.001"}, "price": {"49000"}}
	if st, b := e.binanceCall(bot.APIKey, bot.Secret, "POST", "/api/v3/order", order); st != 200 {
		t.Fatalf("order: %d %s", st, b)
	}
	// A trip refuses the next order.
	if st, body = adminCall(t, c, "POST", "/v1/killswitch/trip", `{"reason":"test"}`); st != 200 || !strings.Contains(body, `"tripped": true`) {
		t.Fatalf("trip: %d %s", st, body)
	}
	st, b := e.binanceCall(bot.APIKey, bot.Secret, "POST", "/api/v3/order", order)
	if code, msg := binanceErr(t, b); st != 400 || code != -2010 || !strings.Contains(msg, "kill_switch") {
		t.Fatalf("order while tripped: %d %s", st, b)
	}
	if st, body = adminCall(t, c, "POST", "/v1/killswitch/reset", ""); st != 200 || !strings.Contains(body, `"tripped": false`) {
		t.Fatalf("reset: %d %s", st, body)
	}
	// A policy that fails validation keeps the old one in force.
	must(t, os.WriteFile(policyFile, []byte("version: 1\ncredentials:\n  binance-main:\n    venue: binance\n    price_band: \"-5%\"\n"), 0o600))
	if st, body = adminCall(t, c, "POST", "/v1/policy/reload", ""); st != 400 || !strings.Contains(body, "previous one stays in force") {
		t.Fatalf("bad policy: %d %s", st, body)
	}
	if st, b := e.binanceCall(bot.APIKey, bot.Secret, "POST", "/api/v3/order", order); st != 200 {
		t.Fatalf("order under the kept policy: %d %s", st, b)
	}
	// A good one takes effect for the next request: ETHUSDT only.
	must(t, os.WriteFile(policyFile, []byte(strings.Replace(testPolicy, "      BTCUSDT: {}\n", "", 1)), 0o600))
	if st, body = adminCall(t, c, "POST", "/v1/policy/reload", ""); st != 200 {
		t.Fatalf("reload: %d %s", st, body)
	}
	st, b = e.binanceCall(bot.APIKey, bot.Secret, "POST", "/api/v3/order", order)
	if code, msg := binanceErr(t, b); st != 400 || code != -2010 || !strings.Contains(msg, "rule symbol") {
		t.Fatalf("order after the reload: %d %s", st, b)
	}
	// Status per credential, then revocation.
	if st, body = adminCall(t, c, "GET", "/v1/status", ""); st != 200 || !strings.Contains(body, `"credential": "binance-main"`) ||
		!strings.Contains(body, `"rule": "symbol"`) || !strings.Contains(body, `"open_orders": 2`) {
		t.Fatalf("status: %d %s", st, body)
	}
	if st, body = adminCall(t, c, "DELETE", "/v1/clients/bot", ""); st != 200 {
		t.Fatalf("remove: %d %s", st, body)
	}
	if st, b := e.binanceCall(bot.APIKey, bot.Secret, "GET", "/api/v3/account", nil); st != 401 {
		t.Fatalf("removed client: %d %s", st, b)
	}
	if st, _ = adminCall(t, c, "DELETE", "/v1/clients/bot", ""); st != 404 {
		t.Fatalf("removing twice: %d", st)
	}
}

// TestAdminPeerUID connects to the admin socket as another user: the
// socket file is opened to everyone for the test, so that only the
// SO_PEERCRED check stands in the way, and it closes the connection.
func TestAdminPeerUID(t *testing.T) {
	if os.Getenv("KEYFENCE_ADMIN_HELPER") != "" {
		adminHelper()
		return
	}
	if os.Getuid() != 0 {
		t.Skip("needs root to run a process as another user (nobody)")
	}
	e := newEnv(t, envOpts{})
	dir, err := os.MkdirTemp("", "kf-admin-")
	must(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	sock := startAdmin(t, e, dir, AdminConfig{})
	must(t, os.Chmod(dir, 0o755))
	must(t, os.Chmod(sock, 0o666))
	// The test binary, where the other user can run it.
	self, err := os.ReadFile(os.Args[0])
	must(t, err)
	bin := filepath.Join(dir, "helper.test")
	must(t, os.WriteFile(bin, self, 0o755))
	run := func(uid uint32) string {
		cmd := exec.Command(bin, "-test.run=^TestAdminPeerUID$")
		cmd.Dir = dir
		cmd.Env = []string{"KEYFENCE_ADMIN_HELPER=" + sock}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
		out, err := cmd.CombinedOutput()
		if err != nil && len(out) == 0 {
			return "exec: " + err.Error()
		}
		return string(out)
	}
	if out := run(0); !strings.Contains(out, "helper: 200") {
		t.Fatalf("the gateway's own uid was refused: %s", out)
	}
	if out := run(65534); !strings.Contains(out, "helper: refused") {
		t.Fatalf("uid 65534 was let in: %s", out)
	}
}

// adminHelper is the other process of TestAdminPeerUID.
func adminHelper() {
	c := adminClient(os.Getenv("KEYFENCE_ADMIN_HELPER"))
	resp, err := c.Get("http://admin/v1/killswitch")
	if err != nil {
		fmt.Println("helper: refused:", err)
		return
	}
	resp.Body.Close()
	fmt.Printf("helper: %d\n", resp.StatusCode)
}

// The admin API's kill switch is the library's control API
// (limits.ControlHandler): the same paths, bodies, answers and errors.
func TestAdminKillSwitchIsTheControlAPI(t *testing.T) {
	e := newEnv(t, envOpts{})
	admin := e.gw.AdminHandler(AdminConfig{})
	lib := limits.ControlHandler(e.gw.Guard(), nil)
	call := func(h http.Handler, method, path, body string) (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(body)))
		return rec.Code, rec.Body.String()
	}
	for _, tc := range []struct{ method, path, body string }{
		{"POST", "/v1/killswitch/trip", `{"reason":"operator","extra":1}`}, // an unknown field: 400 on both
		{"POST", "/v1/killswitch/trip", `{"reason":"operator"}`},
		{"GET", "/v1/killswitch", ""},
		{"POST", "/v1/killswitch/reset", ""},
		{"GET", "/v1/killswitch", ""},
	} {
		st, body := call(admin, tc.method, tc.path, tc.body)
		lst, lbody := call(lib, "GET", "/v1/killswitch", "")
		if tc.method == "GET" && (st != lst || body != lbody) {
			t.Fatalf("%s %s: the admin API answers %d %s; the control API %d %s", tc.method, tc.path, st, body, lst, lbody)
		}
		var ks limits.KillSwitchStatus
		switch {
		case strings.Contains(tc.body, "extra"):
			if st != http.StatusBadRequest {
				t.Fatalf("trip with an unknown field: %d %s", st, body)
			}
			continue
		case st != 200 || json.Unmarshal([]byte(body), &ks) != nil:
			t.Fatalf("%s %s: %d %s", tc.method, tc.path, st, body)
		}
		if tripped, _ := e.gw.KillSwitch(context.Background()); ks.Tripped != tripped {
			t.Fatalf("%s %s answered tripped=%v; the guard says %v", tc.method, tc.path, ks.Tripped, tripped)
		}
		if ks.Tripped && (ks.Reason != "operator" || ks.At.IsZero()) {
			t.Fatalf("tripped without its reason and time: %s", body)
		}
	}
	// After a policy reload the switch acts on the guard in force.
	pol, err := limits.ParsePolicy([]byte(testPolicy))
	must(t, err)
	must(t, e.gw.ReloadPolicy(pol))
	if st, body := call(admin, "POST", "/v1/killswitch/trip", `{"reason":"after reload"}`); st != 200 {
		t.Fatalf("trip after reload: %d %s", st, body)
	}
	if tripped, reason := e.gw.Guard().Tripped(context.Background()); !tripped || reason != "after reload" {
		t.Fatalf("the guard in force: tripped=%v %q", tripped, reason)
	}
}

// The admin status shows what each venue credential has used of its caps:
// the rolling notional per quote asset (and per symbol where capped) and
// the open orders, read from the limit store.
func TestAdminStatusCapsUsed(t *testing.T) {
	e := newEnv(t, envOpts{})
	bot := e.issue("bot", Binance, "binance-main")
	e.issue("bot2", Binance, "binance-second")
	order := url.Values{"symbol": {"BTCUSDT"}, "side": {"BUY"}, "type": {"LIMIT"}, "timeInForce": {"GTC"}, "quantity": {"0.001"}, "price": {"49000"}}
	for range 2 {
		if st, b := e.binanceCall(bot.APIKey, bot.Secret, "POST", "/api/v3/order", order); st != 200 {
			t.Fatalf("order: %d %s", st, b)
		}
	}
	rec := httptest.NewRecorder()
	e.gw.AdminHandler(AdminConfig{}).ServeHTTP(rec, httptest.NewRequest("GET", "/v1/status", nil))
	var st Status
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &st) != nil {
		t.Fatalf("status: %d %s", rec.Code, rec.Body)
	}
	usage := map[string]*limits.Usage{}
	for _, cs := range st.Credentials {
		if cs.Usage == nil || cs.UsageError != "" {
			t.Fatalf("%s: no usage (%s)", cs.Credential, cs.UsageError)
		}
		usage[cs.Credential] = cs.Usage
	}
	main, second := usage["binance-main"], usage["binance-second"]
	if main == nil || second == nil {
		t.Fatalf("status lists %v", st.Credentials)
	}
	if len(main.Notional) != 1 || main.Notional[0].Quote != "USDT" || !main.Notional[0].Used.Equal(decimal.RequireFromString("98")) ||
		!main.Notional[0].Cap.Equal(decimal.RequireFromString("5000")) || main.Notional[0].Window != 24*time.Hour ||
		main.OpenOrders != 2 || main.MaxOpenOrders != 20 {
		t.Fatalf("binance-main usage: %s", rec.Body)
	}
	if !second.Notional[0].Used.IsZero() || second.OpenOrders != 0 {
		t.Fatalf("binance-second usage: %+v", second)
	}
	if !strings.Contains(rec.Body.String(), `"window": "24h0m0s"`) {
		t.Fatalf("status JSON: %s", rec.Body)
	}
}
