package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/keyfence/keyfence/limits"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestKillswitch(t *testing.T) {
	c := &cli{t: t, env: map[string]string{}}
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy.yaml")
	require.NoError(t, os.WriteFile(policy, []byte("version: 1\ncredentials:\n  bot:\n    venue: binance\n    allow: [read]\n"), 0o600))
	state := filepath.Join(dir, "limits.state")
	args := func(op string, more ...string) []string {
		return append([]string{"killswitch", op, "--state", state}, more...)
	}
	// Before the guard first ran there is no state: only --init creates it.
	r := c.run("", args("status")...)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "no state file")
	r = c.run("", args("trip", "--init", "--reason", "leaked key suspected")...)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "TRIPPED")
	// The state persists: a new process sees the switch tripped, without a policy.
	r = c.run("", args("status")...)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "leaked key suspected")

	r = c.run("", args("reset", "--policy", policy)...)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "not tripped")
	require.Equal(t, 0, c.run("", args("trip")...).code)
	r = c.run("", args("reset")...)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "not tripped")

	assert.Equal(t, 2, c.run("", "killswitch").code)
	assert.Equal(t, 2, c.run("", "killswitch", "flip", "--state", state).code)
	assert.Equal(t, 2, c.run("", "killswitch", "status").code)
	assert.Equal(t, 2, c.run("", "killswitch", "status", "--state", state, "--admin", "x").code)
}

// TestKillswitchTypoCreatesNothing: a mistyped --state is an error, and
// no file appears there; the real state is untouched.
func TestKillswitchTypoCreatesNothing(t *testing.T) {
	c := &cli{t: t, env: map[string]string{}}
	dir := t.TempDir()
	for _, op := range []string{"status", "trip", "reset"} {
		typo := filepath.Join(dir, "limit.state")
		r := c.run("", "killswitch", op, "--state", typo)
		assert.Equal(t, 1, r.code, op)
		assert.Contains(t, r.stderr, "check the path", op)
		assert.NotContains(t, r.stdout, "TRIPPED", op)
		_, err := os.Stat(typo)
		assert.True(t, os.IsNotExist(err), "%s created %s", op, typo)
	}
}

// TestKillswitchRunningBot: while a bot's guard holds the state file, the
// CLI trips and resets it through the control socket the bot serves
// beside the file, and the running guard refuses trades at once.
func TestKillswitchRunningBot(t *testing.T) {
	ctx := context.Background()
	c := &cli{t: t, env: map[string]string{}}
	state := filepath.Join(t.TempDir(), "limits.state")
	store, err := limits.OpenFileStore(state)
	require.NoError(t, err)
	defer store.Close()
	policy, err := limits.ParsePolicy([]byte("version: 1\ncredentials:\n  bot:\n    venue: binance\n    allow: [read]\n"))
	require.NoError(t, err)
	guard, err := limits.NewGuard(policy, store)
	require.NoError(t, err)

	// Without a socket the CLI says what to do.
	r := c.run("", "killswitch", "trip", "--state", state)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "serves no control socket")

	cs, err := limits.ServeControl(limits.ControlSocket(state), guard, nil)
	require.NoError(t, err)
	defer cs.Close(ctx)
	r = c.run("", "killswitch", "trip", "--state", state, "--reason", "operator")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "TRIPPED")
	tripped, reason := guard.Tripped(ctx)
	assert.True(t, tripped)
	assert.Equal(t, "operator", reason)

	r = c.run("", "killswitch", "status", "--admin", limits.ControlSocket(state))
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "operator")
	r = c.run("", "killswitch", "reset", "--state", state)
	require.Equal(t, 0, r.code, r.stderr)
	tripped, _ = guard.Tripped(ctx)
	assert.False(t, tripped)

	r = c.run("", "killswitch", "status", "--admin", filepath.Join(t.TempDir(), "nope.ctl"))
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "is the guard or gateway running")
}

// TestReconcileCreatesNoState: reconcile acts on the guard's state and
// never creates one at a mistyped path.
func TestReconcileCreatesNoState(t *testing.T) {
	c, ksPath := newCLI(t)
	require.Equal(t, 0, c.run("", "keys", "init").code)
	require.Equal(t, 0, c.run("s\n", "keys", "add", "--name", "bot", "--venue", "binance", "--api-key", "K").code)
	typo := filepath.Join(filepath.Dir(ksPath), "limit.state")
	r := c.run("", "reconcile", "--key", "bot", "--state", typo, "--venue-url", "http://127.0.0.1:1")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "check the path")
	_, err := os.Stat(typo)
	assert.True(t, os.IsNotExist(err), "reconcile created %s", typo)
}
