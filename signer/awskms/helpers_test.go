package awskms

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"net/http"
	"os"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/keyfence/keyfence/signer/awskms/awskmstest"
	"go.yaml.in/yaml/v3"
)

const (
	fakeRegion = "eu-west-2"
	// Canary credentials: they must never appear in errors or logs.
	fakeAccessKey = "AKIAKEYFENCECANARY01"
	fakeSecretKey = "canary-secret-access-key-5b1f0e9d7c"
)

// fakeKMS starts the in-repo KMS fake and returns a backend that reaches it
// with SigV4-signed requests, and the fake itself.
func fakeKMS(t testing.TB) (*Backend, *awskmstest.Server) {
	t.Helper()
	srv := awskmstest.NewServer(fakeAccessKey, fakeSecretKey)
	t.Cleanup(srv.Close)
	return fakeBackend(t, srv), srv
}

// fakeBackend returns a backend over srv. The aws.Config is built by hand,
// so that no AWS_* variable (set by scripts/with-local-kms.sh) redirects
// it.
func fakeBackend(t testing.TB, srv *awskmstest.Server) *Backend {
	t.Helper()
	cfg := aws.Config{
		Region:       fakeRegion,
		Credentials:  credentials.NewStaticCredentialsProvider(fakeAccessKey, fakeSecretKey, ""),
		BaseEndpoint: aws.String(srv.URL),
		HTTPClient:   srv.Client(),
	}
	b, err := New(context.Background(), WithConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// localKMSRegion is the region scripts/with-local-kms.sh runs local-kms in.
const localKMSRegion = "eu-west-2"

// localKMS returns a backend configured the standard way (environment,
// AWS_ENDPOINT_URL_KMS) when scripts/with-local-kms.sh runs the test, with
// a counter of the HTTP requests it sends. Otherwise it skips, or fails
// under KEYFENCE_REQUIRE_INTEGRATION=1.
func localKMS(t testing.TB) (*Backend, *atomic.Int64) {
	t.Helper()
	if os.Getenv("KEYFENCE_TEST_AWSKMS_ENDPOINT") == "" {
		const msg = "local-kms is not running: run the tests under scripts/with-local-kms.sh (go install github.com/nsmithuk/local-kms@v0.0.0-20260228092603-2a5e92d09ab6)"
		if os.Getenv("KEYFENCE_REQUIRE_INTEGRATION") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	b, err := New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := new(atomic.Int64)
	b.cfg.HTTPClient = &http.Client{Transport: countingTransport{n: n, rt: http.DefaultTransport}}
	t.Cleanup(func() { _ = b.Close() })
	return b, n
}

type countingTransport struct {
	n  *atomic.Int64
	rt http.RoundTripper
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.rt.RoundTrip(r)
}

// seed is what signer/awskms/testdata/local-kms-seed.yaml seeds local-kms
// with.
type seed struct {
	aesID, hmacID, eccID, rsaID string
	hmacKey                     []byte
	eccPublic, rsaPublic        crypto.PublicKey
}

func loadSeed(t testing.TB) seed {
	t.Helper()
	data, err := os.ReadFile("testdata/local-kms-seed.yaml")
	if err != nil {
		t.Fatal(err)
	}
	type md struct {
		KeyID string `yaml:"KeyId"`
	}
	type sym struct {
		Metadata    md       `yaml:"Metadata"`
		BackingKeys []string `yaml:"BackingKeys"`
	}
	type asym struct {
		Metadata      md     `yaml:"Metadata"`
		PrivateKeyPem string `yaml:"PrivateKeyPem"`
	}
	var f struct {
		Keys struct {
			Symmetric struct {
				Aes  []sym `yaml:"Aes"`
				Hmac []sym `yaml:"Hmac"`
			} `yaml:"Symmetric"`
			Asymmetric struct {
				Ecc []asym `yaml:"Ecc"`
				Rsa []asym `yaml:"Rsa"`
			} `yaml:"Asymmetric"`
		} `yaml:"Keys"`
	}
	if err := yaml.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	s := seed{
		aesID:  f.Keys.Symmetric.Aes[0].Metadata.KeyID,
		hmacID: f.Keys.Symmetric.Hmac[0].Metadata.KeyID,
		eccID:  f.Keys.Asymmetric.Ecc[0].Metadata.KeyID,
		rsaID:  f.Keys.Asymmetric.Rsa[0].Metadata.KeyID,
	}
	if s.hmacKey, err = hex.DecodeString(f.Keys.Symmetric.Hmac[0].BackingKeys[0]); err != nil || len(s.hmacKey) != 32 {
		t.Fatalf("the seeded HMAC key must be 32 bytes of hex: %v", err)
	}
	pub := func(p string) crypto.PublicKey {
		block, _ := pem.Decode([]byte(p))
		if block == nil {
			t.Fatal("seed: bad PEM")
		}
		var k interface{ Public() crypto.PublicKey }
		switch block.Type {
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(block.Bytes)
		default:
			var a any
			a, err = x509.ParsePKCS8PrivateKey(block.Bytes)
			k, _ = a.(interface{ Public() crypto.PublicKey })
		}
		if err != nil || k == nil {
			t.Fatalf("seed: %v", err)
		}
		return k.Public()
	}
	s.eccPublic = pub(f.Keys.Asymmetric.Ecc[0].PrivateKeyPem)
	s.rsaPublic = pub(f.Keys.Asymmetric.Rsa[0].PrivateKeyPem)
	return s
}

func uri(region, id string) string { return URI{Region: region, KeyID: id}.String() }
