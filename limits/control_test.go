package limits

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyfence/keyfence/exchange"
)

// unixClient is an HTTP client that dials the socket at path.
func unixClient(path string) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}}}
}

func controlCall(t *testing.T, c *http.Client, method, path, body string) KillSwitchStatus {
	t.Helper()
	req, err := http.NewRequest(method, "http://guard"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: status %d", method, path, resp.StatusCode)
	}
	var st KillSwitchStatus
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestControlSocketTripsARunningGuard: the guard of a running bot, whose
// file store another process cannot open, is tripped and reset through its
// control socket, and the next trade sees it.
func TestControlSocketTripsARunningGuard(t *testing.T) {
	ctx := context.Background()
	statePath := filepath.Join(t.TempDir(), "limits.state")
	store, err := OpenFileStore(statePath)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	f := newFixture(t, testPolicy, store)
	if _, err := OpenFileStore(statePath); !errors.Is(err, ErrStoreLocked) {
		t.Fatalf("a second open = %v, want ErrStoreLocked (why the socket exists)", err)
	}
	cs, err := ServeControl(ControlSocket(statePath), f.guard, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := unixClient(ControlSocket(statePath))

	if st := controlCall(t, c, "GET", "/v1/killswitch", ""); st.Tripped {
		t.Fatal("tripped at start")
	}
	st := controlCall(t, c, "POST", "/v1/killswitch/trip", `{"reason":"operator: leak suspected"}`)
	if !st.Tripped || st.Reason != "operator: leak suspected" {
		t.Fatalf("trip answered %+v", st)
	}
	_, err = f.guard.Check(ctx, trade("main", limit("BTCUSDT", exchange.Buy, "100", "1")))
	if !errors.Is(err, ErrKillSwitch) {
		t.Fatalf("the next trade = %v, want ErrKillSwitch", err)
	}
	if st := controlCall(t, c, "POST", "/v1/killswitch/reset", ""); st.Tripped {
		t.Fatal("reset answered tripped")
	}
	f.mustAllow(trade("main", limit("BTCUSDT", exchange.Buy, "100", "1")))

	req, _ := http.NewRequest("POST", "http://guard/v1/killswitch/trip", strings.NewReader(`{"reasn":"typo"}`))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("an unknown field answered %d, want 400", resp.StatusCode)
	}
	if tripped, _ := f.guard.Tripped(ctx); tripped {
		t.Error("a refused request tripped the switch")
	}

	if err := cs.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := net.Dial("unix", ControlSocket(statePath)); err == nil {
		t.Error("the socket still answers after Close")
	}
}

// TestExistingStateCreatesNothing: a tool that reads state does not create
// it at a mistyped path.
func TestExistingStateCreatesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "limit.state")
	_, err := OpenFileStore(path, ExistingState())
	if !errors.Is(err, ErrStateNotFound) || !strings.Contains(err.Error(), "check the path") {
		t.Fatalf("err = %v, want ErrStateNotFound with a fix", err)
	}
	if _, err := OpenFileStore(path, ExistingState()); !errors.Is(err, ErrStateNotFound) {
		t.Fatal("the first attempt created the file")
	}
}
