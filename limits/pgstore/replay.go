package pgstore

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ErrReplayKey: Admit was given an empty key or one longer than 64 bytes;
// pass a digest of the signed request.
var ErrReplayKey = errors.New("pgstore: a replay key must be a digest of 1 to 64 bytes; pass a hash of the signed request")

// replayQueries are the statements of Admit with the schema filled in.
type replayQueries struct{ freeKey, insert, sweep string }

func newReplayQueries(ident string) replayQueries {
	r := strings.NewReplacer("{S}", ident, "{clock}", clockNS)
	return replayQueries{
		freeKey: r.Replace(`DELETE FROM {S}.replays WHERE key = $1 AND expires_ns <= {clock}`),
		insert:  r.Replace(`INSERT INTO {S}.replays (key, expires_ns) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`),
		sweep:   r.Replace(`DELETE FROM {S}.replays WHERE expires_ns <= {clock}`),
	}
}

// replaySweep is how often a store deletes every expired replay key; in
// between, Admit deletes the expired row of its own key only.
const replaySweep = time.Second

// Admit implements gateway.ReplayGuard: it records key (a digest of a
// signed request, never the signature) until expires and reports whether
// the request is seen for the first time. Every gateway whose store shares
// the schema shares the record, so a request is admitted by one of them
// only. A key whose expiry has passed by the database's clock is free
// again. An error (an *Error when the database fails) means undecided:
// refuse the request.
func (s *Store) Admit(ctx context.Context, key []byte, expires time.Time) (bool, error) {
	if len(key) == 0 || len(key) > 64 {
		return false, ErrReplayKey
	}
	sweep := false
	now := time.Now().UnixNano()
	if last := s.replaySwept.Load(); now-last >= int64(replaySweep) {
		sweep = s.replaySwept.CompareAndSwap(last, now)
	}
	var admitted bool
	err := s.tx(ctx, "admit", func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		if sweep {
			b.Queue(s.rq.sweep)
		} else {
			b.Queue(s.rq.freeKey, key)
		}
		b.Queue(s.rq.insert, key, expires.UnixNano()).Exec(func(ct pgconn.CommandTag) error {
			admitted = ct.RowsAffected() == 1
			return nil
		})
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return false, err
	}
	return admitted, nil
}
