package awskms

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/binance"
	"github.com/keyfence/keyfence/exchange/exchangetest"
	"github.com/keyfence/keyfence/keystore"
	"github.com/keyfence/keyfence/limits"
	"github.com/keyfence/keyfence/signer"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests in this file run against local-kms, an independent KMS
// emulator, seeded from testdata/local-kms-seed.yaml by
// scripts/with-local-kms.sh.

func TestLocalKMSSeededKeys(t *testing.T) {
	b, calls := localKMS(t)
	s := loadSeed(t)
	ctx := t.Context()
	msg := []byte("symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=50000&timestamp=1700000000000")

	t.Run("HMAC", func(t *testing.T) {
		for _, u := range []string{
			uri(localKMSRegion, s.hmacID),
			uri(localKMSRegion, "alias/keyfence-binance"),
			uri(localKMSRegion, "arn:aws:kms:eu-west-2:111122223333:key/"+s.hmacID),
		} {
			d, name, err := b.Resolve(ctx, u)
			require.NoError(t, err, u)
			before := calls.Load()
			got, err := d.Sign(ctx, name, signer.HMACSHA256, msg)
			require.NoError(t, err)
			assert.Equal(t, mac256(s.hmacKey, msg), got, u)
			assert.EqualValues(t, 1, calls.Load()-before, "one KMS call per MAC")
			_, err = d.Sign(ctx, name, signer.HMACSHA512, msg)
			require.ErrorIs(t, err, signer.ErrWrongAlgorithm, "an HMAC_256 key does not make HMAC-SHA512")
		}
	})
	t.Run("ECDSA", func(t *testing.T) {
		d, name, err := b.Resolve(ctx, uri(localKMSRegion, s.eccID))
		require.NoError(t, err)
		info, err := d.Info(ctx, name)
		require.NoError(t, err)
		assert.Equal(t, signer.KeyECDSAP256, info.Type)
		assert.True(t, s.eccPublic.(*ecdsa.PublicKey).Equal(info.Public))
		h := sha256.Sum256(msg)
		raw, err := d.Sign(ctx, name, signer.ES256, msg)
		require.NoError(t, err)
		require.Len(t, raw, 64, "ES256 is r||s")
		der, err := signer.ECDSARawToDER(raw)
		require.NoError(t, err)
		assert.True(t, ecdsa.VerifyASN1(s.eccPublic.(*ecdsa.PublicKey), h[:], der))
		der, err = d.Sign(ctx, name, signer.ES256DER, msg)
		require.NoError(t, err)
		assert.True(t, ecdsa.VerifyASN1(s.eccPublic.(*ecdsa.PublicKey), h[:], der))
	})
	t.Run("RSA", func(t *testing.T) {
		d, name, err := b.Resolve(ctx, uri(localKMSRegion, s.rsaID))
		require.NoError(t, err)
		sig, err := d.Sign(ctx, name, signer.RS256, msg)
		require.NoError(t, err)
		h := sha256.Sum256(msg)
		require.NoError(t, rsa.VerifyPKCS1v15(s.rsaPublic.(*rsa.PublicKey), crypto.SHA256, h[:], sig))
	})
	t.Run("NotFound", func(t *testing.T) {
		_, _, err := b.Resolve(ctx, uri(localKMSRegion, "6a0f1c52-0000-0000-0000-000000000000"))
		require.ErrorIs(t, err, signer.ErrKeyNotFound)
	})
	t.Run("Disabled", func(t *testing.T) {
		c, err := b.client(localKMSRegion)
		require.NoError(t, err)
		ck, err := c.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: types.KeySpecHmac256, KeyUsage: types.KeyUsageTypeGenerateVerifyMac})
		require.NoError(t, err)
		u := uri(localKMSRegion, *ck.KeyMetadata.KeyId)
		d, name, err := b.Resolve(ctx, u)
		require.NoError(t, err)
		_, err = c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: ck.KeyMetadata.KeyId})
		require.NoError(t, err)
		_, err = d.Sign(ctx, name, signer.HMACSHA256, msg)
		require.ErrorIs(t, err, signer.ErrKeyDisabled)
		_, err = c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: ck.KeyMetadata.KeyId, PendingWindowInDays: aws.Int32(7)})
		require.NoError(t, err)
	})
	t.Run("MessageTooLarge", func(t *testing.T) {
		d, name, err := b.Resolve(ctx, uri(localKMSRegion, s.hmacID))
		require.NoError(t, err)
		before := calls.Load()
		_, err = d.Sign(ctx, name, signer.HMACSHA256, make([]byte, MaxMessageSize+1))
		require.ErrorIs(t, err, ErrMessageTooLarge)
		assert.Equal(t, before, calls.Load())
	})
}

// TestLocalKMSWrappedKeystore: a keystore whose master key a local-kms key
// wraps opens with no passphrase, from a fresh backend.
func TestLocalKMSWrappedKeystore(t *testing.T) {
	b, _ := localKMS(t)
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "keys.kfs")
	w, err := b.Wrapper(uri(localKMSRegion, "alias/keyfence-keystore"))
	require.NoError(t, err)
	ks, err := keystore.CreateWrapped(ctx, path, w, nil)
	require.NoError(t, err)
	require.NoError(t, ks.Add(ctx, keystore.Entry{Name: "bn", Venue: "binance", APIKey: "k", Type: signer.KeyHMAC}, []byte("a sealed binance secret"), nil))
	require.NoError(t, ks.Close())

	_, err = keystore.Open(ctx, path, []byte("any passphrase"))
	require.ErrorIs(t, err, keystore.ErrKMSWrapped)

	fresh, _ := localKMS(t)
	ks, err = keystore.OpenWrapped(ctx, path, fresh.ResolveWrapper)
	require.NoError(t, err)
	defer ks.Close()
	got, err := ks.Signer().Sign(ctx, "bn", signer.HMACSHA256, []byte("m"))
	require.NoError(t, err)
	assert.Equal(t, mac256([]byte("a sealed binance secret"), []byte("m")), got)

	// The wrap is bound to its encryption context and its key: another
	// key cannot unwrap it.
	other, err := fresh.Wrapper(uri(localKMSRegion, loadSeed(t).hmacID))
	require.NoError(t, err)
	_, err = keystore.OpenWrapped(ctx, path, func(ctx2 context.Context, _ string) (keystore.KeyWrapper, error) { return other, nil })
	require.ErrorIs(t, err, keystore.ErrUnwrap)
}

const binancePolicy = `
version: 1
credentials:
  binance-kms:
    venue: binance
    allow: [read, trade, cancel]
    order_types: [LIMIT]
    max_open_orders: 5
    price_band: "5%"
    reference_max_age: 30s
    quotes:
      USDT: {max_order_notional: "1000", max_daily_notional: "5000"}
    symbols:
      BTCUSDT: {}
`

// TestLocalKMSBinanceOrder signs a Binance order with an HMAC key in
// local-kms, through a keystore entry that points at it, and the simulated
// Binance (which holds the same secret) accepts it. Signing the order is
// exactly one KMS call.
func TestLocalKMSBinanceOrder(t *testing.T) {
	b, calls := localKMS(t)
	s := loadSeed(t)
	ctx := t.Context()
	dir := t.TempDir()

	ks, err := keystore.Create(ctx, filepath.Join(dir, "keys.kfs"), []byte("test passphrase"),
		keystore.WithKDFParams(keystore.KDFParams{Time: 1, MemoryKiB: 8 * 1024, Threads: 1}))
	require.NoError(t, err)
	defer ks.Close()
	require.NoError(t, ks.AddReference(ctx, keystore.Entry{Name: "binance-kms", Venue: binance.Venue, APIKey: "kms-api-key",
		Type: signer.KeyHMAC, URI: uri(localKMSRegion, "alias/keyfence-binance")}, nil))

	sim := exchangetest.NewBinance(exchangetest.WithBinanceKeys(exchangetest.BinanceKey{
		APIKey: "kms-api-key", HMACSecret: s.hmacKey,
		Permissions: exchange.Permissions{Read: true, Trade: true, IPRestricted: true}}))
	defer sim.Close()

	policy, err := limits.ParsePolicy([]byte(binancePolicy))
	require.NoError(t, err)
	prices := binance.NewPriceFeed(binance.PriceFeedConfig{BaseURL: sim.URL()})
	guard, err := limits.NewGuard(policy, limits.NewMemoryStore(), limits.WithPrices(binance.Venue, prices))
	require.NoError(t, err)
	log, err := audit.Open(ctx, filepath.Join(dir, "audit.jsonl"))
	require.NoError(t, err)
	defer log.Close()
	risks, _ := guard.AcceptKeyRisks("binance-kms")
	client, err := binance.New(ctx, binance.Config{BaseURL: sim.URL(), Credential: "binance-kms",
		Signer: ks.Signer(keystore.WithResolver(b.Resolve)), Guard: guard, Audit: log, KeyRisks: risks, Prices: prices})
	require.NoError(t, err)

	ref, err := client.Reference(ctx, "BTCUSDT")
	require.NoError(t, err)
	before := calls.Load()
	o, err := client.PlaceOrder(ctx, exchange.Order{Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.Limit,
		TimeInForce: exchange.GTC, Price: ref.Bid.Round(2), Quantity: decimal.RequireFromString("0.001")})
	require.NoError(t, err, "the simulator verifies the HMAC that local-kms made")
	assert.EqualValues(t, 1, calls.Load()-before, "one KMS call per order")
	assert.Equal(t, exchange.StatusNew, o.Status)
	require.Len(t, sim.Orders("kms-api-key"), 1)
}
