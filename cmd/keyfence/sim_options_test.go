package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startSimCmd runs `keyfence sim` in-process with environ and args, waits
// for its address lines and returns the venues' URLs and its stderr. The
// simulator stops when the test ends.
func startSimCmd(t *testing.T, environ map[string]string, venues int, args ...string) (map[string]string, *syncBuffer) {
	t.Helper()
	pr, pw := io.Pipe()
	stderr := &syncBuffer{}
	e := &env{stdin: strings.NewReader(""), stdout: pw, stderr: stderr,
		getenv: func(k string) string { return environ[k] }, isTerminal: func() bool { return false }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		err := simCmd(ctx, append([]string{"--listen", "127.0.0.1:0"}, args...), e)
		pw.CloseWithError(io.EOF)
		done <- err
	}()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	urls := map[string]string{}
	rd := bufio.NewReader(pr)
	for range venues {
		line, err := rd.ReadString('\n')
		require.NoError(t, err, "stderr: %s", stderr.String())
		name, u, _ := strings.Cut(strings.TrimSpace(line), " ")
		urls[name] = u
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	return urls, stderr
}

// signedGet sends a signed Binance GET with an HMAC key.
func signedGet(t *testing.T, base, path, apiKey, secret string) (int, []byte) {
	t.Helper()
	q := "timestamp=" + strconv.FormatInt(time.Now().UnixMilli(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(q))
	req, err := http.NewRequest(http.MethodGet, base+path+"?"+q+"&signature="+hex.EncodeToString(m.Sum(nil)), nil)
	require.NoError(t, err)
	req.Header.Set("X-MBX-APIKEY", apiKey)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

// Keys reach `keyfence sim` from a private file and from the environment,
// and a secret on the command line draws a warning.
func TestSimKeysOffArgv(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "keys")
	require.NoError(t, os.WriteFile(file, []byte("# bots\nFILEKEY:file-secret-canary\n\n"), 0o600))
	urls, stderr := startSimCmd(t, map[string]string{simKeysEnv: "ENVKEY:env-secret-canary\n"}, 1,
		"--venue", "binance", "--key-file", file)
	require.Empty(t, stderr.String(), "no warning when no secret is on the command line")
	for key, secret := range map[string]string{"FILEKEY": "file-secret-canary", "ENVKEY": "env-secret-canary"} {
		status, body := signedGet(t, urls["binance"], "/api/v3/account", key, secret)
		require.Equal(t, http.StatusOK, status, "%s: %s", key, body)
	}

	_, stderr = startSimCmd(t, nil, 1, "--venue", "binance", "--key", "ARGKEY:arg-secret-canary")
	require.Contains(t, stderr.String(), "shows in ps")
	require.NotContains(t, stderr.String(), "arg-secret-canary")

	// A key file others can read is refused, without quoting it.
	loose := filepath.Join(dir, "loose")
	require.NoError(t, os.WriteFile(loose, []byte("LOOSE:loose-secret-canary\n"), 0o644))
	c := &cli{t: t, env: map[string]string{}}
	r := c.run("", "sim", "--venue", "binance", "--key-file", loose)
	require.Equal(t, 2, r.code, r.stderr)
	require.Contains(t, r.stderr, "readable by group or others")
	require.NotContains(t, r.stderr, "loose-secret-canary")
}

// --testnet serves no /sapi; --no-rate-limits advertises limits no client
// reaches; --latency delays every answer; --drift moves the price.
func TestSimMeasurementAndTestnetFlags(t *testing.T) {
	urls, _ := startSimCmd(t, nil, 1, "--venue", "binance", "--testnet", "--no-rate-limits",
		"--latency", "50ms", "--drift", "0.01", "--drift-every", "1ms", "--seed", "7")
	base := urls["binance"]

	start := time.Now()
	resp, err := http.Get(base + "/api/v3/exchangeInfo?symbol=BTCUSDT")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond, "--latency delays the answer")
	var info struct {
		RateLimits []struct {
			Limit int `json:"limit"`
		} `json:"rateLimits"`
	}
	require.NoError(t, json.Unmarshal(body, &info))
	require.NotEmpty(t, info.RateLimits)
	for _, l := range info.RateLimits {
		require.GreaterOrEqual(t, l.Limit, 1_000_000_000)
	}

	resp, err = http.Get(base + "/sapi/v1/system/status")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp, err = http.Get(base + "/sapi/v1/capital/config/getall")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "the testnet serves no /sapi")

	// The drift moves BTCUSDT off its starting price within a few steps.
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(base + "/api/v3/ticker/price?symbol=BTCUSDT")
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), `"50000.00000000"`) {
			break
		}
		require.True(t, time.Now().Before(deadline), "the price did not drift: %s", b)
	}
}

func TestSimBadMeasurementFlags(t *testing.T) {
	c := &cli{t: t, env: map[string]string{}}
	for _, args := range [][]string{
		{"sim", "--venue", "binance", "--drift", "-0.1"},
		{"sim", "--venue", "binance", "--drift", "0.5"},
		{"sim", "--venue", "binance", "--drift", "abc"},
		{"sim", "--venue", "binance", "--drift", "0.001", "--drift-every", "0s"},
		{"sim", "--venue", "binance", "--latency", "-1s"},
	} {
		r := c.run("", args...)
		require.Equal(t, 2, r.code, "%q: %s", args, r.stderr)
	}
}
