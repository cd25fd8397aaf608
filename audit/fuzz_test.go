package audit_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyfence/keyfence/audit"
)

// FuzzVerify feeds arbitrary bytes to Verify: it must never panic, and it
// must either accept a consistent chain or report a ChainError.
func FuzzVerify(f *testing.F) {
	f.Add([]byte(""))
	f.Add([]byte("\n"))
	f.Add([]byte("{}\n"))
	f.Add([]byte(`{"seq":1,"hash":""}` + "\n"))
	f.Add([]byte(`{"seq":1,"time":"2026-11-24T12:00:00Z","credential":"a","venue":"b","class":"c","decision":"allow","prev":"` + strings.Repeat("0", 64) + `","hash":"00"}`))
	fuzzKey = audit.MACKey{Signer: macSigner(f, "fuzz"), Name: "fuzz"}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, v := range []audit.Verifier{{}, {AnyStart: true}, {Checkpoints: []audit.Anchor{{Seq: 2}}}, {Key: &fuzzKey}} {
			rep, err := v.Verify(context.Background(), bytes.NewReader(data))
			if err != nil {
				var ce *audit.ChainError
				if !errors.Is(err, audit.ErrBroken) || !errors.As(err, &ce) || ce.Line < 1 {
					t.Fatalf("Verify = %v, want a ChainError with a line", err)
				}
				continue
			}
			if rep.Records > 0 && rep.Last.Seq-rep.First.Seq != uint64(rep.Records-1) {
				t.Fatalf("report %+v: seqs do not match the record count", rep)
			}
			if rep.Records == 0 && len(data) > 0 {
				t.Fatalf("accepted %d bytes with no record", len(data))
			}
		}
	})
}

// FuzzOpen opens a log whose file holds arbitrary bytes: Open must never
// panic, must fail with a ChainError on a bad tail, and a Log it returns
// must append a record that continues a verifiable chain when the file was
// a valid one.
func FuzzOpen(f *testing.F) {
	f.Add([]byte(""))
	f.Add([]byte("{}\n"))
	f.Add([]byte("x"))
	f.Add([]byte("\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, opts := range [][]audit.Option{{audit.NoSync()}, {audit.NoSync(), audit.RepairTornTail(), audit.WithLogger(slog.New(slog.DiscardHandler))}} {
			path := filepath.Join(t.TempDir(), "audit.jsonl")
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			l, err := audit.Open(context.Background(), path, opts...)
			if err != nil {
				if !errors.Is(err, audit.ErrBroken) {
					t.Fatalf("Open = %v, want ErrBroken", err)
				}
				continue
			}
			head := l.Head()
			r := record(1)
			if err := l.Append(context.Background(), r); err != nil {
				t.Fatalf("Append: %v", err)
			}
			if r.Seq != head.Seq+1 || r.Prev != head.Hash {
				t.Fatalf("record %d/%s does not follow head %+v", r.Seq, r.Prev, head)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if _, verr := audit.Verify(context.Background(), bytes.NewReader(data)); verr == nil {
				if _, err := audit.VerifyFiles(context.Background(), path); err != nil {
					t.Fatalf("a valid log broke after one Append: %v", err)
				}
			}
		}
	})
}

// fuzzKey is the key of the keyed-log seed.
var fuzzKey audit.MACKey

var updateCorpus = flag.Bool("update-corpus", false, "rewrite the log seeds of FuzzOpen and FuzzVerify in testdata")

// corpusLogs returns the log seeds of FuzzOpen and FuzzVerify by name: a
// valid log of six records written through a Log, and variants of it.
func corpusLogs(t *testing.T) map[string]string {
	lines, _ := sixLines(t)
	join := func(l ...string) string { return strings.Join(l, "") }
	last := lines[2]
	path, l := openLog(t, audit.WithMACKey(audit.MACKey{Signer: macSigner(t, "fuzz"), Name: "fuzz"}))
	appendN(t, l, 0, 3)
	l.Close()
	keyed := strings.Join(readLines(t, path), "")
	return map[string]string{
		"keyed-log":   keyed,
		"valid-log":   join(lines...),
		"valid-one":   lines[0],
		"edited":      join(strings.Replace(lines[0], `"venue":"binance"`, `"venue":"kraken"`, 1), lines[1]),
		"later-start": join(lines[3:]...),
		"swapped":     join(lines[1], lines[0]),
		"truncated":   join(lines[0], lines[1], last[:len(last)-7]),
	}
}

// TestFuzzCorpusLogs keeps the log seeds in testdata in step with the
// Log: they must be what corpusLogs writes today. Run with -update-corpus
// to rewrite them.
func TestFuzzCorpusLogs(t *testing.T) {
	for name, log := range corpusLogs(t) {
		want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", log)
		for _, fuzzer := range []string{"FuzzOpen", "FuzzVerify"} {
			path := filepath.Join("testdata", "fuzz", fuzzer, name)
			if *updateCorpus {
				if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil || string(got) != want {
				t.Errorf("%s differs from the log the Log writes today (%v); run go test -run TestFuzzCorpusLogs -update-corpus", path, err)
			}
		}
	}
}
