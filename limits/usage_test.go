package limits

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
)

// failingReserve is a store whose Reserve fails.
type failingReserve struct{ *MemoryStore }

func (failingReserve) Reserve(context.Context, *ReserveRequest) (Ticket, error) {
	return "", errors.New("store down")
}

func TestGuardUsage(t *testing.T) {
	file := func(t *testing.T) Store {
		fs, err := OpenFileStore(filepath.Join(t.TempDir(), "state"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = fs.Close() })
		return fs
	}
	for name, mk := range map[string]func(*testing.T) Store{
		"memory": func(*testing.T) Store { return NewMemoryStore() },
		"file":   file,
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, testPolicy, mk(t))
			ctx := context.Background()
			usage := func() string {
				t.Helper()
				u, err := f.guard.Usage(ctx, "main")
				if err != nil {
					t.Fatal(err)
				}
				var b strings.Builder
				for _, c := range u.Notional {
					b.WriteString(c.Symbol + "/" + c.Quote + " " + c.Used.String() + " of " + c.Cap.String() + " per " + c.Window.String() + "; ")
				}
				b.WriteString("open " + itoa(u.OpenOrders) + " of " + itoa(u.MaxOpenOrders))
				return b.String()
			}
			want := func(w string) {
				t.Helper()
				if got := usage(); got != w {
					t.Fatalf("usage:\n got %s\nwant %s", got, w)
				}
			}
			want("BTCUSDT/USDT 0 of 1500 per 24h0m0s; /USDT 0 of 2000 per 24h0m0s; open 0 of 3")
			// A reservation (outcome not known yet) counts as used.
			f.mustAllow(trade("main", limit("BTCUSDT", exchange.Buy, "100", "2")))
			want("BTCUSDT/USDT 200 of 1500 per 24h0m0s; /USDT 200 of 2000 per 24h0m0s; open 1 of 3")
			res := f.mustAllow(trade("main", limit("ETHUSDT", exchange.Buy, "10", "5")))
			want("BTCUSDT/USDT 200 of 1500 per 24h0m0s; /USDT 250 of 2000 per 24h0m0s; open 2 of 3")
			// Released: the budget comes back.
			if err := res.Release(ctx, errors.New("the venue refused it")); err != nil {
				t.Fatal(err)
			}
			want("BTCUSDT/USDT 200 of 1500 per 24h0m0s; /USDT 200 of 2000 per 24h0m0s; open 1 of 3")
			// Reading changes nothing: the rest of the daily cap is still there.
			usage()
			f.mustAllow(trade("main", limit("BTCUSDT", exchange.Buy, "100", "5")))
			want("BTCUSDT/USDT 700 of 1500 per 24h0m0s; /USDT 700 of 2000 per 24h0m0s; open 2 of 3")
			// The window rolls; the open orders stay held.
			f.clock.Advance(DailyWindow + time.Second)
			want("BTCUSDT/USDT 0 of 1500 per 24h0m0s; /USDT 0 of 2000 per 24h0m0s; open 2 of 3")

			u, err := f.guard.Usage(ctx, "wide")
			if err != nil || len(u.Notional) != 1 || u.Notional[0].Symbol != "" || !u.Notional[0].Cap.Equal(dec("100")) || u.MaxOpenOrders != 1000 {
				t.Fatalf("wide: %+v %v", u, err)
			}
			b, err := json.Marshal(u)
			if err != nil || !strings.Contains(string(b), `"window":"24h0m0s"`) || !strings.Contains(string(b), `"cap":"100"`) {
				t.Fatalf("JSON: %s %v", b, err)
			}
			var back Usage
			if err := json.Unmarshal(b, &back); err != nil || back.Notional[0].Window != DailyWindow || !back.Notional[0].Cap.Equal(u.Notional[0].Cap) {
				t.Fatalf("JSON round trip: %+v %v", back, err)
			}
		})
	}
	t.Run("errors", func(t *testing.T) {
		f := newFixture(t, testPolicy, nil)
		if _, err := f.guard.Usage(context.Background(), "nobody"); !errors.Is(err, ErrUnknownCredential) {
			t.Fatalf("unknown credential: %v", err)
		}
		f = newFixture(t, testPolicy, failingReserve{NewMemoryStore()})
		if _, err := f.guard.Usage(context.Background(), "main"); err == nil || !strings.Contains(err.Error(), "store down") {
			t.Fatalf("a failing store reads as %v; want its error, never zero usage", err)
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
