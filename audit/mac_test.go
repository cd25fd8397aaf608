package audit_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/signer"
)

func macSigner(t testing.TB, name string) *signer.Memory {
	t.Helper()
	m := signer.NewMemory()
	t.Cleanup(func() { m.Close() })
	key := bytes.Repeat([]byte{0x5a}, 32)
	if err := m.Import(signer.KeyInfo{Name: name, Venue: "keyfence", APIKey: "audit", Type: signer.KeyHMAC}, key, nil); err != nil {
		t.Fatal(err)
	}
	return m
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.SplitAfter(strings.TrimSuffix(string(b), "\n"), "\n")
}

// rechain removes record drop (1-based) from the log at path and re-links
// the rest with the library, as an attacker with write access to the file
// but not to the MAC key would.
func rechain(t *testing.T, path string, drop int) {
	t.Helper()
	c, err := audit.NewChain(audit.Anchor{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	sc := bufio.NewScanner(strings.NewReader(strings.Join(readLines(t, path), "")))
	for i := 1; sc.Scan(); i++ {
		if i == drop {
			continue
		}
		var r audit.Record
		if err := jsonUnmarshal(sc.Text(), &r); err != nil {
			t.Fatal(err)
		}
		mac := r.MAC
		r.Seq, r.Prev, r.Hash, r.MAC = 0, audit.Digest{}, audit.Digest{}, audit.Digest{}
		if err := c.Append(context.Background(), &r); err != nil {
			t.Fatal(err)
		}
		r.MAC = mac // keep the old MAC: the forger cannot make a new one
		out.WriteString(jsonMarshal(t, r) + "\n")
	}
	if err := os.WriteFile(path, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Attack: one record removed from the middle of the log and the rest
// re-chained with the library. The unkeyed chain cannot tell; the keyed
// one must.
func TestKeyedChainDetectsRechainedRemoval(t *testing.T) {
	ctx := context.Background()
	key := audit.MACKey{Signer: macSigner(t, "audit-mac"), Name: "audit-mac"}
	path, l := openLog(t, audit.WithMACKey(key))
	appendN(t, l, 0, 6)
	l.Close()
	files := mustFiles(t, path)
	v := audit.Verifier{Key: &key}
	rep, err := v.VerifyFiles(ctx, files...)
	if err != nil || rep.Records != 6 || rep.MACs != 6 {
		t.Fatalf("intact keyed log: %+v, %v", rep, err)
	}

	rechain(t, path, 3)
	// Without the key the forgery is consistent with itself.
	if _, err := audit.VerifyFiles(ctx, files...); err != nil {
		t.Fatalf("unkeyed verify of the re-chained log: %v (it should pass: the chain alone has no key)", err)
	}
	_, err = v.VerifyFiles(ctx, files...)
	var ce *audit.ChainError
	if !errors.Is(err, audit.ErrMAC) || !errors.Is(err, audit.ErrBroken) || !errors.As(err, &ce) || ce.Seq != 3 {
		t.Fatalf("keyed verify of the re-chained log = %v, want ErrMAC at seq 3", err)
	}
	// Nor does the Log append to it.
	if _, err := audit.Open(ctx, path, audit.WithMACKey(key)); !errors.Is(err, audit.ErrMAC) {
		t.Fatalf("Open of the re-chained log = %v, want ErrMAC", err)
	}
}

// Stripping the MACs does not help the forger: a keyed verify wants one on
// every record.
func TestKeyedChainRefusesRecordsWithoutMAC(t *testing.T) {
	ctx := context.Background()
	key := audit.MACKey{Signer: macSigner(t, "k"), Name: "k"}
	path, l := openLog(t)
	appendN(t, l, 0, 3)
	l.Close()
	v := audit.Verifier{Key: &key}
	if _, err := v.VerifyFiles(ctx, path); !errors.Is(err, audit.ErrMAC) {
		t.Fatalf("keyed verify of an unkeyed log = %v, want ErrMAC", err)
	}
	if _, err := audit.Open(ctx, path, audit.WithMACKey(key)); !errors.Is(err, audit.ErrMAC) {
		t.Fatalf("keyed Open of an unkeyed log = %v, want ErrMAC", err)
	}
}

// Another key does not verify the chain.
func TestKeyedChainOtherKey(t *testing.T) {
	ctx := context.Background()
	key := audit.MACKey{Signer: macSigner(t, "k"), Name: "k"}
	path, l := openLog(t, audit.WithMACKey(key))
	appendN(t, l, 0, 2)
	l.Close()
	other := signer.NewMemory()
	defer other.Close()
	if err := other.Import(signer.KeyInfo{Name: "k", Venue: "keyfence", APIKey: "audit", Type: signer.KeyHMAC}, bytes.Repeat([]byte{1}, 32), nil); err != nil {
		t.Fatal(err)
	}
	v := audit.Verifier{Key: &audit.MACKey{Signer: other, Name: "k"}}
	if _, err := v.VerifyFiles(ctx, path); !errors.Is(err, audit.ErrMAC) {
		t.Fatalf("verify with another key = %v, want ErrMAC", err)
	}
}

// A keyed Chain computes the MACs a keyed Log writes, and the unkeyed
// lines are as before (the MAC field is left out).
func TestKeyedChainMatchesLog(t *testing.T) {
	ctx := context.Background()
	key := audit.MACKey{Signer: macSigner(t, "k"), Name: "k"}
	path, l := openLog(t, audit.WithMACKey(key))
	c, err := audit.NewKeyedChain(audit.Anchor{}, key)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		r := record(i)
		if err := l.Append(ctx, r); err != nil {
			t.Fatal(err)
		}
		r2 := record(i)
		r2.Time = r.Time
		if err := c.Append(ctx, r2); err != nil {
			t.Fatal(err)
		}
		if r.MAC.IsZero() || r.MAC != r2.MAC || r.Hash != r2.Hash {
			t.Fatalf("record %d: log MAC %s hash %s, chain MAC %s hash %s", i, r.MAC, r.Hash, r2.MAC, r2.Hash)
		}
	}
	lines := readLines(t, path)
	if !strings.Contains(lines[0], `","mac":"`) {
		t.Fatalf("keyed line has no mac: %s", lines[0])
	}
	_, ul := openLog(t)
	r := record(0)
	if err := ul.Append(ctx, r); err != nil {
		t.Fatal(err)
	}
	if !r.MAC.IsZero() || strings.Contains(jsonMarshal(t, r), `"mac"`) {
		t.Fatalf("unkeyed record carries a MAC: %s", jsonMarshal(t, r))
	}
}

// A caller cannot plant a MAC in an unkeyed log.
func TestAppendIgnoresCallerMAC(t *testing.T) {
	_, l := openLog(t)
	r := record(0)
	r.MAC = audit.Digest{1}
	if err := l.Append(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if !r.MAC.IsZero() {
		t.Fatal("Append kept a MAC the caller set")
	}
}

// A keyed log is not appended to without its key: the records would carry
// no MAC.
func TestOpenKeyedLogWithoutKey(t *testing.T) {
	key := audit.MACKey{Signer: macSigner(t, "k"), Name: "k"}
	path, l := openLog(t, audit.WithMACKey(key))
	appendN(t, l, 0, 1)
	l.Close()
	if _, err := audit.Open(context.Background(), path); !errors.Is(err, audit.ErrMAC) {
		t.Fatalf("unkeyed Open of a keyed log = %v, want ErrMAC", err)
	}
}
