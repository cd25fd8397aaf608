package gateway_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/keyfence/keyfence/gateway"
	"github.com/keyfence/keyfence/signer"
)

// A client credential for a bot: the bot gets the Issued values once; the
// registry keeps them sealed under a keystore key.
func ExampleNewClient() {
	keys := signer.NewMemory() // in production: keystore.Keystore.Signer()
	defer keys.Close()
	_ = keys.Import(signer.KeyInfo{Name: gateway.RegistryKeyName, Venue: "gateway", APIKey: "registry", Type: signer.KeyHMAC},
		[]byte("a random 32-byte key, made once and kept sealed"), nil)
	dir, _ := os.MkdirTemp("", "kf-example-")
	defer os.RemoveAll(dir)
	clients, err := gateway.OpenClients(context.Background(), filepath.Join(dir, "gateway-clients.json"), keys, gateway.RegistryKeyName)
	if err != nil {
		fmt.Println(err)
		return
	}
	cl, issued, err := gateway.NewClient("bot", gateway.Binance, "binance-main", gateway.IssueOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := clients.Add(cl); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(issued.Venue, len(issued.APIKey), len(issued.Secret), issued.Passphrase == "")
	fmt.Println(cl) // no secret
	for _, ci := range clients.List() {
		fmt.Println(ci.Name, ci.Venue, ci.Credential, ci.KeyType)
	}
	// Output:
	// binance 64 64 true
	// gateway client bot (binance hmac, credential binance-main)
	// bot binance binance-main hmac
}
