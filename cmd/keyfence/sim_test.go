package main

import (
	"bufio"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// buildCLI builds the keyfence binary once per test.
func buildCLI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "keyfence")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	return bin
}

// TestSimProcess runs `keyfence sim` as a process: it prints one line per
// venue once it listens, answers on that address, and exits 0 on SIGINT.
func TestSimProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildCLI(t)
	cmd := exec.Command(bin, "sim", "--venue", "binance", "--listen", "127.0.0.1:0",
		"--key", "KEY1:secret-one", "--price", "BTCUSDT=42000")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	m := regexp.MustCompile(`^binance (http://127\.0\.0\.1:\d+)\n$`).FindStringSubmatch(line)
	require.NotNil(t, m, "got %q", line)

	resp, err := http.Get(m[1] + "/api/v3/ticker/price?symbol=BTCUSDT")
	require.NoError(t, err)
	defer resp.Body.Close()
	var b [256]byte
	n, _ := resp.Body.Read(b[:])
	assert.Contains(t, string(b[:n]), `"42000`)

	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	require.NoError(t, cmd.Wait(), "sim exits 0 when interrupted")
}

func TestSimUsage(t *testing.T) {
	c := &cli{t: t, env: map[string]string{}}
	for _, args := range [][]string{
		{"sim", "--venue", "nowhere"},
		{"sim", "--listen", "nonsense"},
		{"sim", "--venue", "binance", "--key", "nocolon"},
		{"sim", "--venue", "binance", "--price", "BTCUSDT=-1"},
		{"sim", "--venue", "binance", "--price", "NOSUCH=1"},
		{"sim", "extra"},
	} {
		r := c.run("", args...)
		assert.Equal(t, 2, r.code, "%q: %s", args, r.stderr)
	}
}

// TestSimAllVenues starts every simulated venue: one line each, in order,
// and a KuCoin-format key is accepted by KuCoin only.
func TestSimAllVenues(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildCLI(t)
	cmd := exec.Command(bin, "sim", "--key", "KC1:kc-secret:kc-pass", "--key", "binance=BN1:bn-secret")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	rd := bufio.NewReader(stdout)
	for _, venue := range []string{"binance", "coinbase", "kucoin"} {
		line, err := rd.ReadString('\n')
		require.NoError(t, err)
		assert.Regexp(t, `^`+venue+` http://127\.0\.0\.1:\d+\n$`, line)
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	require.NoError(t, cmd.Wait())
}
