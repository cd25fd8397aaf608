package awskms_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/keyfence/keyfence/keystore"
	"github.com/keyfence/keyfence/signer"
	"github.com/keyfence/keyfence/signer/awskms"
	"github.com/keyfence/keyfence/signer/awskms/awskmstest"
)

// A bot's keystore holds an entry that points at a KMS key; the keystore's
// Signer signs through KMS. Here the KMS is the in-repo fake; in
// production New reads the standard AWS configuration.
func Example() {
	ctx := context.Background()
	fake := awskmstest.NewServer("AKIAEXAMPLE", "example-secret")
	defer fake.Close()
	b, err := awskms.New(ctx, awskms.WithConfig(aws.Config{
		Region:       "eu-west-2",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIAEXAMPLE", "example-secret", ""),
		BaseEndpoint: aws.String(fake.URL),
	}))
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	// What `keyfence keys add --backend awskms --import` does: the venue
	// secret goes into KMS once.
	secret := []byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
	_, err = b.Import(ctx, "eu-west-2", signer.KeyInfo{Name: "binance-main", Type: signer.KeyHMAC}, secret, nil)
	signer.Wipe(secret)
	if err != nil {
		log.Fatal(err)
	}
	uris, _ := b.URIs("binance-main")

	// The keystore records the KMS key by URI, not the secret.
	dir, err := os.MkdirTemp("", "awskms-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ks, err := keystore.Create(ctx, filepath.Join(dir, "keys.kfs"), []byte("example passphrase"),
		keystore.WithKDFParams(keystore.KDFParams{Time: 1, MemoryKiB: 8 * 1024, Threads: 1}))
	if err != nil {
		log.Fatal(err)
	}
	defer ks.Close()
	err = ks.AddReference(ctx, keystore.Entry{Name: "binance-main", Venue: "binance", APIKey: "my-api-key",
		Type: signer.KeyHMAC, URI: uris[0]}, nil)
	if err != nil {
		log.Fatal(err)
	}
	s := ks.Signer(keystore.WithResolver(b.Resolve))
	mac, err := s.Sign(ctx, "binance-main", signer.HMACSHA256, []byte("symbol=BTCUSDT&timestamp=1700000000000"))
	if err != nil {
		log.Fatal(err)
	}
	info, _ := s.Info(ctx, "binance-main")
	fmt.Println(info.Backend, len(mac), "bytes")
	// Output: awskms 32 bytes
}
