package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/keyfence/keyfence/limits"
)

const killUsage = `usage: keyfence killswitch status|trip|reset --state FILE|postgres://... [--state-schema NAME] [--policy FILE] [--reason TEXT] [--init]
       keyfence killswitch status|trip|reset --admin SOCKET [--reason TEXT]`

// killswitchCmd shows, trips and resets the kill switch of a guard: a
// tripped switch refuses every trade until it is reset; cancels and reads
// pass. With --state it acts on the guard's state file, or, while a running
// bot holds that file, through the control socket the bot serves beside it
// (limits.ServeControl); with --admin, on the control or admin socket
// named. It never creates state unless --init says so.
func killswitchCmd(ctx context.Context, args []string, e *env) error {
	if len(args) == 0 {
		return usagef("%s", killUsage)
	}
	op := args[0]
	if op != "status" && op != "trip" && op != "reset" {
		return usagef("unknown killswitch command %q; %s", op, killUsage)
	}
	fs := newFlags("killswitch "+op, e)
	state := fs.String("state", "", "the guard's limit state file, or postgres://USER@HOST:PORT/DATABASE for state shared in PostgreSQL")
	schema := stateSchema(fs)
	admin := fs.String("admin", "", "a running guard's control socket, or the gateway's admin socket")
	policyFile := fs.String("policy", "", "the guard's policy: reset then also clears each credential's rejection counter")
	reason := fs.String("reason", "", "why the switch is tripped (trip)")
	initState := fs.Bool("init", false, "create the state file if there is none (trip before the guard first ran)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if (*state == "") == (*admin == "") || fs.NArg() > 0 {
		return usagef("killswitch: give exactly one of --state and --admin; %s", killUsage)
	}
	if *admin != "" {
		st, err := controlKillSwitch(ctx, *admin, op, *reason)
		if err != nil {
			return err
		}
		return printKillSwitch(e, st)
	}
	if isPostgresState(*state) {
		// The switch every guard on this database obeys.
		store, err := openPostgresState(ctx, *state, *schema, *initState)
		if err != nil {
			return err
		}
		defer store.Close()
		return killswitchOn(ctx, e, store, op, *reason, *policyFile)
	}
	var opts []limits.FileStoreOption
	if !*initState {
		opts = append(opts, limits.ExistingState())
	}
	store, err := limits.OpenFileStoreContext(ctx, *state, opts...)
	if errors.Is(err, limits.ErrStoreLocked) {
		// A running guard holds the file: ask it through its socket.
		sock := limits.ControlSocket(*state)
		if _, serr := os.Stat(sock); serr != nil {
			return fmt.Errorf("%w; it serves no control socket at %s: stop it, or give --admin with the socket it serves", err, sock)
		}
		st, err := controlKillSwitch(ctx, sock, op, *reason)
		if err != nil {
			return err
		}
		return printKillSwitch(e, st)
	}
	if err != nil {
		return err
	}
	defer store.Close()
	return killswitchOn(ctx, e, store, op, *reason, *policyFile)
}

// killswitchOn shows, trips or resets the switch kept in store.
func killswitchOn(ctx context.Context, e *env, store limits.Store, op, reason, policyFile string) error {
	switch op {
	case "trip":
		r := reason
		if r == "" {
			r = "tripped by hand"
		}
		if err := store.Trip(ctx, limits.KillState{Reason: r, At: time.Now()}); err != nil {
			return err
		}
	case "reset":
		if err := resetKillSwitch(ctx, store, policyFile); err != nil {
			return err
		}
	}
	k, err := store.KillSwitch(ctx)
	if err != nil {
		return err
	}
	return printKillSwitch(e, limits.KillSwitchStatus{Tripped: k.Tripped, Reason: k.Reason, At: k.At})
}

// resetKillSwitch resets the switch kept in store; with the policy, as the
// guard does (the counters behind every automatic trigger too).
func resetKillSwitch(ctx context.Context, store limits.Store, policyFile string) error {
	if policyFile == "" {
		return limits.ResetKillSwitch(ctx, store)
	}
	policy, err := loadPolicy(policyFile)
	if err != nil {
		return err
	}
	guard, err := limits.NewGuard(policy, store)
	if err != nil {
		return err
	}
	return guard.Reset(ctx)
}

func printKillSwitch(e *env, k limits.KillSwitchStatus) error {
	if !k.Tripped {
		fmt.Fprintln(e.stdout, "kill switch: not tripped; trading allowed")
		return nil
	}
	fmt.Fprintf(e.stdout, "kill switch: TRIPPED at %s: %s; trades are refused, cancels and reads pass\n", k.At.UTC().Format(time.RFC3339), k.Reason)
	return nil
}
