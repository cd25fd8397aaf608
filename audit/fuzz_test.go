package audit_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/keyfence/keyfence/audit"
)

// FuzzVerify feeds arbitrary bytes to Verify: it must never panic, and it
// must either accept a consistent chain or report a ChainError.
func FuzzVerify(f *testing.F) {
	f.Add([]byte(""))
	f.Add([]byte("\n"))
	f.Add([]byte("{}\n"))
	f.Add([]byte(`{"seq":1,"hash":""}` + "\n"))
	f.Add([]byte(`{"seq":1,"time":"2026-11-24T12:00:00Z","credential":"a","venue":"b","class":"c","decision":"allow","prev":"` + audit.ZeroHash + `","hash":"00"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, v := range []audit.Verifier{{}, {AnyStart: true}, {Checkpoints: []audit.Anchor{{Seq: 2, Hash: audit.ZeroHash}}}} {
			rep, err := v.Verify(context.Background(), bytes.NewReader(data))
			if err != nil {
				var ce *audit.ChainError
				if !errors.Is(err, audit.ErrBroken) || !errors.As(err, &ce) || ce.Line < 1 {
					t.Fatalf("Verify = %v, want a ChainError with a line", err)
				}
				continue
			}
			if rep.Records > 0 && rep.Last.Seq-rep.First.Seq != uint64(rep.Records-1) {
				t.Fatalf("report %+v: seqs do not match the record count", rep)
			}
			if rep.Records == 0 && len(data) > 0 {
				t.Fatalf("accepted %d bytes with no record", len(data))
			}
		}
	})
}
