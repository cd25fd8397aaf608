package main

import (
	"os"
	"path/filepath"
	"testing"

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
		return append([]string{"killswitch", op, "--state", state, "--policy", policy}, more...)
	}
	r := c.run("", args("status")...)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "not tripped")

	r = c.run("", args("trip", "--reason", "leaked key suspected")...)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "TRIPPED")
	// The state persists: a new process sees the switch tripped.
	r = c.run("", args("status")...)
	assert.Contains(t, r.stdout, "leaked key suspected")

	r = c.run("", args("reset")...)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "not tripped")

	assert.Equal(t, 2, c.run("", "killswitch").code)
	assert.Equal(t, 2, c.run("", "killswitch", "flip", "--state", state, "--policy", policy).code)
	assert.Equal(t, 2, c.run("", "killswitch", "status").code)
}
