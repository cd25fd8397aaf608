package unixsock

import (
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestListenModeAndPeer(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("SO_PEERCRED is Linux's")
	}
	path := filepath.Join(t.TempDir(), "s")
	l, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want 0600", st.Mode().Perm())
	}
	go func() {
		c, err := net.Dial("unix", path)
		if err == nil {
			c.Write([]byte("x"))
			c.Close()
		}
	}()
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	uid, err := PeerUID(c)
	c.Close()
	if err != nil || uid != os.Getuid() {
		t.Errorf("PeerUID = %d, %v; want %d", uid, err, os.Getuid())
	}
}

// A peer whose uid is not allowed is closed without being handed out.
func TestListenRefusesOtherUID(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("SO_PEERCRED is Linux's")
	}
	path := filepath.Join(t.TempDir(), "s")
	raw, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	pl := raw.(*peerListener)
	pl.allowed = []int{os.Getuid() + 1} // as if the peer were another user
	done := make(chan error, 1)
	go func() {
		c, err := pl.Accept()
		if err == nil {
			c.Close()
		}
		done <- err
	}()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1)
	if _, err := c.Read(buf); err == nil {
		t.Error("the refused connection is still open")
	}
	c.Close()
	raw.Close()
	if err := <-done; err == nil {
		t.Error("Accept handed out a connection from a refused uid")
	}
}

func TestListenRefusesAFileThatIsNotASocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	if err := os.WriteFile(path, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(path); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("Listen over a file = %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "keep me" {
		t.Error("the file was touched")
	}
	if _, err := Listen(strings.Repeat("x", MaxPath+1)); err == nil {
		t.Error("an over-long path was accepted")
	}
}
