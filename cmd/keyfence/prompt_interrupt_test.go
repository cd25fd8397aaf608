//go:build linux

package main

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPromptCtrlCExits130 runs keyfence at a passphrase prompt on a real
// terminal (a pseudo-terminal from util-linux's script) and types Ctrl-C:
// the terminal turns it into SIGINT, and keyfence exits at once with 130,
// saying it was interrupted.
func TestPromptCtrlCExits130(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs keyfence on a pseudo-terminal")
	}
	scriptBin, err := exec.LookPath("script")
	if err != nil {
		t.Skip("util-linux's script is not installed; it provides the pseudo-terminal")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "keyfence")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(scriptBin, "-qec", bin+" keys init --keystore "+filepath.Join(dir, "k.kfs"), "/dev/null")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TERM=dumb"}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(2*time.Minute, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	var out strings.Builder
	r := bufio.NewReader(stdout)
	buf := make([]byte, 256)
	sent := false
	for {
		n, err := r.Read(buf)
		out.Write(buf[:n])
		if !sent && strings.Contains(out.String(), "passphrase: ") {
			if _, err := stdin.Write([]byte{3}); err != nil { // Ctrl-C
				t.Fatal(err)
			}
			sent = true
		}
		if err == io.EOF || (err != nil && sent) {
			break
		}
		if err != nil {
			t.Fatalf("reading: %v\n%s", err, out.String())
		}
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !sent || !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("exit %v (Ctrl-C sent: %v), want status 130\n%q", err, sent, out.String())
	}
	if !strings.Contains(out.String(), "interrupted") {
		t.Errorf("no word of the interruption: %q", out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "k.kfs")); !os.IsNotExist(err) {
		t.Error("an interrupted init left a keystore behind")
	}
}
