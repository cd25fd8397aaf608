package keystore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/keyfence/keyfence/signer"
	"github.com/stretchr/testify/require"
)

// Attack: eight writers add keys at once, each through its own handle (as
// eight `keyfence keys add` processes do). Every key must survive.
func TestConcurrentAddsAllSurvive(t *testing.T) {
	ctx := context.Background()
	_, path := newStore(t, tinyKDF)
	handles := make([]*Keystore, 8)
	for i := range handles {
		handles[i] = reopen(t, path)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(handles))
	for i, ks := range handles {
		wg.Go(func() {
			errs[i] = ks.Add(ctx, hmacEntry(fmt.Sprintf("key-%d", i)), []byte("secret"), nil)
		})
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "writer %d", i)
	}
	got := names(reopen(t, path).Entries())
	require.Len(t, got, 8, "entries after eight concurrent adds: %v", got)
	require.Equal(t, uint64(9), reopen(t, path).Generation())
}

// Attack: an operator removes a key while a bot has the keystore open; the
// bot's next write must not bring it back.
func TestRemovalNotUndoneByStaleHandle(t *testing.T) {
	ctx := context.Background()
	ks, path := newStore(t, tinyKDF)
	require.NoError(t, ks.Add(ctx, hmacEntry("leaked"), []byte("s1"), nil))
	bot := reopen(t, path)
	operator := reopen(t, path)
	require.NoError(t, operator.Remove(ctx, "leaked"))
	require.NoError(t, bot.Add(ctx, hmacEntry("new"), []byte("s2"), nil))
	require.Equal(t, []string{"new"}, names(reopen(t, path).Entries()))
	// The bot's handle now knows the key is gone.
	require.Equal(t, []string{"new"}, names(bot.Entries()))
	_, err := bot.Signer().Sign(ctx, "leaked", signer.HMACSHA256, []byte("m"))
	require.ErrorIs(t, err, signer.ErrKeyNotFound)
}

// An entry unchanged on disk keeps what was unsealed of it across the
// re-read, and still signs.
func TestRefreshKeepsUnchangedEntries(t *testing.T) {
	ctx := context.Background()
	ks, path := newStore(t, tinyKDF)
	require.NoError(t, ks.Add(ctx, hmacEntry("a"), []byte("s1"), nil))
	bot := reopen(t, path)
	mac1, err := bot.Signer().Sign(ctx, "a", signer.HMACSHA256, []byte("m"))
	require.NoError(t, err)
	require.NoError(t, ks.Add(ctx, hmacEntry("b"), []byte("s2"), nil))
	require.NoError(t, bot.Add(ctx, hmacEntry("c"), []byte("s3"), nil))
	mac2, err := bot.Signer().Sign(ctx, "a", signer.HMACSHA256, []byte("m"))
	require.NoError(t, err)
	require.Equal(t, mac1, mac2)
	require.Equal(t, int64(1), bot.unseals.Load())
	require.Equal(t, []string{"a", "b", "c"}, names(bot.Entries()))
}

// Attack: the keystore replaced by an older copy. A handle that wrote a
// newer generation refuses to write over it, and the generation tells a
// limits state which copy is current.
func TestGenerationRefusesOlderCopy(t *testing.T) {
	ctx := context.Background()
	ks, path := newStore(t, tinyKDF)
	require.Equal(t, uint64(1), ks.Generation())
	require.NoError(t, ks.Add(ctx, hmacEntry("leaked"), []byte("s1"), nil))
	old, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, ks.Remove(ctx, "leaked"))
	require.Equal(t, uint64(3), ks.Generation())
	require.NoError(t, os.WriteFile(path+".old", old, 0o600))
	require.NoError(t, os.Rename(path+".old", path))

	restored := reopen(t, path)
	require.Equal(t, uint64(2), restored.Generation(), "the older copy shows its older generation")
	err = ks.Add(ctx, hmacEntry("x"), []byte("s"), nil)
	var re *RollbackError
	require.ErrorAs(t, err, &re)
	require.True(t, errors.Is(err, ErrRollback))
	require.Equal(t, uint64(2), re.Generation)
	require.Equal(t, uint64(3), re.Seen)
}

// A keystore written by another master key (another keystore moved into
// place) is not merged into this one.
func TestRefreshRefusesAnotherKeystore(t *testing.T) {
	ctx := context.Background()
	ks, path := newStore(t, tinyKDF)
	_, other := newStore(t, tinyKDF)
	b, err := os.ReadFile(other)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path+".x", b, 0o600))
	require.NoError(t, os.Rename(path+".x", path))
	err = ks.Add(ctx, hmacEntry("a"), []byte("s"), nil)
	require.ErrorIs(t, err, ErrTampered)
}

// A file written before generations existed opens at generation 0 and
// gets generation 1 at its next write.
func TestGenerationOfOlderFormat(t *testing.T) {
	ctx := context.Background()
	ks, path := newStore(t, tinyKDF)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Contains(t, string(b), `"version":1,"generation":1,`)
	ks.mu.Lock()
	ks.hdr.gen = 0
	ks.mu.Unlock()
	_, err = writeAtomic(path, encode(ks.hdr, nil, ks.keys), false, nil)
	require.NoError(t, err)
	b, err = os.ReadFile(path)
	require.NoError(t, err)
	require.NotContains(t, string(b), "generation")
	k0 := reopen(t, path)
	require.Equal(t, uint64(0), k0.Generation())
	require.NoError(t, k0.Add(ctx, hmacEntry("a"), []byte("s"), nil))
	require.Equal(t, uint64(1), k0.Generation())
}

// A file replaced between the re-read and the write, by a process that
// does not lock it, is not written over.
func TestUpdateRefusesFileReplacedUnderLock(t *testing.T) {
	ctx := context.Background()
	ks, path := newStore(t, tinyKDF)
	err := ks.Update(ctx, func(tx *Tx) error {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(path+".x", b, 0o600))
		require.NoError(t, os.Rename(path+".x", path))
		return tx.Add(hmacEntry("a"), []byte("s"), nil)
	})
	require.ErrorIs(t, err, ErrReplaced)
	require.Empty(t, reopen(t, path).Entries())
}
