package audit_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyfence/keyfence/audit"
)

func TestAppendBuildsChain(t *testing.T) {
	path, l := openLog(t)
	ctx := context.Background()
	var prev audit.Digest // record 1's Prev is the zero Digest
	for i := range 5 {
		r := record(i)
		if err := l.Append(ctx, r); err != nil {
			t.Fatal(err)
		}
		if r.Seq != uint64(i+1) {
			t.Errorf("record %d: Seq = %d, want %d", i, r.Seq, i+1)
		}
		if r.Prev != prev {
			t.Errorf("record %d: Prev = %s, want %s", i, r.Prev, prev)
		}
		want, err := r.ComputeHash()
		if err != nil || r.Hash != want {
			t.Errorf("record %d: Hash = %s, ComputeHash = %s, %v", i, r.Hash, want, err)
		}
		if r.Time.IsZero() || r.Time.Location() != time.UTC {
			t.Errorf("record %d: Time = %v, want a UTC time from the clock", i, r.Time)
		}
		if got := l.Head(); got != (audit.Anchor{Seq: r.Seq, Hash: r.Hash}) {
			t.Errorf("Head = %+v after record %d", got, r.Seq)
		}
		prev = r.Hash
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	rep, err := audit.VerifyFiles(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Records != 5 || rep.First.Seq != 1 || rep.Last != (audit.Anchor{Seq: 5, Hash: prev}) {
		t.Errorf("report = %+v", rep)
	}
}

func TestAppendKeepsCallerTime(t *testing.T) {
	_, l := openLog(t)
	at := time.Date(2026, 1, 2, 3, 4, 5, 600, time.FixedZone("X", 3600))
	r := record(0)
	r.Time = at
	if err := l.Append(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if !r.Time.Equal(at) || r.Time.Location() != time.UTC {
		t.Errorf("Time = %v, want %v in UTC", r.Time, at)
	}
}

func TestLineEncodingIsDocumented(t *testing.T) {
	// The package doc defines the hash so that a verifier in another
	// language can recompute it from the line alone: decode the JSON
	// generically, then hash the fields as documented. Do that here on
	// the bytes of the file, for a record with nanoseconds and text that
	// the line must escape.
	path, l := openLog(t)
	r := record(1)
	r.Intent = "<&> \u2028 caf\xe9" // HTML escapes, a line separator and invalid UTF-8
	r.Time = time.Date(2026, 11, 24, 17, 30, 0, 5, time.UTC)
	if err := l.Append(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	l.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSuffix(string(b), "\n")
	if !regexp.MustCompile(`,"hash":"[0-9a-f]{64}"}$`).MatchString(line) {
		t.Fatalf("line does not end with the hash field: %s", line)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		t.Fatal(err)
	}
	str := func(k string) string { s, _ := m[k].(string); return s }
	tm, err := time.Parse(time.RFC3339Nano, str("time"))
	if err != nil {
		t.Fatal(err)
	}
	_, off := tm.Zone()
	in := []byte("keyfence-audit-1")
	in = binary.BigEndian.AppendUint64(in, uint64(m["seq"].(float64)))
	in = binary.BigEndian.AppendUint64(in, uint64(tm.Unix()))
	in = binary.BigEndian.AppendUint32(in, uint32(tm.Nanosecond()))
	in = binary.BigEndian.AppendUint32(in, uint32(int32(off)))
	for _, k := range []string{"credential", "venue", "class", "route", "intent", "decision", "rule", "reason"} {
		in = binary.AppendUvarint(in, uint64(len(str(k))))
		in = append(in, str(k)...)
	}
	for _, k := range []string{"payload_sha256", "policy_sha256", "prev"} {
		d, err := hex.DecodeString(str(k))
		if err != nil || len(d) != 32 {
			t.Fatalf("%s = %q, want 64 hex digits", k, str(k))
		}
		in = append(append(in, 1), d...)
	}
	if got := sha256Hex(string(in)); got != str("hash") {
		t.Errorf("documented hash = %s, line carries %s (zone offset %d)", got, str("hash"), off)
	}
	if _, err := audit.Verify(context.Background(), strings.NewReader(string(b))); err != nil {
		t.Errorf("Verify: %v", err)
	}
}

func TestAppendRejectsInvalidRecord(t *testing.T) {
	const canary = "CANARY-4f1c9e-secret"
	_, l := openLog(t)
	r := record(0)
	r.Decision = "maybe"
	r.Intent = canary
	err := l.Append(context.Background(), r)
	if !errors.Is(err, audit.ErrInvalidRecord) {
		t.Fatalf("Append = %v, want ErrInvalidRecord", err)
	}
	if strings.Contains(err.Error(), canary) {
		t.Errorf("error message carries record content: %v", err)
	}
	if r.Seq != 0 || !r.Hash.IsZero() || l.Head().Seq != 0 {
		t.Errorf("rejected record changed state: record %+v head %+v", r, l.Head())
	}

	far := record(1)
	far.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := l.Append(context.Background(), far); !errors.Is(err, audit.ErrInvalidRecord) {
		t.Errorf("Append of a record from year 10000 = %v, want ErrInvalidRecord", err)
	}

	big := record(1)
	big.Reason = strings.Repeat("x", audit.MaxLineBytes)
	if err := l.Append(context.Background(), big); !errors.Is(err, audit.ErrInvalidRecord) {
		t.Errorf("Append of an oversized record = %v, want ErrInvalidRecord", err)
	}

	if l.Head().Seq != 0 {
		t.Errorf("head %+v after refused records, want none appended", l.Head())
	}
	if err := l.Append(context.Background(), record(1)); err != nil || l.Head().Seq != 1 {
		t.Errorf("Append after refusals = %v, head %+v", err, l.Head())
	}
}

func TestAppendAfterCloseFails(t *testing.T) {
	_, l := openLog(t)
	appendN(t, l, 0, 1)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	err := l.Append(context.Background(), record(1))
	if !errors.Is(err, audit.ErrWrite) || !errors.Is(err, audit.ErrClosed) {
		t.Errorf("Append after Close = %v, want ErrWrite and ErrClosed", err)
	}
	var we *audit.WriteError
	if !errors.As(err, &we) {
		t.Errorf("Append after Close = %T, want *WriteError", err)
	}
}

func TestAppendHonoursContext(t *testing.T) {
	_, l := openLog(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Append(ctx, record(0)); !errors.Is(err, context.Canceled) {
		t.Errorf("Append = %v, want context.Canceled", err)
	}
	if l.Head().Seq != 0 {
		t.Errorf("head advanced: %+v", l.Head())
	}
}

func TestReopenResumesChain(t *testing.T) {
	path, l := openLog(t)
	appendN(t, l, 0, 3)
	head := l.Head()
	l.Close()

	for _, opts := range [][]audit.Option{nil, {audit.VerifyOnOpen()}} {
		l2, err := audit.Open(context.Background(), path, opts...)
		if err != nil {
			t.Fatal(err)
		}
		if l2.Head() != head {
			t.Errorf("reopened head = %+v, want %+v", l2.Head(), head)
		}
		appendN(t, l2, 3, 2)
		head = l2.Head()
		l2.Close()
	}
	rep, err := audit.VerifyFiles(context.Background(), path)
	if err != nil || rep.Records != 7 || rep.Last != head {
		t.Errorf("VerifyFiles = %+v, %v; want 7 records ending at %+v", rep, err, head)
	}
}

func TestOpenFailsOnCorruptTail(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(string) string
		line   int
	}{
		{"edited", func(s string) string { return strings.Replace(s, "50002", "50009", 1) }, 3},
		{"torn", func(s string) string { return s[:len(s)-10] }, 3},
		{"garbage", func(s string) string { return s + "not json\n" }, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, l := openLog(t)
			appendN(t, l, 0, 3)
			l.Close()
			b, _ := os.ReadFile(path)
			writeFile(t, path, tt.mutate(string(b)))
			_, err := audit.Open(context.Background(), path)
			var ce *audit.ChainError
			if !errors.Is(err, audit.ErrBroken) || !errors.As(err, &ce) {
				t.Fatalf("Open = %v, want a ChainError", err)
			}
			if ce.Line != tt.line || ce.File != path {
				t.Errorf("ChainError at %s:%d, want %s:%d", ce.File, ce.Line, path, tt.line)
			}
		})
	}
}

func TestRepairTornTail(t *testing.T) {
	path, l := openLog(t)
	appendN(t, l, 0, 3)
	l.Close()
	b, _ := os.ReadFile(path)
	lines := strings.SplitAfter(string(b), "\n")
	torn := lines[2][:40]
	writeFile(t, path, lines[0]+lines[1]+torn)

	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	l2, err := audit.Open(context.Background(), path, audit.RepairTornTail(), audit.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	if l2.Head().Seq != 2 {
		t.Errorf("head after repair = %+v, want seq 2", l2.Head())
	}
	if !strings.Contains(logs.String(), "bytes=40") || strings.Contains(logs.String(), torn[20:]) {
		t.Errorf("repair log should give the count, not the content: %s", logs.String())
	}
	appendN(t, l2, 10, 1)
	l2.Close()
	rep, err := audit.VerifyFiles(context.Background(), path)
	if err != nil || rep.Records != 3 {
		t.Errorf("VerifyFiles = %+v, %v; want 3 records", rep, err)
	}

	// A torn line that is the whole file leaves an empty log.
	writeFile(t, path, `{"seq":1,"ti`)
	l3, err := audit.Open(context.Background(), path, audit.RepairTornTail(), audit.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	if l3.Head() != (audit.Anchor{}) {
		t.Errorf("head = %+v, want the empty chain", l3.Head())
	}
	l3.Close()
}

func TestOpenLocks(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("no flock")
	}
	path, _ := openLog(t)
	_, err := audit.Open(context.Background(), path)
	if !errors.Is(err, audit.ErrLocked) {
		t.Errorf("second Open = %v, want ErrLocked", err)
	}
}

func TestConcurrentAppends(t *testing.T) {
	for name, opt := range map[string]audit.Option{"sync": audit.SyncEvery(), "nosync": audit.NoSync()} {
		t.Run(name, func(t *testing.T) { testConcurrentAppends(t, opt) })
	}
}

func testConcurrentAppends(t *testing.T, opt audit.Option) {
	path, l := openLog(t, opt, audit.WithMaxSize(8<<10))
	const workers, each = 8, 50
	var wg sync.WaitGroup
	seqs := make(chan uint64, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				r := record(w*each + i)
				r.Time = epoch
				if err := l.Append(context.Background(), r); err != nil {
					t.Error(err)
					return
				}
				seqs <- r.Seq
			}
		})
	}
	wg.Wait()
	close(seqs)
	seen := map[uint64]bool{}
	for s := range seqs {
		if seen[s] {
			t.Errorf("seq %d returned twice", s)
		}
		seen[s] = true
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	files, err := audit.Files(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 {
		t.Errorf("expected rotation, got files %v", files)
	}
	rep, err := audit.VerifyFiles(context.Background(), files...)
	if err != nil || rep.Records != workers*each || len(seen) != workers*each {
		t.Errorf("VerifyFiles = %+v, %v; %d distinct seqs; want %d records", rep, err, len(seen), workers*each)
	}
}

func TestSyncModes(t *testing.T) {
	for name, opt := range map[string]audit.Option{
		"every":    audit.SyncEvery(),
		"interval": audit.SyncInterval(time.Hour),
		"zero":     audit.SyncInterval(0),
		"none":     audit.NoSync(),
	} {
		t.Run(name, func(t *testing.T) {
			path, l := openLog(t, opt)
			appendN(t, l, 0, 3)
			if err := l.Sync(); err != nil {
				t.Fatal(err)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if rep, err := audit.VerifyFiles(context.Background(), path); err != nil || rep.Records != 3 {
				t.Errorf("VerifyFiles = %+v, %v", rep, err)
			}
		})
	}
}

func writeFile(t testing.TB, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestOpenMissingDirectory(t *testing.T) {
	_, err := audit.Open(context.Background(), filepath.Join(t.TempDir(), "no", "audit.jsonl"))
	if err == nil {
		t.Fatal("Open in a missing directory succeeded")
	}
}

func TestVerifyOnOpen(t *testing.T) {
	path, l := openLog(t)
	appendN(t, l, 0, 4)
	l.Close()
	b, _ := os.ReadFile(path)
	writeFile(t, path, strings.Replace(string(b), "@ 50001", "@ 1", 1))

	// The last record is intact, so the default check passes...
	l2, err := audit.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open = %v", err)
	}
	l2.Close()
	// ...and the full check finds the edited second line.
	_, err = audit.Open(context.Background(), path, audit.VerifyOnOpen())
	var ce *audit.ChainError
	if !errors.As(err, &ce) || ce.Line != 2 {
		t.Errorf("Open with VerifyOnOpen = %v, want a ChainError at line 2", err)
	}
}

func TestVerifyOnOpenAfterArchiving(t *testing.T) {
	path, l := openLog(t, audit.WithMaxSize(1200))
	appendN(t, l, 0, 20)
	l.Close()
	if err := os.Remove(path + ".000001"); err != nil {
		t.Fatal(err)
	}
	l2, err := audit.Open(context.Background(), path, audit.VerifyOnOpen())
	if err != nil {
		t.Fatalf("Open after archiving the oldest file = %v", err)
	}
	l2.Close()
}
