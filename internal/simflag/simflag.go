// Package simflag parses the command-line values of keyfence sim: the
// simulated venues' keys, starting prices and price drift. Errors wrap
// ErrBadFlag, name the API key and the file, and never quote a secret.
package simflag

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/exchangetest"
	"github.com/shopspring/decimal"
)

// decimalRE is a plain decimal number, as the flags take it.
var decimalRE = regexp.MustCompile(`^[0-9]{1,20}(\.[0-9]{1,20})?$`)

// ErrBadFlag is wrapped by the flag parsers' errors.
var ErrBadFlag = errors.New("bad flag value")

// commandLinePermissions are the permissions of keys given on the command
// line: reading and spot trading, IP restricted, no withdrawals and no
// transfers (what a well-configured bot key looks like).
var commandLinePermissions = exchange.Permissions{Read: true, Trade: true, IPRestricted: true}

// ParseBinanceKey parses a --key value of `keyfence sim`:
//
//	APIKEY:SECRET        an HMAC key with the secret as given
//	APIKEY:@FILE         FILE holds a PEM public key (PKIX "PUBLIC KEY",
//	                     Ed25519 or RSA, or PKCS#1 "RSA PUBLIC KEY"); a file
//	                     with no PEM block holds an HMAC secret instead,
//	                     which keeps the secret out of the process arguments
//
// The key gets reading and spot trading, is IP restricted and cannot
// withdraw. Errors name the API key and the file, never the secret.
func ParseBinanceKey(s string) (exchangetest.BinanceKey, error) {
	apiKey, rest, ok := strings.Cut(s, ":")
	if !ok || apiKey == "" || rest == "" {
		return exchangetest.BinanceKey{}, fmt.Errorf("%w: --key wants APIKEY:SECRET or APIKEY:@PUBLIC_KEY.pem", ErrBadFlag)
	}
	if !printableASCII(apiKey) {
		return exchangetest.BinanceKey{}, fmt.Errorf("%w: --key: the API key must be printable ASCII without spaces", ErrBadFlag)
	}
	k := exchangetest.BinanceKey{APIKey: apiKey, Permissions: commandLinePermissions}
	path, isFile := strings.CutPrefix(rest, "@")
	if !isFile {
		k.HMACSecret = []byte(rest)
		return k, nil
	}
	if path == "" {
		return exchangetest.BinanceKey{}, fmt.Errorf("%w: --key %s:@: name the key file after @", ErrBadFlag, apiKey)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return exchangetest.BinanceKey{}, fmt.Errorf("%w: --key %s: reading the key file: %w", ErrBadFlag, apiKey, err)
	}
	if !strings.Contains(string(data), "-----BEGIN") {
		secret := strings.TrimSpace(string(data))
		if secret == "" {
			return exchangetest.BinanceKey{}, fmt.Errorf("%w: --key %s: %s is empty; put the HMAC secret or a PEM public key in it", ErrBadFlag, apiKey, path)
		}
		k.HMACSecret = []byte(secret)
		return k, nil
	}
	pub, err := parsePublicKeyPEM(data)
	if err != nil {
		return exchangetest.BinanceKey{}, fmt.Errorf("%w: --key %s: %s: %w", ErrBadFlag, apiKey, path, err)
	}
	k.PublicKey = pub
	return k, nil
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// parsePublicKeyPEM reads the first PEM block as an Ed25519 or RSA public
// key.
func parsePublicKeyPEM(data []byte) (any, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block; give a PEM public key")
	}
	switch block.Type {
	case "PUBLIC KEY":
		pub, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing the public key: %w", err)
		}
		switch p := pub.(type) {
		case ed25519.PublicKey:
			return p, nil
		case *rsa.PublicKey:
			return p, nil
		}
		return nil, fmt.Errorf("%T keys are not Binance keys; use Ed25519 or RSA", pub)
	case "RSA PUBLIC KEY":
		pub, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing the RSA public key: %w", err)
		}
		return pub, nil
	}
	return nil, fmt.Errorf("PEM block %q is not a public key; give the public half only", block.Type)
}

// ParsePrice parses a --price value of `keyfence sim`, SYMBOL=PRICE
// (e.g. "BTCUSDT=50000.5"), into an upper-case symbol and a positive price.
func ParsePrice(s string) (symbol string, price decimal.Decimal, err error) {
	sym, p, ok := strings.Cut(s, "=")
	if !ok || sym == "" || p == "" {
		return "", decimal.Decimal{}, fmt.Errorf("%w: --price wants SYMBOL=PRICE, e.g. BTCUSDT=50000", ErrBadFlag)
	}
	sym = strings.ToUpper(sym)
	for i := 0; i < len(sym); i++ {
		c := sym[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return "", decimal.Decimal{}, fmt.Errorf("%w: --price %q: the symbol may hold only letters, digits, '-' and '_'", ErrBadFlag, sym)
		}
	}
	if !decimalRE.MatchString(p) {
		return "", decimal.Decimal{}, fmt.Errorf("%w: --price %s: %q is not a plain decimal number", ErrBadFlag, sym, p)
	}
	price, err = decimal.NewFromString(p)
	if err != nil || price.Sign() <= 0 {
		return "", decimal.Decimal{}, fmt.Errorf("%w: --price %s: the price must be above zero", ErrBadFlag, sym)
	}
	return sym, price, nil
}

// ParseDrift parses the drift flags of `keyfence sim`: --drift STEP, a
// fraction of the price each step moves (e.g. "0.001" for 0.1 %), with
// --drift-every (the time between steps) and --seed.
func ParseDrift(step string, every time.Duration, seed uint64) (exchangetest.Drift, error) {
	if !decimalRE.MatchString(step) {
		return exchangetest.Drift{}, fmt.Errorf("%w: --drift %q: give the step as a plain decimal fraction, e.g. 0.001 for 0.1 %%", ErrBadFlag, step)
	}
	d := exchangetest.Drift{Step: decimal.RequireFromString(step), Every: every, Seed: seed}
	if err := d.Validate(); err != nil {
		return exchangetest.Drift{}, fmt.Errorf("%w: --drift: %w", ErrBadFlag, err)
	}
	return d, nil
}

// ParseCoinbaseKey parses a --key value of `keyfence sim --venue
// coinbase`, NAME:@PUBLIC_KEY.pem: the CDP key name
// (organizations/{org}/apiKeys/{id}) and a file holding its public key as
// a PEM "PUBLIC KEY" block (ECDSA P-256 or Ed25519). The key may view and
// trade, and cannot transfer. The key name may hold colons; the last ":@"
// separates the file. Errors wrap ErrBadFlag.
func ParseCoinbaseKey(s string) (exchangetest.CoinbaseKey, error) {
	i := strings.LastIndex(s, ":@")
	if i <= 0 || i+2 >= len(s) {
		return exchangetest.CoinbaseKey{}, fmt.Errorf("%w: --key wants NAME:@PUBLIC_KEY.pem for coinbase", ErrBadFlag)
	}
	name, file := s[:i], s[i+2:]
	b, err := os.ReadFile(file)
	if err != nil {
		return exchangetest.CoinbaseKey{}, fmt.Errorf("%w: --key %s: reading the key file: %w", ErrBadFlag, name, err)
	}
	pub, err := parseCoinbasePublicKey(b)
	if err != nil {
		return exchangetest.CoinbaseKey{}, fmt.Errorf("%w: --key %s: %s: %w", ErrBadFlag, name, file, err)
	}
	return exchangetest.CoinbaseKey{Name: name, PublicKey: pub, Permissions: commandLinePermissions}, nil
}

// parseCoinbasePublicKey decodes a PEM "PUBLIC KEY" block holding an
// ECDSA P-256 or Ed25519 public key.
func parseCoinbasePublicKey(pemBytes []byte) (crypto.PublicKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, errors.New("no PEM PUBLIC KEY block")
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("cannot parse the public key: %w", err)
	}
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, errors.New("ECDSA key is not on P-256")
		}
		return k, nil
	case ed25519.PublicKey:
		return k, nil
	}
	return nil, fmt.Errorf("%T is not an ECDSA P-256 or Ed25519 key", pub)
}

// ParseKuCoinKey parses a --key value of `keyfence sim --venue kucoin`:
//
//	APIKEY:SECRET:PASSPHRASE  the secret and passphrase as given (the
//	                          passphrase is everything after the second colon)
//	APIKEY:@FILE              FILE holds SECRET:PASSPHRASE on its first line,
//	                          which keeps both out of the process arguments
//
// The key is a version 2 key with reading and spot trading, IP restricted
// to loopback, without withdrawals or transfers. Errors name the API key
// and the file, never the secret or the passphrase.
func ParseKuCoinKey(s string) (exchangetest.KuCoinKey, error) {
	apiKey, rest, ok := strings.Cut(s, ":")
	if !ok || apiKey == "" || rest == "" {
		return exchangetest.KuCoinKey{}, fmt.Errorf("%w: --key wants APIKEY:SECRET:PASSPHRASE or APIKEY:@FILE", ErrBadFlag)
	}
	if !printableASCII(apiKey) {
		return exchangetest.KuCoinKey{}, fmt.Errorf("%w: --key: the API key must be printable ASCII without spaces", ErrBadFlag)
	}
	if path, isFile := strings.CutPrefix(rest, "@"); isFile {
		if path == "" {
			return exchangetest.KuCoinKey{}, fmt.Errorf("%w: --key %s:@: name the file after @", ErrBadFlag, apiKey)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return exchangetest.KuCoinKey{}, fmt.Errorf("%w: --key %s: reading the key file: %w", ErrBadFlag, apiKey, err)
		}
		line, _, _ := strings.Cut(string(data), "\n")
		rest = strings.TrimRight(line, "\r")
	}
	secret, pass, ok := strings.Cut(rest, ":")
	if !ok || secret == "" || pass == "" {
		return exchangetest.KuCoinKey{}, fmt.Errorf("%w: --key %s: give SECRET:PASSPHRASE, both non-empty", ErrBadFlag, apiKey)
	}
	return exchangetest.KuCoinKey{APIKey: apiKey, Secret: []byte(secret), Passphrase: []byte(pass), Version: "2",
		Permissions: commandLinePermissions}, nil
}
