package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	binance "github.com/adshao/go-binance/v2"
	"github.com/adshao/go-binance/v2/common"
)

// TestExample runs the example: the go-binance bot trades through the
// gateway and every replayed attack is refused.
func TestExample(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{"bot: market buy for 50 USDT", "listen key", "rule symbol", "rule price_band", "rule order_notional",
		"rule class", "used before", "code -2015", "6 attacks refused; the audit log verifies"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestGoBinanceEd25519 registers a bot's own Ed25519 key with the gateway
// (the gateway keeps only the public key) and trades with go-binance
// signing Ed25519, unchanged but for its base URL.
func TestGoBinanceEd25519(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := start(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, _ := x509.MarshalPKIXPublicKey(pub)
	privDER, _ := x509.MarshalPKCS8PrivateKey(priv)
	issued, err := s.issue("ed-bot", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}))
	if err != nil {
		t.Fatal(err)
	}
	if issued.Secret != "" {
		t.Fatal("a registered public key came back with a secret")
	}
	c := binance.NewClient(issued.APIKey, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER})))
	c.BaseURL = s.gwURL
	c.KeyType = common.KeyTypeEd25519
	if err := runBot(ctx, io.Discard, c); err != nil {
		t.Fatalf("go-binance with an Ed25519 client key: %v", err)
	}
	_, err = c.NewCreateOrderService().Symbol("BTCUSDT").Side(binance.SideTypeBuy).Type(binance.OrderTypeMarket).
		QuoteOrderQty("9000").Do(ctx)
	var apiErr *common.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != -2010 || !strings.Contains(apiErr.Message, "order_notional") {
		t.Fatalf("over-cap order: got %v; want code -2010 naming order_notional", err)
	}
	// Another key's signature under this API key is refused.
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	otherDER, _ := x509.MarshalPKCS8PrivateKey(other)
	bad := binance.NewClient(issued.APIKey, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: otherDER})))
	bad.BaseURL, bad.KeyType = s.gwURL, common.KeyTypeEd25519
	_, err = bad.NewGetAccountService().Do(ctx)
	if !errors.As(err, &apiErr) || apiErr.Code != -1022 {
		t.Fatalf("wrong Ed25519 key: got %v; want code -1022", err)
	}
}
