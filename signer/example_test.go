package signer_test

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/keyfence/keyfence/signer"
)

// A Memory backend holds a key by name and signs with it; the caller never
// gets the key back. The secret here is the published Binance documentation
// example.
func ExampleMemory() {
	m := signer.NewMemory()
	defer m.Close()

	secret := []byte("NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j")
	err := m.Import(signer.KeyInfo{
		Name:   "binance-main",
		Venue:  "binance",
		APIKey: "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A",
		Type:   signer.KeyHMAC,
	}, secret, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	signer.Wipe(secret) // Memory keeps its own copy

	ctx := context.Background()
	query := "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
	sig, err := m.Sign(ctx, "binance-main", signer.HMACSHA256, []byte(query))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(hex.EncodeToString(sig))

	info, _ := m.Info(ctx, "binance-main")
	fmt.Println(info.Venue, info.Type, info.Backend)

	_, err = m.Sign(ctx, "binance-main", signer.Ed25519, []byte(query))
	fmt.Println(errors.Is(err, signer.ErrWrongAlgorithm))
	_, err = m.Sign(ctx, "kraken-main", signer.HMACSHA512, []byte(query))
	fmt.Println(err)
	// Output:
	// c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71
	// binance hmac memory
	// true
	// signer: sign "kraken-main": signer: no such key
}

// AppendSign appends the MAC to a buffer the caller provides, as
// hash.Hash.Sum appends a digest: a backend that implements AppendSigner
// allocates nothing when the buffer has room. The key is the published
// Binance documentation example.
func ExampleAppendSign() {
	m := signer.NewMemory()
	defer m.Close()
	err := m.Import(signer.KeyInfo{Name: "binance-main", Venue: "binance", Type: signer.KeyHMAC},
		[]byte("NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	query := []byte("symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559")
	buf := make([]byte, 0, 256)
	buf, err = signer.AppendSign(context.Background(), m, buf, "binance-main", signer.HMACSHA256, query)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(hex.EncodeToString(buf))
	// Output:
	// c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71
}

// KuCoin key versions 2 and 3 send HMAC-SHA256(secret, passphrase) in
// place of the passphrase; the backend computes it without handing out
// either. The inputs are KuCoin's SDK test values.
func ExampleMemory_SignPassphrase() {
	m := signer.NewMemory()
	defer m.Close()
	if err := m.Import(signer.KeyInfo{Name: "kucoin", Venue: "kucoin", Type: signer.KeyHMAC},
		[]byte("test_api_secret"), []byte("test_passphrase")); err != nil {
		fmt.Println(err)
		return
	}
	sig, err := m.SignPassphrase(context.Background(), "kucoin", signer.HMACSHA256)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%x\n", sig[:8])
	// Output:
	// 224afd2a3c20038b
}

// A Secret prints as [REDACTED] whatever the verb, encoder or logger.
func ExampleSecret() {
	s := signer.NewSecret([]byte("hunter2"))
	defer s.Close()

	fmt.Println(s)
	fmt.Printf("%x %q %#v\n", s, s, s)
	fmt.Println(fmt.Errorf("cannot use key %v: %w", s, signer.ErrInvalidKey))

	log := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // keep the output stable
			}
			return a
		},
	}))
	log.Info("loaded", "secret", s)

	// Only Use sees the bytes.
	_ = s.Use(func(b []byte) error {
		fmt.Println(len(b), "bytes")
		return nil
	})
	// Output:
	// [REDACTED]
	// [REDACTED] [REDACTED] [REDACTED]
	// cannot use key [REDACTED]: signer: invalid key material
	// level=INFO msg=loaded secret=[REDACTED]
	// 7 bytes
}
