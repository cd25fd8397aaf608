package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHelpEveryCommand: every command answers -h, --help and 'keyfence
// help CMD' with its usage on standard output and exit status 0.
func TestHelpEveryCommand(t *testing.T) {
	c := &cli{t: t}
	for _, sub := range subcommands {
		cmd := sub[0]
		if cmd == "help" {
			continue
		}
		want := commandUsage(cmd)
		if !assert.NotEmpty(t, want, cmd) {
			continue
		}
		for _, args := range [][]string{{cmd, "-h"}, {cmd, "--help"}, {"help", cmd}} {
			r := c.run("", args...)
			assert.Equal(t, 0, r.code, "%v: stderr %q", args, r.stderr)
			assert.Contains(t, r.stdout, want, "%v", args)
		}
	}
	r := c.run("", "help", "nope")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, `unknown command "nope"`)
}

// TestHelpSubcommandFlags: a subcommand's -h lists its flags and exits 0.
func TestHelpSubcommandFlags(t *testing.T) {
	c := &cli{t: t}
	for _, args := range [][]string{{"keys", "add", "-h"}, {"killswitch", "status", "-h"}, {"audit", "verify", "-h"}} {
		r := c.run("", args...)
		assert.Equal(t, 0, r.code, "%v", args)
		assert.Contains(t, r.stderr, "usage of keyfence", "%v", args)
	}
}

func TestVersionLine(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/keyfence/keyfence", Version: "v0.2.0"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "true"}}}
	assert.Equal(t, "keyfence v0.2.0 (commit 0123456789ab, modified) go1.26.0", versionLine(bi))
	bi = &debug.BuildInfo{GoVersion: "go1.26.0"}
	assert.Equal(t, "keyfence (devel) go1.26.0", versionLine(bi))

	r := (&cli{t: t}).run("", "version")
	assert.Equal(t, 0, r.code)
	assert.True(t, strings.HasPrefix(r.stdout, "keyfence "), r.stdout)
	assert.Equal(t, 2, (&cli{t: t}).run("", "version", "extra").code)
}

// TestCompletionBash runs the generated script in a real bash and asks it
// to complete, as the shell would.
func TestCompletionBash(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed")
	}
	r := (&cli{t: t}).run("", "completion", "bash")
	require.Equal(t, 0, r.code, r.stderr)
	script := filepath.Join(t.TempDir(), "kf.bash")
	require.NoError(t, os.WriteFile(script, []byte(r.stdout), 0o600))
	complete := func(words ...string) string {
		t.Helper()
		cmd := fmt.Sprintf(`source %q; COMP_WORDS=(%s); COMP_CWORD=%d; _keyfence; echo "${COMPREPLY[*]}"`,
			script, strings.Join(words, " "), len(words)-1)
		out, err := exec.Command(bash, "--norc", "-c", cmd).CombinedOutput()
		require.NoError(t, err, string(out))
		return strings.TrimSpace(string(out))
	}
	assert.Equal(t, "keys killswitch", complete("keyfence", "k"))
	assert.Equal(t, "trip", complete("keyfence", "killswitch", "t"))
	assert.Equal(t, "init", complete("keyfence", "keys", "i"))
	r = (&cli{t: t}).run("", "completion", "zsh")
	assert.Equal(t, 0, r.code)
	assert.True(t, strings.HasPrefix(r.stdout, "#compdef keyfence"))
	assert.Equal(t, 2, (&cli{t: t}).run("", "completion", "fish").code)
}
