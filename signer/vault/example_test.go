package vault_test

import (
	"context"
	"fmt"
	"log"

	"github.com/keyfence/keyfence/signer"
	"github.com/keyfence/keyfence/signer/vault"
	"github.com/keyfence/keyfence/signer/vault/vaulttest"
)

// A Binance secret imported into Vault Transit signs an order's query.
// Here Vault is the in-repo fake; a bot uses vault.ConfigFromEnv(nil).
func Example() {
	ctx := context.Background()
	fake := vaulttest.NewServer("transit", "", "example-token")
	defer fake.Close()
	b, err := vault.New(ctx, vault.Config{Address: fake.URL, Token: signer.NewSecret([]byte("example-token"))})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	secret := []byte("NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j")
	_, err = b.Import(ctx, "vault://transit/binance-main", signer.KeyInfo{Name: "binance-main", Venue: "binance", Type: signer.KeyHMAC}, secret, nil)
	signer.Wipe(secret)
	if err != nil {
		log.Fatal(err)
	}
	// Binance's documented example request and signature.
	mac, err := b.Sign(ctx, "binance-main", signer.HMACSHA256,
		[]byte("symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%x\n", mac)
	// Output: c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71
}
