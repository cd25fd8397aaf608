package main

import (
	"context"
	"fmt"
	"time"

	"github.com/keyfence/keyfence/limits"
)

const killUsage = "usage: keyfence killswitch status|trip|reset --state FILE --policy FILE [--reason TEXT]"

// killswitchCmd shows, trips and resets the kill switch kept in a limit
// state file: a tripped switch refuses every trade until it is reset, in
// every process that uses the file.
func killswitchCmd(ctx context.Context, args []string, e *env) error {
	if len(args) == 0 {
		return usagef("%s", killUsage)
	}
	op := args[0]
	if op != "status" && op != "trip" && op != "reset" {
		return usagef("unknown killswitch command %q; %s", op, killUsage)
	}
	fs := newFlags("killswitch "+op, e)
	state := fs.String("state", "", "limit state file the guard uses (required)")
	policyFile := fs.String("policy", "", "policy file the guard uses (required)")
	reason := fs.String("reason", "", "why the switch is tripped (trip)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *state == "" || *policyFile == "" || fs.NArg() > 0 {
		return usagef("%s", killUsage)
	}
	policy, err := loadPolicy(*policyFile)
	if err != nil {
		return err
	}
	store, err := limits.OpenFileStore(*state)
	if err != nil {
		return err
	}
	defer store.Close()
	guard, err := limits.NewGuard(policy, store)
	if err != nil {
		return err
	}
	switch op {
	case "trip":
		if err := guard.Trip(ctx, *reason); err != nil {
			return err
		}
	case "reset":
		if err := guard.Reset(ctx); err != nil {
			return err
		}
	}
	k, err := store.KillSwitch(ctx)
	if err != nil {
		return err
	}
	if !k.Tripped {
		fmt.Fprintln(e.stdout, "kill switch: not tripped; trading allowed")
		return nil
	}
	fmt.Fprintf(e.stdout, "kill switch: TRIPPED at %s: %s; trades are refused, cancels and reads pass\n", k.At.UTC().Format(time.RFC3339), k.Reason)
	return nil
}
