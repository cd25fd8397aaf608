package audit_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/keyfence/keyfence/audit"
)

var epoch = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// fixedClock returns a clock that advances one millisecond per call. It is
// only used under the Log's own serialisation or from one goroutine.
func fixedClock() func() time.Time {
	t := epoch
	return func() time.Time {
		t = t.Add(time.Millisecond)
		return t
	}
}

func record(i int) *audit.Record {
	d, rule := audit.Allow, ""
	if i%3 == 2 {
		d, rule = audit.Deny, "notional"
	}
	return &audit.Record{
		Credential:    "bot-main",
		Venue:         "binance",
		Class:         "trade",
		Route:         "POST /api/v3/order",
		Intent:        fmt.Sprintf("BUY LIMIT 0.01 BTCUSDT @ %d", 50000+i),
		Decision:      d,
		Rule:          rule,
		PayloadSHA256: sha256.Sum256(fmt.Appendf(nil, "payload %d", i)),
		PolicySHA256:  audit.Digest{31: 7},
	}
}

func openLog(t testing.TB, opts ...audit.Option) (string, *audit.Log) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	opts = append([]audit.Option{audit.WithClock(fixedClock())}, opts...)
	l, err := audit.Open(context.Background(), path, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return path, l
}

func appendN(t testing.TB, l *audit.Log, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		if err := l.Append(context.Background(), record(i)); err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

func jsonMarshal(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
