package main

import (
	"fmt"
	"runtime/debug"
)

const versionUsage = "usage: keyfence version"

// versionCmd prints the module version and the VCS revision the binary was
// built from, as the Go toolchain recorded them in the build info.
func versionCmd(args []string, e *env) error {
	if len(args) > 0 {
		return usagef("%s", versionUsage)
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		fmt.Fprintln(e.stdout, "keyfence (no build information)")
		return nil
	}
	fmt.Fprintln(e.stdout, versionLine(bi))
	return nil
}

// versionLine formats the version, the commit and the Go version of bi:
// "keyfence v0.2.0 (commit 1a2b3c4d5e6f, modified) go1.26.0". A binary
// built from a work tree has version "(devel)".
func versionLine(bi *debug.BuildInfo) string {
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = ", modified"
			}
		}
	}
	line := "keyfence " + v
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		line += " (commit " + rev + modified + ")"
	}
	return line + " " + bi.GoVersion
}
