package storetest_test

import (
	"path/filepath"
	"testing"

	"github.com/keyfence/keyfence/limits"
	"github.com/keyfence/keyfence/limits/storetest"
)

func TestMemoryStore(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		Shared: true,
		NewState: func(t *testing.T) storetest.State {
			s := limits.NewMemoryStore()
			return storetest.State{Open: func(t *testing.T) limits.Store { return s }}
		},
	})
}

// TestFileStore reopens the file on every Open, so that each check also
// proves the state survives a restart.
func TestFileStore(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		NewState: func(t *testing.T) storetest.State {
			path := filepath.Join(t.TempDir(), "limits.journal")
			var cur *limits.FileStore
			t.Cleanup(func() {
				if cur != nil {
					cur.Close()
				}
			})
			return storetest.State{Open: func(t *testing.T) limits.Store {
				if cur != nil {
					if err := cur.Close(); err != nil {
						t.Fatal(err)
					}
				}
				s, err := limits.OpenFileStore(path, limits.CompactEvery(7))
				if err != nil {
					t.Fatal(err)
				}
				cur = s
				return s
			}}
		},
	})
}
