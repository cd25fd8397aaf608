package audit_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/keyfence/keyfence/audit"
)

// sixLines returns the lines (with newlines) of a valid log of six records
// and the log's head.
func sixLines(t *testing.T) ([]string, audit.Anchor) {
	t.Helper()
	path, l := openLog(t)
	appendN(t, l, 0, 6)
	head := l.Head()
	l.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	return lines[:len(lines)-1], head
}

// forge returns a record that continues the chain after line prev with a
// correct hash, as someone who can write the file could.
func forge(t *testing.T, prev string, intent string) string {
	t.Helper()
	var p audit.Record
	if err := jsonUnmarshal(prev, &p); err != nil {
		t.Fatal(err)
	}
	r := *record(99)
	r.Time, r.Intent, r.Seq, r.Prev = p.Time, intent, p.Seq+1, p.Hash
	h, err := r.ComputeHash()
	if err != nil {
		t.Fatal(err)
	}
	r.Hash = h
	return jsonMarshal(t, r) + "\n"
}

func TestVerifyDetectsTampering(t *testing.T) {
	lines, head := sixLines(t)
	type mutation func(l []string) []string
	edit := func(k int, old, new string) mutation {
		return func(l []string) []string {
			l[k-1] = strings.Replace(l[k-1], old, new, 1)
			return l
		}
	}
	tests := []struct {
		name   string
		mutate mutation
		line   int
		reason string
	}{
		{"edit intent of line 3", edit(3, "@ 50002", "@ 5"), 3, "hash does not match"},
		{"edit decision of line 1", edit(1, `"allow"`, `"deny"`), 1, "hash does not match"},
		{"edit seq of line 4", edit(4, `"seq":4`, `"seq":40`), 4, "hash does not match"},
		{"reformat line 2", edit(2, `,"venue"`, `, "venue"`), 2, "canonical"},
		{"add field to line 2", edit(2, `{"seq"`, `{"x":1,"seq"`), 2, "canonical"},
		{"duplicate key in line 2", edit(2, `{"seq":2`, `{"seq":9,"seq":2`), 2, "canonical"},
		{"zone spelled +01:00", edit(2, `"time":"2026-11-24T12:00:00.002Z"`, `"time":"2026-11-24T13:00:00.002+01:00"`), 2, "hash does not match"},
		{"zone spelled +00:00", edit(2, `.002Z"`, `.002+00:00"`), 2, "canonical"},
		{"letter escaped", edit(2, `"bot-main"`, `"bot-m\u0061in"`), 2, "canonical"},
		{"duplicate hashed key", edit(2, `"venue":"binance"`, `"venue":"kraken","venue":"binance"`), 2, "canonical"},
		{"unknown field before hash", edit(2, `,"hash":`, `,"note":"x","hash":`), 2, "canonical"},
		{"prev in uppercase", func(l []string) []string {
			p := mustRecord(t, l[2]).Prev.String()
			l[2] = strings.Replace(l[2], p, strings.ToUpper(p), 1)
			return l
		}, 3, "lowercase hex"},
		{"prev of another record, hash recomputed", func(l []string) []string {
			l[2] = rehash(t, l[2], func(r *audit.Record) { r.Prev = mustRecord(t, l[0]).Hash })
			return l
		}, 3, "prev does not match"},
		{"remove line 4", func(l []string) []string { return append(l[:3], l[4:]...) }, 4, "seq is 5, want 4"},
		{"remove line 1", func(l []string) []string { return l[1:] }, 1, "seq is 2, want 1"},
		{"insert copy of line 2 at 4", func(l []string) []string {
			return append(l[:3], append([]string{l[1]}, l[3:]...)...)
		}, 4, "seq is 2, want 4"},
		{"insert forged record after line 3", func(l []string) []string {
			return append(l[:3:3], append([]string{forge(t, l[2], "forged")}, l[3:]...)...)
		}, 5, "seq is 4, want 5"},
		{"swap lines 2 and 5", func(l []string) []string {
			l[1], l[4] = l[4], l[1]
			return l
		}, 2, "seq is 5, want 2"},
		{"swap adjacent lines 5 and 6", func(l []string) []string {
			l[4], l[5] = l[5], l[4]
			return l
		}, 5, "seq is 6, want 5"},
		{"truncated last line", func(l []string) []string {
			l[5] = l[5][:len(l[5])/2]
			return l
		}, 6, "incomplete"},
		{"last newline removed", func(l []string) []string {
			l[5] = strings.TrimSuffix(l[5], "\n")
			return l
		}, 6, "incomplete"},
		{"blank line", func(l []string) []string { return append(l[:2], append([]string{"\n"}, l[2:]...)...) }, 3, "not a record"},
		{"edit with hash recomputed", func(l []string) []string {
			l[2] = rehash(t, l[2], func(r *audit.Record) { r.Intent = "SELL" })
			return l
		}, 4, "prev does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := strings.Join(tt.mutate(append([]string(nil), lines...)), "")
			_, err := audit.Verify(context.Background(), strings.NewReader(in))
			var ce *audit.ChainError
			if !errors.Is(err, audit.ErrBroken) || !errors.As(err, &ce) {
				t.Fatalf("Verify = %v, want a ChainError", err)
			}
			if ce.Line != tt.line || !strings.Contains(ce.Reason, tt.reason) {
				t.Errorf("ChainError at line %d (%s), want line %d (%s)", ce.Line, ce.Reason, tt.line, tt.reason)
			}
		})
	}

	t.Run("untouched", func(t *testing.T) {
		rep, err := audit.Verify(context.Background(), strings.NewReader(strings.Join(lines, "")))
		if err != nil || rep.Last != head || rep.Records != 6 {
			t.Errorf("Verify = %+v, %v", rep, err)
		}
	})
}

// rehash returns line with the record changed by edit and its hash
// recomputed, as someone who can write the file could.
func rehash(t *testing.T, line string, edit func(r *audit.Record)) string {
	t.Helper()
	r := mustRecord(t, line)
	edit(&r)
	var err error
	if r.Hash, err = r.ComputeHash(); err != nil {
		t.Fatal(err)
	}
	return jsonMarshal(t, r) + "\n"
}

func TestVerifyCheckpoints(t *testing.T) {
	lines, head := sixLines(t)
	all := strings.Join(lines, "")
	cut := strings.Join(lines[:4], "")
	ctx := context.Background()

	// Cutting whole records from the end is invisible without a checkpoint.
	if _, err := audit.Verify(ctx, strings.NewReader(cut)); err != nil {
		t.Fatalf("Verify of a cut log = %v; expected it to pass without a checkpoint", err)
	}

	tests := []struct {
		name string
		in   string
		cps  []audit.Anchor
		line int // 0: no error
	}{
		{"head of full log", all, []audit.Anchor{head}, 0},
		{"older checkpoint", all, []audit.Anchor{{Seq: 2, Hash: mustRecord(t, lines[1]).Hash}}, 0},
		{"tail removed", cut, []audit.Anchor{head}, 5},
		{"wrong hash", all, []audit.Anchor{{Seq: 3, Hash: head.Hash}}, 3},
		{"everything removed", "", []audit.Anchor{head}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := audit.Verifier{Checkpoints: tt.cps}
			_, err := v.Verify(ctx, strings.NewReader(tt.in))
			if tt.line == 0 {
				if err != nil {
					t.Errorf("Verify = %v", err)
				}
				return
			}
			var ce *audit.ChainError
			if !errors.As(err, &ce) || ce.Line != tt.line {
				t.Errorf("Verify = %v, want a ChainError at line %d", err, tt.line)
			}
		})
	}
}

func TestVerifyStart(t *testing.T) {
	lines, _ := sixLines(t)
	rest := strings.Join(lines[3:], "")
	third := mustRecord(t, lines[2])
	ctx := context.Background()

	if _, err := audit.Verify(ctx, strings.NewReader(rest)); !errors.Is(err, audit.ErrBroken) {
		t.Errorf("Verify of a log without its start = %v, want ErrBroken", err)
	}
	tests := []struct {
		name string
		v    audit.Verifier
		ok   bool
	}{
		{"after the right record", audit.Verifier{After: &audit.Anchor{Seq: 3, Hash: third.Hash}}, true},
		{"after the wrong hash", audit.Verifier{After: &audit.Anchor{Seq: 3, Hash: audit.Digest{31: 1}}}, false},
		{"after a zero hash", audit.Verifier{After: &audit.Anchor{Seq: 3}}, false},
		{"after the wrong seq", audit.Verifier{After: &audit.Anchor{Seq: 2, Hash: third.Hash}}, false},
		{"any start", audit.Verifier{AnyStart: true}, true},
	}
	// Only record 1 may carry the zero Prev: a later record with it starts
	// no chain, even with AnyStart.
	noPrev := rehash(t, lines[3], func(r *audit.Record) { r.Prev = audit.Digest{} })
	if _, err := (&audit.Verifier{AnyStart: true}).Verify(ctx, strings.NewReader(noPrev)); !errors.Is(err, audit.ErrBroken) || !strings.Contains(err.Error(), "zero digest") {
		t.Errorf("Verify of record 4 with the zero prev = %v, want ErrBroken", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := tt.v.Verify(ctx, strings.NewReader(rest))
			if tt.ok && (err != nil || rep.First.Seq != 4 || rep.Records != 3) {
				t.Errorf("Verify = %+v, %v; want records 4 to 6", rep, err)
			}
			if !tt.ok && !errors.Is(err, audit.ErrBroken) {
				t.Errorf("Verify = %v, want ErrBroken", err)
			}
		})
	}
}

func TestVerifyEmpty(t *testing.T) {
	rep, err := audit.Verify(context.Background(), strings.NewReader(""))
	if err != nil || rep.Records != 0 {
		t.Errorf("Verify(empty) = %+v, %v", rep, err)
	}
}

func TestVerifyLongLine(t *testing.T) {
	in := strings.Repeat("x", audit.MaxLineBytes+10) + "\n"
	_, err := audit.Verify(context.Background(), strings.NewReader(in))
	var ce *audit.ChainError
	if !errors.As(err, &ce) || ce.Line != 1 || !strings.Contains(ce.Reason, "longer") {
		t.Errorf("Verify = %v, want a ChainError for a long line 1", err)
	}
}

func TestVerifyCancelled(t *testing.T) {
	lines, _ := sixLines(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := audit.Verify(ctx, strings.NewReader(strings.Join(lines, ""))); !errors.Is(err, context.Canceled) {
		t.Errorf("Verify = %v, want context.Canceled", err)
	}
}

func TestChainErrorMessage(t *testing.T) {
	err := &audit.ChainError{File: "a.jsonl", Line: 3, Seq: 7, Reason: "r"}
	want := "audit: chain broken at a.jsonl:3 (seq 7): r; treat the log as tampered with and investigate"
	if err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
	if !errors.Is(fmt.Errorf("wrapped: %w", err), audit.ErrBroken) {
		t.Error("wrapped ChainError is not ErrBroken")
	}
}

func mustRecord(t *testing.T, line string) audit.Record {
	t.Helper()
	var r audit.Record
	if err := jsonUnmarshal(line, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestVerifyErrorsDoNotEchoContent(t *testing.T) {
	const canary = "CANARY-7d2e-secret-value"
	lines, _ := sixLines(t)
	for _, in := range []string{
		canary + "\n",
		`{"seq":"` + canary + `"}` + "\n",
		`{"` + canary + `":1}` + "\n",
		strings.Replace(lines[0], "bot-main", canary, 1),
		lines[0][:30] + canary,
	} {
		_, err := audit.Verify(context.Background(), strings.NewReader(in))
		if err == nil {
			t.Fatalf("Verify accepted %q", in)
		}
		if strings.Contains(err.Error(), canary) || strings.Contains(err.Error(), canary[:8]) {
			t.Errorf("error echoes log content: %v", err)
		}
	}
}
