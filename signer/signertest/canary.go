package signertest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/keyfence/keyfence/signer"
)

// canaryForms returns the ways a secret could show up in output: as is,
// quoted, in hex and in base64.
func canaryForms(secret string) []string {
	b := []byte(secret)
	q := fmt.Sprintf("%q", secret)
	return []string{
		secret,
		q[1 : len(q)-1],
		hex.EncodeToString(b),
		strings.ToUpper(hex.EncodeToString(b)),
		base64.StdEncoding.EncodeToString(b),
		base64.RawStdEncoding.EncodeToString(b),
		base64.URLEncoding.EncodeToString(b),
		base64.RawURLEncoding.EncodeToString(b),
	}
}

// newCanary returns a secret unique to this run, so that a match cannot
// come from anywhere else.
func newCanary(label string) string {
	return "keyfence-canary-" + label + "-" + rand.Text()
}

func testCanary(t *testing.T, h Harness) {
	secret := newCanary("secret")
	passSecret := newCanary("secret2")
	pass := newCanary("passphrase")
	b := open(t, h,
		Key{Info: signer.KeyInfo{Name: "canary", Venue: "test", APIKey: "canary-api-key", Type: signer.KeyHMAC}, Material: []byte(secret)},
		Key{Info: signer.KeyInfo{Name: "canary-pass", Venue: "test", APIKey: "canary-pass-api-key", Type: signer.KeyHMAC, HasPassphrase: true},
			Material: []byte(passSecret), Passphrase: []byte(pass)},
	)
	b.need(t, "canary", "canary-pass")
	ctx := t.Context()

	// The canary really is the key.
	got, err := b.Sign(ctx, "canary", signer.HMACSHA256, []byte("m"))
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("m"))
	if !bytes.Equal(got, mac.Sum(nil)) {
		t.Fatal("the canary key does not sign as HMAC-SHA256 keyed with the canary")
	}

	// Provoke every error path.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	var errs []error
	add := func(_ []byte, err error) {
		if err == nil {
			t.Fatal("an error path succeeded")
		}
		errs = append(errs, err)
	}
	add(b.Sign(ctx, "canary-missing", signer.HMACSHA256, []byte("m")))
	add(b.Sign(ctx, "canary", signer.Ed25519, []byte("m")))
	add(b.Sign(ctx, "canary", signer.RS256, []byte("m")))
	add(b.Sign(ctx, "canary-pass", "HMAC-MD5", []byte("m")))
	add(b.Sign(cancelled, "canary", signer.HMACSHA256, []byte("m")))
	_, err = b.Info(ctx, "canary-missing")
	add(nil, err)
	_, err = b.Info(cancelled, "canary")
	add(nil, err)
	if p, ok := b.Signer.(signer.PassphraseSigner); ok {
		add(p.SignPassphrase(ctx, "canary", signer.HMACSHA256))
		add(p.SignPassphrase(ctx, "canary-pass", signer.Ed25519))
		add(p.SignPassphrase(ctx, "canary-missing", signer.HMACSHA256))
		add(p.SignPassphrase(cancelled, "canary-pass", signer.HMACSHA256))
		if _, err := p.SignPassphrase(ctx, "canary-pass", signer.HMACSHA256); err != nil {
			t.Fatalf("SignPassphrase: %v", err)
		}
	}

	var values []any
	for _, e := range errs {
		values = append(values, e)
	}
	for _, name := range []string{"canary", "canary-pass"} {
		info, err := b.Info(ctx, name)
		if err != nil {
			t.Fatalf("Info: %v", err)
		}
		values = append(values, info, &info)
	}
	values = append(values, b.Signer)
	if l, ok := b.Signer.(signer.Lister); ok {
		infos, err := l.Keys(ctx)
		if err != nil {
			t.Fatalf("Keys: %v", err)
		}
		values = append(values, infos)
	}

	var out strings.Builder
	for _, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X"} {
			fmt.Fprintf(&out, verb+"\n", v)
		}
		if e, ok := v.(error); ok {
			out.WriteString(e.Error() + "\n")
			fmt.Fprintf(&out, "%v\n", fmt.Errorf("wrapped: %w", e))
		}
		if j, err := json.Marshal(v); err == nil {
			out.Write(j)
			out.WriteByte('\n')
		}
	}
	for _, hd := range []slog.Handler{
		slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}),
		slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}),
	} {
		log := slog.New(hd)
		for i, v := range values {
			log.Info("value", "i", i, "v", v)
			if e, ok := v.(error); ok {
				log.Error("failed", "err", e)
			}
		}
	}

	text := out.String()
	if !strings.Contains(text, "canary-missing") {
		t.Fatal("the collected output does not name the missing key; the check would prove nothing")
	}
	for _, s := range []string{secret, passSecret, pass} {
		for i, form := range canaryForms(s) {
			if strings.Contains(text, form) {
				// The output is not printed: it holds the secret.
				t.Fatalf("the %s canary appears (form %d of canaryForms) in the output of errors, KeyInfo or the signer", strings.SplitN(s, "-", 4)[2], i)
			}
		}
	}
}
