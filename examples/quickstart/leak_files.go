package main

import (
	"context"
	"errors"
	"os"

	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/limits"
)

// deletedLimitsFile plays an attacker with the bot's own OS user who
// deletes the limits state file so that the daily caps and the kill switch
// start from zero at the next start. The running store notices the
// deletion at its next write, and a restart refuses the missing file
// because the audit log records the orders it held.
func deletedLimitsFile(ctx context.Context, statePath string, log *audit.Log) attempt {
	a := attempt{what: "delete the limits file and restart (caps, kill switch reset)"}
	if err := os.Remove(statePath); err != nil {
		a.result = err.Error()
		return a
	}
	store, err := limits.OpenFileStoreContext(ctx, statePath, limits.WithAuditLog(log))
	if err == nil {
		store.Close()
		a.result = "a fresh state was created: the caps and the kill switch reset"
		return a
	}
	a.refused = errors.Is(err, limits.ErrStateMissing)
	a.result = "state: missing file refused (the audit log records its orders); rebuild: keyfence state rebuild"
	if !a.refused {
		a.result = "failed otherwise: " + err.Error()
	}
	return a
}
