package keystore_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/keyfence/keyfence/keystore"
	"github.com/keyfence/keyfence/signer"
)

// A keystore is created once, keys are added to it, and a bot opens it and
// signs through the Signer it unlocks. The key is Binance's documentation
// example; the Argon2id parameters are small so that the example runs fast
// (keep the defaults in production).
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "keystore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "keys.json")
	pass := []byte("correct horse battery staple")
	fast := keystore.WithKDFParams(keystore.KDFParams{Time: 1, MemoryKiB: 8 * 1024, Threads: 1})

	ks, err := keystore.Create(ctx, path, pass, fast)
	if err != nil {
		log.Fatal(err)
	}
	secret := []byte("NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j")
	err = ks.Add(ctx, keystore.Entry{
		Name:   "binance-main",
		Venue:  "binance",
		APIKey: "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A",
		Type:   signer.KeyHMAC,
	}, secret, nil)
	signer.Wipe(secret)
	if err != nil {
		log.Fatal(err)
	}
	ks.Close()

	// Later, in the bot.
	ks, err = keystore.Open(ctx, path, pass)
	if err != nil {
		log.Fatal(err)
	}
	defer ks.Close()
	for _, e := range ks.Entries() {
		fmt.Println(e.Name, e.Venue, e.Type, e.Backend)
	}
	s := ks.Signer()
	payload := "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
	sig, err := s.Sign(ctx, "binance-main", signer.HMACSHA256, []byte(payload))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(hex.EncodeToString(sig))
	// Output:
	// binance-main binance hmac keystore
	// c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71
}

// Many entries are added with one atomic write in a transaction; if any
// Add fails, nothing is written.
func ExampleKeystore_Update() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "keystore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ks, err := keystore.Create(ctx, filepath.Join(dir, "keys.json"), []byte("passphrase"),
		keystore.WithKDFParams(keystore.KDFParams{Time: 1, MemoryKiB: 8 * 1024, Threads: 1}))
	if err != nil {
		log.Fatal(err)
	}
	defer ks.Close()
	err = ks.Update(ctx, func(tx *keystore.Tx) error {
		if err := tx.Add(keystore.Entry{Name: "kucoin-main", Venue: "kucoin", APIKey: "kucoin-api-key", Type: signer.KeyHMAC},
			[]byte("kucoin secret from the venue"), []byte("kucoin api passphrase")); err != nil {
			return err
		}
		// The secret of this key never leaves the HSM; the keystore records
		// where it is.
		return tx.AddReference(keystore.Entry{Name: "binance-hsm", Venue: "binance", APIKey: "binance-api-key", Type: signer.KeyEd25519,
			URI: "pkcs11:token=trading;object=binance-hsm"}, nil)
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range ks.Entries() {
		fmt.Println(e.Name, e.Backend, e.URI, e.HasPassphrase)
	}
	// Output:
	// binance-hsm pkcs11 pkcs11:token=trading;object=binance-hsm false
	// kucoin-main keystore  true
}
