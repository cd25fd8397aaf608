package pgstore_test

import (
	"context"
	"fmt"
	"log"

	"github.com/keyfence/keyfence/limits"
	"github.com/keyfence/keyfence/limits/pgstore"
)

// Two processes whose guards open the same database share one budget and
// one kill switch. Each runs this; the password comes from PGPASSWORD or
// ~/.pgpass, not from the connection string.
func Example() {
	ctx := context.Background()
	store, err := pgstore.Open(ctx, "postgres://keyfence@db.internal:5432/keyfence")
	if err != nil {
		log.Fatal(err) // a *pgstore.Error: the database is not reachable
	}
	defer store.Close()
	policy, err := limits.LoadPolicy("policy.yaml")
	if err != nil {
		log.Fatal(err)
	}
	guard, err := limits.NewGuard(policy, store)
	if err != nil {
		log.Fatal(err)
	}
	// Tripped by any process, the switch halts every one of them.
	tripped, reason := guard.Tripped(ctx)
	fmt.Println(tripped, reason)
}
