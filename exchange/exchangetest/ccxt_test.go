package exchangetest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The CCXT conformance tests run a real client, CCXT (the version pinned in
// testdata/ccxt/package-lock.json, installed there by `npm ci`), against a
// simulated venue with only its urls.api retargeted. Each script in
// testdata/ccxt prints one JSON object per line on stdout:
//
//	{"step": "fetchBalance", "ok": true, "data": {...}}
//	{"step": "wrongSecret", "ok": false, "error": "...", "errorClass": "AuthenticationError"}
//
// Scripts read their configuration (base URL, API keys, secrets) from the
// environment, never from argv, so that no secret shows in ps.

// ccxtDir is where the CCXT scripts and their node_modules live.
const ccxtDir = "testdata/ccxt"

// ccxtTimeout bounds one script run.
const ccxtTimeout = 3 * time.Minute

// ccxtStep is one line of a CCXT script's output.
type ccxtStep struct {
	Step       string          `json:"step"`
	OK         bool            `json:"ok"`
	Error      string          `json:"error,omitempty"`
	ErrorClass string          `json:"errorClass,omitempty"`
	Data       json.RawMessage `json:"data,omitempty"`
}

// requireIntegration reports whether a missing integration component must
// fail the test instead of skipping it.
func requireIntegration() bool { return os.Getenv("KEYFENCE_REQUIRE_INTEGRATION") == "1" }

// skipOrFail skips t with msg, or fails it when KEYFENCE_REQUIRE_INTEGRATION=1.
func skipOrFail(t *testing.T, msg string) {
	t.Helper()
	if requireIntegration() {
		t.Fatalf("%s (KEYFENCE_REQUIRE_INTEGRATION=1)", msg)
	}
	t.Skip(msg)
}

// ccxtNode returns the node binary, or skips (fails under
// KEYFENCE_REQUIRE_INTEGRATION=1) when node or CCXT is not installed.
func ccxtNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		skipOrFail(t, "CCXT test: node is not installed; install Node.js, then run `npm ci` in exchange/exchangetest/testdata/ccxt")
	}
	if _, err := os.Stat(filepath.Join(ccxtDir, "node_modules", "ccxt", "package.json")); err != nil {
		skipOrFail(t, "CCXT test: CCXT is not installed; run `npm ci` in exchange/exchangetest/testdata/ccxt")
	}
	return node
}

// runCCXT runs `node testdata/ccxt/<script>` with env added to a minimal
// environment, waits at most ccxtTimeout, and returns the steps it
// printed. It fails the test when the script exits non-zero, times out or
// prints a line that is not a step; it skips (or fails under
// KEYFENCE_REQUIRE_INTEGRATION=1) when node or CCXT is missing.
func runCCXT(t *testing.T, script string, env map[string]string) []ccxtStep {
	t.Helper()
	node := ccxtNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), ccxtTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Dir = ccxtDir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "NODE_NO_WARNINGS=1"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	steps, perr := parseCCXTSteps(stdout.Bytes())
	for _, s := range steps {
		t.Logf("ccxt %s: ok=%v %s %s", s.Step, s.OK, s.ErrorClass, s.Error)
	}
	if ctx.Err() != nil {
		t.Fatalf("node %s: timed out after %v; stderr:\n%s", script, ccxtTimeout, stderr.String())
	}
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("node %s exited with %d; stderr:\n%s\nstdout:\n%s", script, ee.ExitCode(), stderr.String(), stdout.String())
		}
		t.Fatalf("node %s: %v", script, err)
	}
	if perr != nil {
		t.Fatalf("node %s: %v; stdout:\n%s", script, perr, stdout.String())
	}
	return steps
}

// parseCCXTSteps reads one JSON step per non-empty line.
func parseCCXTSteps(out []byte) ([]ccxtStep, error) {
	var steps []ccxtStep
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var s ccxtStep
		if err := json.Unmarshal([]byte(line), &s); err != nil || s.Step == "" {
			return steps, errors.New("a line of output is not a JSON step: " + line)
		}
		steps = append(steps, s)
	}
	return steps, sc.Err()
}

// ccxtStepNamed returns the step called name, failing the test when the
// script did not print it.
func ccxtStepNamed(t *testing.T, steps []ccxtStep, name string) ccxtStep {
	t.Helper()
	for _, s := range steps {
		if s.Step == name {
			return s
		}
	}
	t.Fatalf("the CCXT script printed no step %q", name)
	return ccxtStep{}
}

// requireCCXTOK fails the test unless every step is ok, naming each failure.
func requireCCXTOK(t *testing.T, steps []ccxtStep, except ...string) {
	t.Helper()
	skip := map[string]bool{}
	for _, e := range except {
		skip[e] = true
	}
	failed := false
	for _, s := range steps {
		if !s.OK && !skip[s.Step] {
			t.Errorf("ccxt step %s failed: %s: %s", s.Step, s.ErrorClass, s.Error)
			failed = true
		}
	}
	if failed {
		t.FailNow()
	}
}

func TestParseCCXTSteps(t *testing.T) {
	steps, err := parseCCXTSteps([]byte("{\"step\":\"a\",\"ok\":true,\"data\":{\"x\":1}}\n\n{\"step\":\"b\",\"ok\":false,\"error\":\"no\",\"errorClass\":\"AuthenticationError\"}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 2 || !steps[0].OK || steps[1].OK || steps[1].ErrorClass != "AuthenticationError" || string(steps[0].Data) != `{"x":1}` {
		t.Fatalf("parsed %+v", steps)
	}
	if _, err := parseCCXTSteps([]byte("not json\n")); err == nil {
		t.Fatal("a line that is not JSON was accepted")
	}
	if _, err := parseCCXTSteps([]byte("{\"ok\":true}\n")); err == nil {
		t.Fatal("a line without a step was accepted")
	}
}
