package gateway

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/exchangetest"
	"github.com/keyfence/keyfence/limits"
	"github.com/keyfence/keyfence/signer"
)

// benchPolicy lets the load through: caps far above what a run places.
const benchPolicy = `version: 1
credentials:
  binance-main:
    venue: binance
    allow: [read, trade, cancel]
    order_types: [LIMIT, MARKET]
    max_open_orders: 1000000
    price_band: "5%"
    quotes:
      USDT: {max_order_notional: "1000", max_daily_notional: "1000000000000"}
    symbols:
      BTCUSDT: {}
`

// loadTarget is where a load run sends orders: a base URL and the key
// that signs them there.
type loadTarget struct {
	base, apiKey, secret string
}

// benchStack is the simulated Binance (answering after latency, rate
// limits out of the way) with the three ways to reach it: straight, through
// the gateway (durable audit log and limit state on disk), and through a
// bare reverse proxy.
type benchStack struct {
	direct, gateway, proxy loadTarget
	gw                     *Gateway
}

func newBenchStack(b *testing.B, latency time.Duration) *benchStack {
	b.Helper()
	ctx := context.Background()
	const venueKey, venueSecret = "bench-venue-key", "bench-venue-secret"
	sim := exchangetest.NewBinance(exchangetest.WithBinanceLatency(latency), exchangetest.WithBinanceRateLimits(
		exchangetest.BinanceRateLimit{Type: exchangetest.BinanceRequestWeight, Interval: time.Second, Limit: 1 << 30},
		exchangetest.BinanceRateLimit{Type: exchangetest.BinanceOrders, Interval: time.Second, Limit: 1 << 30},
	))
	b.Cleanup(sim.Close)
	sim.AddKey(exchangetest.BinanceKey{APIKey: venueKey, HMACSecret: []byte(venueSecret),
		Permissions: exchange.Permissions{Read: true, Trade: true, IPRestricted: true}})
	// The direct and proxy paths trade on another account: orders placed
	// with the gateway's key outside the gateway are foreign, and its
	// reconciliation would trip the kill switch.
	const directKey, directSecret = "bench-direct-key", "bench-direct-secret"
	sim.AddKey(exchangetest.BinanceKey{APIKey: directKey, HMACSecret: []byte(directSecret),
		Permissions: exchange.Permissions{Read: true, Trade: true, IPRestricted: true}})
	keys := signer.NewMemory()
	b.Cleanup(func() { _ = keys.Close() })
	if err := keys.Import(signer.KeyInfo{Name: "binance-main", Venue: "binance", APIKey: venueKey, Type: signer.KeyHMAC}, []byte(venueSecret), nil); err != nil {
		b.Fatal(err)
	}
	if err := keys.Import(signer.KeyInfo{Name: RegistryKeyName, Venue: "gateway", APIKey: "r", Type: signer.KeyHMAC}, []byte("bench-registry-key-0123456789abcd"), nil); err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	clients, err := OpenClients(ctx, filepath.Join(dir, "clients.json"), keys, RegistryKeyName)
	if err != nil {
		b.Fatal(err)
	}
	cl, issued, err := NewClient("bench", Binance, "binance-main", IssueOptions{})
	if err != nil {
		b.Fatal(err)
	}
	if err := clients.Add(cl); err != nil {
		b.Fatal(err)
	}
	pol, err := limits.ParsePolicy([]byte(benchPolicy))
	if err != nil {
		b.Fatal(err)
	}
	// Durable, as keyfence gateway runs them: the audit record and the
	// reservation are written before signing and fsynced while the venue
	// answers; no answer before they are on disk.
	log, err := audit.Open(ctx, filepath.Join(dir, "audit.jsonl"), audit.NoSync())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = log.Close() })
	store, err := limits.OpenFileStore(filepath.Join(dir, "limits.state"), limits.DeferSync(), limits.WithAuditLog(log))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = store.Close() })
	gw, err := New(ctx, Config{Signer: keys, Policy: pol, Store: store, Audit: log, Clients: clients,
		Upstreams: map[string]string{Binance: sim.URL()}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(gw.Close)
	h, _ := gw.Handler(Binance)
	gs := httptest.NewServer(h)
	b.Cleanup(gs.Close)
	u, _ := url.Parse(sim.URL())
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = NewUpstreamClient().Transport
	ps := httptest.NewServer(rp)
	b.Cleanup(ps.Close)
	return &benchStack{
		gw:      gw,
		direct:  loadTarget{sim.URL(), directKey, directSecret},
		gateway: loadTarget{gs.URL, issued.APIKey, issued.Secret},
		proxy:   loadTarget{ps.URL, directKey, directSecret},
	}
}

// syncStats sums the background group commits of the audit log and the
// limit state, and the records they covered.
func (g *Gateway) syncStats() (syncs, records uint64) {
	for _, s := range g.syncers {
		syncs += s.syncs.Load()
		records += s.records.Load()
	}
	return syncs, records
}

// loadClient is the bots' HTTP client: keep-alive, enough idle
// connections for every worker.
var loadClient = &http.Client{Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256}, Timeout: 30 * time.Second}

var benchSeq atomic.Int64

// placeOrder signs and sends one order that is refused nowhere and rests
// nowhere: a LIMIT IOC buy below the bid, which expires at once.
func placeOrder(t loadTarget) error {
	q := "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=IOC&quantity=0.001&price=45000&newClientOrderId=b" +
		strconv.FormatInt(benchSeq.Add(1), 10) + "&timestamp=" + strconv.FormatInt(time.Now().UnixMilli(), 10)
	m := hmac.New(sha256.New, []byte(t.secret))
	m.Write([]byte(q))
	req, err := http.NewRequest(http.MethodPost, t.base+"/api/v3/order?"+q+"&signature="+hex.EncodeToString(m.Sum(nil)), nil)
	if err != nil {
		return err
	}
	req.Header.Set("X-MBX-APIKEY", t.apiKey)
	resp, err := loadClient.Do(req)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%d %s", resp.StatusCode, body)
	}
	return nil
}

// loadRound sends n orders to t from clients workers and returns how long
// the round took, appending each order's latency to lat.
func loadRound(t loadTarget, clients, n int, lat *[]time.Duration) (time.Duration, error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for next.Add(1) <= int64(n) {
				t0 := time.Now()
				if err := placeOrder(t); err != nil {
					mu.Lock()
					firstErr = cmp.Or(firstErr, err)
					mu.Unlock()
					return
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			*lat = append(*lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return time.Since(start), firstErr
}

// BenchmarkOrdersRatio alternates the three paths in rounds of 200
// orders, so that a change in the machine's load (it is shared) falls on
// all of them alike, and reports the gateway against the direct path
// (throughput ratio, p50 added in ms) and against the bare proxy
// (throughput ratio: capacity).
func BenchmarkOrdersRatio(b *testing.B) {
	const round = 200
	for _, latency := range []time.Duration{2 * time.Millisecond, 0} {
		s := newBenchStack(b, latency)
		for _, clients := range []int{1, 64} {
			b.Run(fmt.Sprintf("venue=%s/clients=%d", latency, clients), func(b *testing.B) {
				paths := []loadTarget{s.direct, s.gateway, s.proxy}
				var took [3]time.Duration
				var lat [3][]time.Duration
				for _, p := range paths { // warm every path's connections
					if _, err := loadRound(p, clients, clients, new([]time.Duration)); err != nil {
						b.Fatal(err)
					}
				}
				syncs0, records0 := s.gw.syncStats()
				b.ResetTimer()
				for done := 0; done < b.N; done += round {
					n := min(round, b.N-done)
					for i, p := range paths {
						d, err := loadRound(p, clients, n, &lat[i])
						if err != nil {
							b.Fatal(err)
						}
						took[i] += d
					}
				}
				b.StopTimer()
				p50 := func(l []time.Duration) float64 {
					slices.Sort(l)
					return float64(l[len(l)/2].Microseconds()) / 1000
				}
				p99 := func(l []time.Duration) float64 { return float64(l[len(l)*99/100].Microseconds()) / 1000 }
				b.ReportMetric(float64(b.N)/took[1].Seconds(), "gw-orders/s")
				b.ReportMetric(took[0].Seconds()/took[1].Seconds(), "gw/direct-x")
				b.ReportMetric(took[2].Seconds()/took[1].Seconds(), "gw/proxy-x")
				b.ReportMetric(p50(lat[1])-p50(lat[0]), "p50-added-ms")
				b.ReportMetric(p50(lat[0]), "direct-p50-ms")
				b.ReportMetric(p99(lat[0]), "direct-p99-ms")
				b.ReportMetric(p99(lat[1]), "gw-p99-ms")
				if syncs, records := s.gw.syncStats(); syncs > syncs0 {
					// Records per background fsync, audit log and limit
					// state together (group commit's batch size).
					b.ReportMetric(float64(records-records0)/float64(syncs-syncs0), "records/fsync")
				}
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}

// runLoad sends b.N orders from clients concurrent workers and reports
// orders/s and the p50 and p99 latency in milliseconds.
func runLoad(b *testing.B, t loadTarget, clients int) {
	b.Helper()
	if err := placeOrder(t); err != nil { // warm the connections' path
		b.Fatal(err)
	}
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	b.ResetTimer()
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				t0 := time.Now()
				if err := placeOrder(t); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if err, _ := firstErr.Load().(error); err != nil {
		b.Fatal(err)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "orders/s")
	b.ReportMetric(float64(lat[b.N/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[b.N*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkOrders measures a plain signed-HTTP bot placing orders straight
// at the simulated Binance (direct), through the gateway (durable audit
// log, limit state on disk) and through a bare httputil.ReverseProxy
// (proxy), with the venue answering after 2 ms and at once, at 1 and 64
// concurrent clients. Compare gateway against direct (overhead) and proxy
// (capacity) in the same run.
func BenchmarkOrders(b *testing.B) {
	for _, latency := range []time.Duration{2 * time.Millisecond, 0} {
		s := newBenchStack(b, latency)
		for _, clients := range []int{1, 64} {
			for _, path := range []struct {
				name string
				t    loadTarget
			}{{"direct", s.direct}, {"gateway", s.gateway}, {"proxy", s.proxy}} {
				b.Run(fmt.Sprintf("venue=%s/clients=%d/%s", latency, clients, path.name), func(b *testing.B) {
					runLoad(b, path.t, clients)
				})
			}
		}
	}
}
