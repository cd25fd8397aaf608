package main

import (
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestHelpEveryCommand: every command answers -h, --help and 'keyfence
// help CMD' with its usage on standard output and exit status 0.
func TestHelpEveryCommand(t *testing.T) {
	c := &cli{t: t}
	for _, cmd := range []string{"keys", "policy", "audit", "request", "killswitch", "sim", "version"} {
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
