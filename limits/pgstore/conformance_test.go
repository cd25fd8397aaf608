package pgstore_test

import (
	"testing"
	"time"

	"github.com/keyfence/keyfence/limits"
	"github.com/keyfence/keyfence/limits/storetest"
)

// TestConformance runs limits/storetest on PostgreSQL: each state is a
// schema of its own, each Open a new store (its own pool) on it, as
// another process would open one; time passes by ageing what the schema
// recorded.
func TestConformance(t *testing.T) {
	testURL(t)
	storetest.Run(t, storetest.Harness{
		Shared: true,
		NewState: func(t *testing.T) storetest.State {
			schema := newSchema(t)
			t.Cleanup(func() {
				if !t.Failed() {
					checkInvariants(t, schema)
				}
			})
			return storetest.State{
				Open: func(t *testing.T) limits.Store { return openStore(t, schema) },
				Age:  func(t *testing.T, d time.Duration) { age(t, schema, d) },
			}
		},
	})
}
