package awskms

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/keyfence/keyfence/signer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mac256(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}

// importHMAC imports a 36-byte secret (a KuCoin-style UUID) into the fake.
func importHMAC(t *testing.T, b *Backend, name string, secret, pass []byte) {
	t.Helper()
	_, err := b.Import(t.Context(), fakeRegion, signer.KeyInfo{Name: name, Venue: "kucoin", APIKey: "api-" + name, Type: signer.KeyHMAC}, secret, pass)
	require.NoError(t, err)
}

func TestOneKMSCallPerSignature(t *testing.T) {
	b, fake := fakeKMS(t)
	secret := []byte("5d4c1a8e-3f2b-4e6a-9c7d-0b1a2c3d4e5f")
	importHMAC(t, b, "kc", secret, []byte("kucoin passphrase"))
	before := fake.Total()
	for i := range 10 {
		msg := fmt.Appendf(nil, "1700000000%03dPOST/api/v1/hf/orders{\"symbol\":\"BTC-USDT\"}", i)
		got, err := b.Sign(t.Context(), "kc", signer.HMACSHA256, msg)
		require.NoError(t, err)
		assert.Equal(t, mac256(secret, msg), got)
	}
	assert.EqualValues(t, 10, fake.Total()-before, "one KMS request per signature, nothing else")
}

func TestKuCoinPassphraseSignedOnceByKMS(t *testing.T) {
	b, fake := fakeKMS(t)
	secret := []byte("5d4c1a8e-3f2b-4e6a-9c7d-0b1a2c3d4e5f") // KuCoin secrets are UUIDs
	pass := []byte("kucoin passphrase")
	importHMAC(t, b, "kc", secret, pass)
	macs := fake.Calls("GenerateMac")
	want := base64.StdEncoding.EncodeToString(mac256(secret, pass))
	for range 3 {
		got, err := b.SignPassphrase(t.Context(), "kc", signer.HMACSHA256)
		require.NoError(t, err)
		assert.Equal(t, want, base64.StdEncoding.EncodeToString(got))
	}
	assert.Equal(t, macs, fake.Calls("GenerateMac"), "the passphrase MAC was computed at import, not per call")
	info, err := b.Info(t.Context(), "kc")
	require.NoError(t, err)
	assert.True(t, info.HasPassphrase)
	_, err = b.SignPassphrase(t.Context(), "kc", signer.Ed25519)
	require.ErrorIs(t, err, signer.ErrWrongAlgorithm)
}

func TestMessageTooLargeRefusedBeforeAnyCall(t *testing.T) {
	b, fake := fakeKMS(t)
	importHMAC(t, b, "bn", bytes.Repeat([]byte{7}, 32), nil)
	before := fake.Total()
	_, err := b.Sign(t.Context(), "bn", signer.HMACSHA256, make([]byte, MaxMessageSize+1))
	require.ErrorIs(t, err, ErrMessageTooLarge)
	var tl *MessageTooLargeError
	require.ErrorAs(t, err, &tl)
	assert.Equal(t, MaxMessageSize+1, tl.Size)
	assert.Contains(t, err.Error(), `"bn"`)
	assert.Equal(t, before, fake.Total(), "no request is sent for a message KMS would refuse")
	_, err = b.Sign(t.Context(), "bn", signer.HMACSHA256, make([]byte, MaxMessageSize))
	require.NoError(t, err, "4,096 bytes is within the limit")
}

func TestErrorMapping(t *testing.T) {
	ctx := t.Context()
	b, fake := fakeKMS(t)
	importHMAC(t, b, "bn", bytes.Repeat([]byte{7}, 32), nil)
	uris, err := b.URIs("bn")
	require.NoError(t, err)
	u, _ := ParseURI(uris[0])
	c, err := b.client(fakeRegion)
	require.NoError(t, err)

	t.Run("NotFound", func(t *testing.T) {
		_, _, err := b.Resolve(ctx, uri(fakeRegion, "00000000-0000-0000-0000-000000000000"))
		require.ErrorIs(t, err, signer.ErrKeyNotFound)
		var e *Error
		require.ErrorAs(t, err, &e)
		assert.Equal(t, "NotFoundException", e.Code)
		assert.NotEmpty(t, e.RequestID)
		assert.False(t, e.Retryable)
		_, _, err = b.Resolve(ctx, uri("us-east-1", u.KeyID))
		require.ErrorIs(t, err, signer.ErrKeyNotFound, "a key exists in one region only")
	})
	t.Run("Disabled", func(t *testing.T) {
		_, err := c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String(u.KeyID)})
		require.NoError(t, err)
		_, err = b.Sign(ctx, "bn", signer.HMACSHA256, []byte("m"))
		require.ErrorIs(t, err, signer.ErrKeyDisabled)
		assert.Contains(t, err.Error(), "enable the key")
		_, _, err = b.Resolve(ctx, u.String())
		require.ErrorIs(t, err, signer.ErrKeyDisabled)
		_, err = c.EnableKey(ctx, &kms.EnableKeyInput{KeyId: aws.String(u.KeyID)})
		require.NoError(t, err)
		_, err = b.Sign(ctx, "bn", signer.HMACSHA256, []byte("m"))
		require.NoError(t, err)
	})
	t.Run("PendingDeletion", func(t *testing.T) {
		importHMAC(t, b, "gone", bytes.Repeat([]byte{8}, 32), nil)
		gu, _ := b.URIs("gone")
		id, _ := ParseURI(gu[0])
		_, err := c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(id.KeyID)})
		require.NoError(t, err)
		_, err = b.Sign(ctx, "gone", signer.HMACSHA256, []byte("m"))
		require.ErrorIs(t, err, signer.ErrKeyDisabled)
		var e *Error
		require.ErrorAs(t, err, &e)
		assert.Equal(t, "KMSInvalidStateException", e.Code)
	})
	t.Run("AccessDenied", func(t *testing.T) {
		importHMAC(t, b, "denied", bytes.Repeat([]byte{9}, 32), nil)
		du, _ := b.URIs("denied")
		id, _ := ParseURI(du[0])
		fake.Deny(id.KeyID)
		_, err := b.Sign(ctx, "denied", signer.HMACSHA256, []byte("m"))
		require.ErrorIs(t, err, signer.ErrAccessDenied)
		assert.Contains(t, err.Error(), "key policy")
	})
	t.Run("WrongCredentials", func(t *testing.T) {
		other := fakeBackend(t, fake)
		other.cfg.Credentials = aws.NewCredentialsCache(staticCreds{fakeAccessKey, "not-the-secret"})
		_, _, err := other.Resolve(ctx, u.String())
		require.ErrorIs(t, err, signer.ErrAccessDenied, "the fake verifies SigV4")
	})
	t.Run("Throttled", func(t *testing.T) {
		fake.FailNext("ThrottlingException", 10) // more than the SDK retries
		defer fake.ResetFailures()
		_, err := b.Sign(ctx, "bn", signer.HMACSHA256, []byte("m"))
		require.ErrorIs(t, err, ErrThrottled)
		require.ErrorIs(t, err, signer.ErrUnavailable)
		var e *Error
		require.ErrorAs(t, err, &e)
		assert.True(t, e.Retryable)
	})
	t.Run("WrongAlgorithm", func(t *testing.T) {
		before := fake.Total()
		_, err := b.Sign(ctx, "bn", signer.HMACSHA512, []byte("m"))
		require.ErrorIs(t, err, signer.ErrWrongAlgorithm, "a 32-byte secret is an HMAC_256 key only")
		_, err = b.Sign(ctx, "bn", signer.Ed25519, []byte("m"))
		require.ErrorIs(t, err, signer.ErrWrongAlgorithm)
		assert.Equal(t, before, fake.Total())
	})
	t.Run("Deadline", func(t *testing.T) {
		release := fake.Hold()
		defer release()
		dctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		_, err := b.Sign(dctx, "bn", signer.HMACSHA256, []byte("m"))
		require.ErrorIs(t, err, context.DeadlineExceeded, "a KMS that does not answer is given up at the deadline")
		var e *Error
		require.False(t, errors.As(err, &e), "a deadline is the context's error, not a KMS error")
	})
	t.Run("NoCanary", func(t *testing.T) {
		_, err := b.Sign(ctx, "bn", signer.HMACSHA512, []byte("m"))
		var buf bytes.Buffer
		slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "err", err, "backend", b)
		fmt.Fprintf(&buf, "%v %+v %#v", b, b, b)
		for _, c := range []string{fakeSecretKey, fakeAccessKey} {
			assert.NotContains(t, buf.String(), c)
		}
	})
}

type staticCreds struct{ id, secret string }

func (s staticCreds) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: s.id, SecretAccessKey: s.secret, Source: "test"}, nil
}

func TestImportRefusesWhatKMSCannotHold(t *testing.T) {
	b, fake := fakeKMS(t)
	for _, n := range []int{4, 31, 129} {
		_, err := b.Import(t.Context(), fakeRegion, signer.KeyInfo{Name: fmt.Sprint("k", n), Type: signer.KeyHMAC}, make([]byte, n), nil)
		require.ErrorIs(t, err, ErrUnsupportedKey, n)
	}
	assert.Zero(t, fake.Calls("CreateKey"), "nothing is created for a secret KMS cannot import")
	_, err := b.Import(t.Context(), fakeRegion, signer.KeyInfo{Name: "pem", Type: signer.KeyECDSAP256}, []byte("not a key"), nil)
	require.ErrorIs(t, err, signer.ErrInvalidKey)

	// Both MAC algorithms for a 64-byte secret (a Binance secret).
	secret := bytes.Repeat([]byte("0123456789abcdef"), 4)
	_, err = b.Import(t.Context(), fakeRegion, signer.KeyInfo{Name: "bn", Type: signer.KeyHMAC}, secret, nil)
	require.NoError(t, err)
	uris, _ := b.URIs("bn")
	assert.Len(t, uris, 2)
	assert.True(t, strings.HasPrefix(uris[0], "awskms://eu-west-2/"))
}
