package signertest

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"sync"
	"testing"

	"github.com/keyfence/keyfence/signer"
)

// goroutines is how many goroutines the concurrency check signs from.
const goroutines = 64

func testConcurrent(t *testing.T, h Harness) {
	var bn Key
	for _, k := range venueKeys() {
		if k.Info.Name == "binance" {
			bn = k
		}
	}
	ev := rfc8032Vectors()[1] // TEST 2
	seed, err := decodeHex(ev.seed)
	if err != nil {
		t.Fatal(err)
	}
	ed, _, err := ed25519Key("concurrent-ed25519", seed, edSeed)
	if err != nil {
		t.Fatal(err)
	}
	b := open(t, h, bn, ed)

	rest := venueVectors()[0] // Binance REST, HMAC-SHA256
	want256, _ := hex.DecodeString(rest.want)
	mac := hmac.New(sha512.New, []byte(binanceSecret))
	mac.Write(rest.msg)
	want512 := mac.Sum(nil)
	edMsg, _ := decodeHex(ev.msg)
	wantEd, _ := decodeHex(ev.sig)

	type job struct {
		key  string
		alg  signer.Algorithm
		msg  []byte
		want []byte
	}
	cases := []struct {
		name string
		jobs []job
	}{
		{"HMAC", []job{
			{"binance", signer.HMACSHA256, rest.msg, want256},
			{"binance", signer.HMACSHA512, rest.msg, want512},
		}},
		{"Ed25519", []job{{"concurrent-ed25519", signer.Ed25519, edMsg, wantEd}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b.need(t, c.jobs[0].key)
			const rounds = 8
			start := make(chan struct{})
			errs := make([]error, goroutines)
			var wg sync.WaitGroup
			for g := range goroutines {
				wg.Go(func() {
					<-start
					for r := range rounds {
						j := c.jobs[(g+r)%len(c.jobs)]
						got, err := b.Sign(t.Context(), j.key, j.alg, j.msg)
						if err != nil {
							errs[g] = fmt.Errorf("goroutine %d: Sign %s: %w", g, j.alg, err)
							return
						}
						if !bytes.Equal(got, j.want) {
							errs[g] = fmt.Errorf("goroutine %d: %s = %x, want %x", g, j.alg, got, j.want)
							return
						}
					}
				})
			}
			close(start)
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
}
