package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/limits"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Attack: eight `keyfence keys add` run at once. Every one says "added",
// so every key must be there.
func TestKeysAddConcurrent(t *testing.T) {
	c, _ := newCLI(t)
	require.Equal(t, 0, c.run("", "keys", "init").code)
	results := make([]result, 8)
	var wg sync.WaitGroup
	for i := range results {
		ci := &cli{t: t, env: c.env}
		wg.Go(func() {
			results[i] = ci.run(fmt.Sprintf("secret-%d\n", i), "keys", "add", "--name", fmt.Sprintf("k%d", i), "--venue", "binance", "--api-key", fmt.Sprintf("API%d", i))
		})
	}
	wg.Wait()
	for i, r := range results {
		require.Equal(t, 0, r.code, "add %d: %s", i, r.stderr)
		require.Contains(t, r.stdout, "added")
	}
	r := c.run("", "keys", "list")
	require.Equal(t, 0, r.code, r.stderr)
	for i := range results {
		assert.Regexp(t, fmt.Sprintf(`k%d\s+binance\s+API%d`, i, i), r.stdout)
	}
}

// Attack: the keystore replaced by an older copy, after the operator
// removed a key. The state the removal was recorded in refuses it.
func TestRequestRefusesOlderKeystore(t *testing.T) {
	c := docKeystore(t)
	dir := filepath.Dir(c.env["KEYFENCE_KEYSTORE"])
	state := filepath.Join(dir, "limits.state")
	ks := c.env["KEYFENCE_KEYSTORE"]
	r := c.run("", "request", "--key", "bn", "--dry-run", "GET", "/api/v3/account")
	require.Equal(t, 0, r.code, r.stderr)
	old, err := os.ReadFile(ks)
	require.NoError(t, err)
	r = c.run("", "keys", "remove", "--name", "bn", "--state", state)
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "keystore generation 3")
	require.NoError(t, os.WriteFile(ks+".old", old, 0o600))
	require.NoError(t, os.Rename(ks+".old", ks))
	r = c.run("", "request", "--key", "bn", "--dry-run", "GET", "/api/v3/account")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "older generation")
	assert.Contains(t, r.stderr, "restore the newest copy")
	assert.Empty(t, r.stdout)
}

// Attack: the limits state deleted. The next run refuses, says how to
// rebuild it, and the rebuild leaves trading halted.
func TestRequestRefusesDeletedState(t *testing.T) {
	c := docKeystore(t)
	dir := filepath.Dir(c.env["KEYFENCE_KEYSTORE"])
	state, auditPath := filepath.Join(dir, "limits.state"), filepath.Join(dir, "audit.jsonl")
	r := c.run("", "request", "--key", "bn", "--dry-run", "GET", "/api/v3/account")
	require.Equal(t, 0, r.code, r.stderr)
	// An order the bot placed, as the audit log records it.
	l, err := audit.Open(context.Background(), auditPath)
	require.NoError(t, err)
	require.NoError(t, l.Append(context.Background(), &audit.Record{Credential: "bn", Venue: "binance", Class: "trade", Route: "POST /api/v3/order", Decision: audit.Allow}))
	require.NoError(t, l.Close())
	require.NoError(t, os.Remove(state))

	r = c.run("", "request", "--key", "bn", "--dry-run", "GET", "/api/v3/account")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "state file is missing")
	assert.Contains(t, r.stderr, "keyfence state rebuild")
	_, err = os.Stat(state)
	require.ErrorIs(t, err, os.ErrNotExist, "a refused run must not create a fresh state")

	r = c.run("", "state", "rebuild", "--state", state, "--audit", auditPath)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "kill switch tripped")
	store, err := limits.OpenFileStore(state)
	require.NoError(t, err)
	defer store.Close()
	ks, err := store.KillSwitch(context.Background())
	require.NoError(t, err)
	assert.True(t, ks.Tripped, "a rebuilt state halts trading until reconciled")
}

// Attack: one record removed from the middle of a keyed log and the rest
// re-chained with the library; and a log cut at its end checked with no
// key and no head.
func TestAuditVerifyKey(t *testing.T) {
	c := docKeystore(t)
	dir := filepath.Dir(c.env["KEYFENCE_KEYSTORE"])
	auditPath := filepath.Join(dir, "audit.jsonl")
	r := c.run("", "audit", "keygen", "--key", "chain")
	require.Equal(t, 0, r.code, r.stderr)
	for range 4 {
		r = c.run("", "request", "--key", "bn", "--audit-key", "chain", "--dry-run", "GET", "/api/v3/account")
		require.Equal(t, 0, r.code, r.stderr)
	}
	// Unkeyed, the request refuses to append to a keyed log.
	r = c.run("", "request", "--key", "bn", "--dry-run", "GET", "/api/v3/account")
	require.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "keyed")

	r = c.run("", "audit", "verify", "--key", "chain", auditPath)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "ok: 4 records")
	assert.Contains(t, r.stdout, "MAC checked with chain")
	assert.Contains(t, r.stderr, "cut from the end")

	// Remove record 2 and re-chain the rest with the library.
	f, err := os.Open(auditPath)
	require.NoError(t, err)
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	f.Close()
	chain, err := audit.NewChain(audit.Anchor{})
	require.NoError(t, err)
	var out strings.Builder
	for i, line := range lines {
		if i == 1 {
			continue
		}
		var rec audit.Record
		require.NoError(t, jsonUnmarshal(line, &rec))
		rec.Seq, rec.Prev, rec.Hash = 0, audit.Digest{}, audit.Digest{}
		mac := rec.MAC
		require.NoError(t, chain.Append(context.Background(), &rec))
		rec.MAC = mac
		out.WriteString(jsonMarshal(t, rec) + "\n")
	}
	require.NoError(t, os.WriteFile(auditPath, []byte(out.String()), 0o600))

	r = c.run("", "audit", "verify", auditPath)
	require.Equal(t, 0, r.code, "without the key the forgery is consistent: %s", r.stderr)
	assert.Contains(t, r.stderr, "warning: no --key and no --head")
	assert.Contains(t, r.stderr, "cannot tell whether records were cut from its end")
	assert.Contains(t, r.stderr, "pass --key NAME")
	r = c.run("", "audit", "verify", "--key", "chain", auditPath)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "MAC does not match")
}

// A truncated log verified against the state's audit head fails; without
// a key or a head it is reported as unverifiable for truncation.
func TestAuditVerifyTruncated(t *testing.T) {
	c := docKeystore(t)
	dir := filepath.Dir(c.env["KEYFENCE_KEYSTORE"])
	state, auditPath := filepath.Join(dir, "limits.state"), filepath.Join(dir, "audit.jsonl")
	for range 3 {
		r := c.run("", "request", "--key", "bn", "--dry-run", "GET", "/api/v3/account")
		require.Equal(t, 0, r.code, r.stderr)
	}
	b, err := os.ReadFile(auditPath)
	require.NoError(t, err)
	lines := strings.SplitAfter(string(b), "\n")
	require.NoError(t, os.WriteFile(auditPath, []byte(lines[0]), 0o600))

	r := c.run("", "audit", "verify", auditPath)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stderr, "cannot tell whether records were cut from its end")
	r = c.run("", "audit", "verify", "--state", state, auditPath)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "records were removed from the end")
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

func jsonMarshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}
