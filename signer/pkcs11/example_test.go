//go:build cgo

package pkcs11_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"log"

	"github.com/keyfence/keyfence/signer"
	"github.com/keyfence/keyfence/signer/pkcs11"
)

// Import an exchange's HMAC secret into a token once, keep the URI in the
// keystore, and sign with the key on the token.
func Example() {
	ctx := context.Background()
	pin := signer.NewSecret([]byte("user PIN read from a prompt"))
	defer pin.Close()
	b, err := pkcs11.Open(ctx, pkcs11.Config{
		Module: "/usr/lib/softhsm/libsofthsm2.so",
		Token:  "keyfence",
		PIN:    pin,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	secret := []byte("the API secret, read from a prompt")
	info := signer.KeyInfo{Name: "binance-main", Venue: "binance", APIKey: "vmPUZE6mv9SD5VNH", Type: signer.KeyHMAC}
	imp, err := b.Import(ctx, info, secret, nil, signer.HMACSHA256)
	signer.Wipe(secret)
	if err != nil {
		log.Fatal(err) // errors.Is(err, pkcs11.ErrUnsupportedKey) if the token cannot use the key
	}
	fmt.Println("keystore entry:", imp.URI, imp.Algorithms)

	mac, err := b.Sign(ctx, "binance-main", signer.HMACSHA256, []byte("symbol=LTCBTC&side=BUY&timestamp=1499827319559"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(hex.EncodeToString(mac))
}

// A later process opens the token from the stored URI and registers the
// metadata the keystore holds.
func ExampleOpenURI() {
	ctx := context.Background()
	u, err := pkcs11.ParseURI("pkcs11:token=keyfence;object=binance-main;type=secret-key?module-path=/usr/lib/softhsm/libsofthsm2.so")
	if err != nil {
		log.Fatal(err)
	}
	pin := signer.NewSecret([]byte("user PIN read from a prompt"))
	defer pin.Close()
	b, err := pkcs11.OpenURI(ctx, u, pin)
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	err = b.Register(ctx, signer.KeyInfo{Name: "binance-main", Venue: "binance", APIKey: "vmPUZE6mv9SD5VNH"}, u)
	if err != nil {
		log.Fatal(err)
	}
	info, err := b.Info(ctx, "binance-main")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(info.Venue, info.Type, info.Backend)
}

// Generate an Ed25519 key on the token; register its public key with the
// venue.
func ExampleBackend_Generate() {
	ctx := context.Background()
	pin := signer.NewSecret([]byte("user PIN read from a prompt"))
	defer pin.Close()
	b, err := pkcs11.Open(ctx, pkcs11.Config{Module: "/usr/lib/softhsm/libsofthsm2.so", Token: "keyfence", PIN: pin})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	if _, err := b.Generate(ctx, signer.KeyInfo{Name: "binance-ed", Venue: "binance", Type: signer.KeyEd25519}); err != nil {
		log.Fatal(err)
	}
	info, err := b.Info(ctx, "binance-ed")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("public key: %x\n", info.Public)
}

func ExampleParseURI() {
	u, err := pkcs11.ParseURI("pkcs11:token=keyfence;object=kraken%20main;id=%01%02;type=secret-key")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(u.Token, u.Object, u.ID, u.Type)
	fmt.Println(u)

	_, err = pkcs11.ParseURI("pkcs11:token=keyfence?pin-value=1234")
	fmt.Println(err)
	// Output:
	// keyfence kraken main [1 2] secret-key
	// pkcs11:token=keyfence;object=kraken%20main;id=%01%02;type=secret-key
	// pkcs11: the URI carries a PIN (pin-value); remove it and pass the PIN separately
}
