package limits

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyfence/keyfence/audit"
)

var _ AuditLog = (*audit.Log)(nil)

// tiedFixture is a state file tied to a real audit log, and a way to place
// "orders": a reservation, its allow record, its settlement, as the
// Authorizer does them.
type tiedFixture struct {
	t         *testing.T
	dir       string
	state     string
	auditPath string
	log       *audit.Log
	store     *FileStore
	n         int
}

func newTied(t *testing.T) *tiedFixture {
	t.Helper()
	dir := t.TempDir()
	f := &tiedFixture{t: t, dir: dir, state: filepath.Join(dir, "limits.state"), auditPath: filepath.Join(dir, "audit.jsonl")}
	f.openLog()
	s, err := OpenFileStore(f.state, WithAuditLog(f.log))
	if err != nil {
		t.Fatal(err)
	}
	f.store = s
	t.Cleanup(func() {
		if f.store != nil {
			f.store.Close()
		}
		if f.log != nil {
			f.log.Close()
		}
	})
	return f
}

func (f *tiedFixture) openLog() {
	f.t.Helper()
	l, err := audit.Open(context.Background(), f.auditPath)
	if err != nil {
		f.t.Fatal(err)
	}
	f.log = l
}

// order reserves 40 of a 100 daily cap, records the allow, settles it
// filled.
func (f *tiedFixture) order() error {
	f.t.Helper()
	ctx := context.Background()
	f.n++
	id, err := f.store.Reserve(ctx, &ReserveRequest{Owner: "bot", Now: t0.Add(time.Duration(f.n) * time.Minute),
		Limits: []Limit{lim("bot/USDT", "40", "100", 24*time.Hour)}})
	if err != nil {
		return err
	}
	if err := f.log.Append(ctx, &audit.Record{Credential: "bot", Venue: "binance", Class: "trade", Decision: audit.Allow}); err != nil {
		f.t.Fatal(err)
	}
	return f.store.Commit(ctx, id, Settlement{Filled: dec("40")})
}

// stop closes the store and the log, as a bot that exits.
func (f *tiedFixture) stop() {
	f.t.Helper()
	if err := f.store.Close(); err != nil {
		f.t.Fatal(err)
	}
	f.store = nil
	if err := f.log.Close(); err != nil {
		f.t.Fatal(err)
	}
	f.log = nil
}

// restart opens the log and the state again.
func (f *tiedFixture) restart(opts ...FileStoreOption) error {
	f.t.Helper()
	f.openLog()
	s, err := OpenFileStore(f.state, append([]FileStoreOption{WithAuditLog(f.log)}, opts...)...)
	if err != nil {
		return err
	}
	f.store = s
	return nil
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// Attack: the state file deleted between runs. The caps and the kill
// switch must not reset.
func TestFileStoreRefusesDeletedState(t *testing.T) {
	f := newTied(t)
	if err := f.order(); err != nil {
		t.Fatal(err)
	}
	f.stop()
	if err := os.Remove(f.state); err != nil {
		t.Fatal(err)
	}
	err := f.restart()
	var se *StateError
	if !errors.Is(err, ErrStateMissing) || !errors.As(err, &se) {
		t.Fatalf("open after deletion = %v, want ErrStateMissing", err)
	}
	if !strings.Contains(err.Error(), "keyfence state rebuild") {
		t.Errorf("refusal %q does not say how to rebuild the state", err)
	}
	// The explicit way back: rebuilt, with the kill switch tripped.
	f.log.Close()
	if err := f.restart(RebuildState()); err != nil {
		t.Fatal(err)
	}
	ks, err := f.store.KillSwitch(context.Background())
	if err != nil || !ks.Tripped || !strings.Contains(ks.Reason, "reconcile") {
		t.Fatalf("rebuilt state: kill switch %+v, %v; want tripped until reconciled", ks, err)
	}
	// Rebuilt, it is tied to the log again: a later restart opens.
	f.stop()
	if err := f.restart(); err != nil {
		t.Fatalf("restart after rebuild: %v", err)
	}
}

// Attack: the state file truncated to zero bytes.
func TestFileStoreRefusesTruncatedState(t *testing.T) {
	f := newTied(t)
	if err := f.order(); err != nil {
		t.Fatal(err)
	}
	f.stop()
	if err := os.Truncate(f.state, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.restart(); !errors.Is(err, ErrStateCorrupt) {
		t.Fatalf("open of an empty state = %v, want ErrStateCorrupt", err)
	}
	// Not tied to an audit log, an empty file is still corrupt.
	if _, err := OpenFileStore(f.state); !errors.Is(err, ErrStateCorrupt) {
		t.Fatalf("untied open of an empty state = %v, want ErrStateCorrupt", err)
	}
}

// A journal must start with its snapshot: one cut at the front is
// corrupt, not a journal of what is left.
func TestFileStoreRefusesJournalWithoutSnapshot(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	body := `{"op":"trip","reason":"x","t":1}` + "\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenFileStore(path); !errors.Is(err, ErrStateCorrupt) {
		t.Fatalf("open = %v, want ErrStateCorrupt", err)
	}
}

// Attack: the state file replaced by an older copy, after which the daily
// cap would have room again.
func TestFileStoreRefusesOlderCopy(t *testing.T) {
	f := newTied(t)
	if err := f.order(); err != nil {
		t.Fatal(err)
	}
	f.stop()
	old := filepath.Join(f.dir, "old.state")
	copyFile(t, f.state, old)
	if err := f.restart(); err != nil {
		t.Fatal(err)
	}
	if err := f.order(); err != nil {
		t.Fatal(err)
	}
	var ex *ExceededError
	if err := f.order(); !errors.As(err, &ex) {
		t.Fatalf("third order of 40 under a cap of 100 = %v, want refused", err)
	}
	f.stop()
	copyFile(t, old, f.state)
	if err := f.restart(); !errors.Is(err, ErrStateStale) {
		t.Fatalf("open of an older copy = %v, want ErrStateStale", err)
	}
}

// A state tied to one audit log does not open against another.
func TestFileStoreRefusesStateOfAnotherLog(t *testing.T) {
	f := newTied(t)
	if err := f.order(); err != nil {
		t.Fatal(err)
	}
	f.stop()
	if err := os.Remove(f.auditPath); err != nil {
		t.Fatal(err)
	}
	f.openLog()
	if err := f.log.Append(context.Background(), &audit.Record{Credential: "bot", Venue: "binance", Class: "read", Decision: audit.Allow}); err != nil {
		t.Fatal(err)
	}
	f.log.Close()
	if err := f.restart(); !errors.Is(err, ErrStateMismatch) {
		t.Fatalf("open against another log = %v, want ErrStateMismatch", err)
	}
}

// A crash between the allow record and the settlement leaves the
// reservation pending: the state is not older than the log.
func TestFileStoreOpensAfterCrashBeforeSettlement(t *testing.T) {
	f := newTied(t)
	if err := f.order(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := f.store.Reserve(ctx, &ReserveRequest{Owner: "bot", Now: t0.Add(time.Hour), Limits: []Limit{lim("bot/USDT", "40", "100", 24*time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	if err := f.log.Append(ctx, &audit.Record{Credential: "bot", Venue: "binance", Class: "trade", Decision: audit.Allow}); err != nil {
		t.Fatal(err)
	}
	// kill -9: nothing more is written.
	f.store.f.Close()
	f.store = nil
	f.log.Close()
	if err := f.restart(); err != nil {
		t.Fatalf("open after a crash before settlement: %v", err)
	}
	var ex *ExceededError
	if err := f.order(); !errors.As(err, &ex) {
		t.Fatalf("order after the crash = %v, want refused: 80 of 100 is still reserved", err)
	}
}

// Attack: the state file deleted while the bot runs. The next change
// fails closed instead of going to a file nobody will read.
func TestFileStoreDeletedWhileOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	s, err := OpenFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	_, err = s.Reserve(context.Background(), &ReserveRequest{Owner: "o", Now: t0, Limits: []Limit{lim("w", "1", "10", time.Hour)}})
	if !errors.Is(err, ErrStateReplaced) {
		t.Fatalf("Reserve after deletion = %v, want ErrStateReplaced", err)
	}
	if err := s.Trip(context.Background(), KillState{Reason: "x", At: t0}); !errors.Is(err, ErrStateReplaced) {
		t.Fatalf("Trip after deletion = %v, want ErrStateReplaced", err)
	}
	// The kill switch, read without the store's lock, fails closed too.
	if _, err := s.KillSwitch(context.Background()); !errors.Is(err, ErrStateReplaced) {
		t.Fatalf("KillSwitch after deletion = %v, want ErrStateReplaced", err)
	}
}

// The kill switch reads what the last Trip or Reset wrote, at once, and
// fails once the store is closed.
func TestFileStoreKillSwitchFollowsWrites(t *testing.T) {
	ctx := context.Background()
	s, err := OpenFileStore(filepath.Join(t.TempDir(), "j"), DeferSync())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Trip(ctx, KillState{Reason: "foreign order", At: t0}); err != nil {
		t.Fatal(err)
	}
	if k, err := s.KillSwitch(ctx); err != nil || !k.Tripped || k.Reason != "foreign order" {
		t.Fatalf("KillSwitch after Trip = %+v, %v", k, err)
	}
	if err := s.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if k, err := s.KillSwitch(ctx); err != nil || k.Tripped {
		t.Fatalf("KillSwitch after Reset = %+v, %v", k, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.KillSwitch(ctx); err == nil {
		t.Fatal("KillSwitch of a closed store succeeded")
	}
}

// The state file replaced (renamed over) while open fails closed too.
func TestFileStoreReplacedWhileOpen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "j")
	s, err := OpenFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	other := filepath.Join(dir, "other")
	copyFile(t, path, other)
	if err := os.Rename(other, path); err != nil {
		t.Fatal(err)
	}
	_, err = s.Reserve(context.Background(), &ReserveRequest{Owner: "o", Now: t0, Limits: []Limit{lim("w", "1", "10", time.Hour)}})
	if !errors.Is(err, ErrStateReplaced) {
		t.Fatalf("Reserve after replacement = %v, want ErrStateReplaced", err)
	}
}

// Attack: a second process opens the state through a symbolic link.
func TestFileStoreLockedThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "j")
	s, err := OpenFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	link := filepath.Join(dir, "link")
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenFileStore(link); !errors.Is(err, ErrStoreLocked) {
		t.Fatalf("open through a symlink = %v, want ErrStoreLocked", err)
	}
}

// Attack: a second process opens the state after the lock file was
// removed. The lock is on the state file itself.
func TestFileStoreLockSurvivesLockFileRemoval(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	s, err := OpenFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	os.Remove(path + ".lock")
	if _, err := OpenFileStore(path); !errors.Is(err, ErrStoreLocked) {
		t.Fatalf("open after removing %s.lock = %v, want ErrStoreLocked", path, err)
	}
}

// The lock follows the file through compactions, which replace it.
func TestFileStoreLockedAfterCompaction(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	s, err := OpenFileStore(path, CompactEvery(2))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for i := range 5 {
		if _, err := s.Strike(ctx, "k", t0.Add(time.Duration(i)*time.Second), 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := OpenFileStore(path); !errors.Is(err, ErrStoreLocked) {
		t.Fatalf("open after compactions = %v, want ErrStoreLocked", err)
	}
}

// Attack: the keystore replaced by an older copy. The state remembers the
// keystore's generation.
func TestFileStoreRefusesOlderGeneration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	ctx := context.Background()
	s, err := OpenFileStore(path, CompactEvery(1))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CheckGeneration(ctx, "keystore", 3); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckGeneration(ctx, "keystore", 5); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = OpenFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.CheckGeneration(ctx, "keystore", 5); err != nil {
		t.Fatalf("same generation after reopen: %v", err)
	}
	err = s.CheckGeneration(ctx, "keystore", 4)
	var se *StateError
	if !errors.Is(err, ErrRollback) || !errors.As(err, &se) {
		t.Fatalf("older generation = %v, want ErrRollback", err)
	}
}

// FuzzOpenFileStore opens a state file holding arbitrary bytes: it must
// never panic, and it opens only a journal that starts with a snapshot.
func FuzzOpenFileStore(f *testing.F) {
	f.Add([]byte(""))
	f.Add([]byte("\n"))
	f.Add([]byte(`{"op":"snapshot","snap":{"seq":0}}` + "\n"))
	f.Add([]byte(`{"op":"snapshot","snap":{"seq":3,"mark":{"seq":2,"hash":"` + strings.Repeat("ab", 32) + `"},"gens":[{"name":"keystore","gen":4}]}}` + "\n" + `{"op":"trip","reason":"x","t":1}` + "\n" + `{"op":"gen","key":"keystore","seq":5}` + "\n"))
	f.Add([]byte(`{"op":"trip","reason":"x","t":1}` + "\n"))
	f.Add([]byte(`{"op":"snapshot","snap":{"seq":1}}` + "\n" + `{"op":"reserve","id":"1","seq":1,"owner":"o","t":1,"limits":[{"k":"w","a":"1","w":5}],"mark":{"seq":1,"hash":"` + strings.Repeat("0", 64) + `"}}` + "\n" + `{"op":"commit","id":"1","fil`))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "j")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := OpenFileStore(path)
		if err != nil {
			var se *StateError
			if errors.As(err, &se) && !errors.Is(err, ErrStateCorrupt) {
				t.Fatalf("refusal %v of an untied store is not ErrStateCorrupt", err)
			}
			return
		}
		defer s.Close()
		if !strings.HasPrefix(string(data), "{") {
			t.Fatalf("opened a state that does not start with a record: %q", data)
		}
		if _, err := StateAuditHead(path); err != nil {
			t.Fatalf("StateAuditHead of a state OpenFileStore wrote: %v", err)
		}
	})
}
