package vault

import (
	"context"
	"encoding/base64"
	"net/http"

	"github.com/keyfence/keyfence/keystore"
)

// Wrapper is a keystore.KeyWrapper over a Transit encryption key
// (aes256-gcm96 or chacha20-poly1305): WrapKey is encrypt and UnwrapKey
// decrypt, with the associated data as Transit's associated_data. The
// ciphertext kept is Vault's "vault:vN:..." string.
type Wrapper struct {
	b   *Backend
	uri URI
}

// Wrapper returns a keystore.KeyWrapper over the Transit key uri names.
func (b *Backend) Wrapper(uri string) (*Wrapper, error) {
	u, err := ParseURI(uri)
	if err != nil {
		return nil, err
	}
	return &Wrapper{b: b, uri: u}, nil
}

// ResolveWrapper has the signature of keystore.WrapperResolver.
func (b *Backend) ResolveWrapper(_ context.Context, uri string) (keystore.KeyWrapper, error) {
	return b.Wrapper(uri)
}

// URI implements keystore.KeyWrapper.
func (w *Wrapper) URI() string { return w.uri.String() }

// WrapKey implements keystore.KeyWrapper with one encrypt request.
func (w *Wrapper) WrapKey(ctx context.Context, key, aad []byte) ([]byte, error) {
	body := map[string]any{"plaintext": base64.StdEncoding.EncodeToString(key),
		"associated_data": base64.StdEncoding.EncodeToString(aad)}
	if w.uri.Version != 0 {
		body["key_version"] = w.uri.Version
	}
	var out struct {
		Data struct {
			Ciphertext string `json:"ciphertext"`
		} `json:"data"`
	}
	if err := w.b.c.do(ctx, "encrypt", http.MethodPost, w.uri.Mount+"/encrypt/"+w.uri.Key, body, &out); err != nil {
		return nil, err
	}
	if _, _, err := decodeOutput(out.Data.Ciphertext, false); err != nil {
		return nil, err
	}
	return []byte(out.Data.Ciphertext), nil
}

// UnwrapKey implements keystore.KeyWrapper with one decrypt request.
func (w *Wrapper) UnwrapKey(ctx context.Context, wrapped, aad []byte) ([]byte, error) {
	body := map[string]any{"ciphertext": string(wrapped), "associated_data": base64.StdEncoding.EncodeToString(aad)}
	var out struct {
		Data struct {
			Plaintext string `json:"plaintext"`
		} `json:"data"`
	}
	if err := w.b.c.do(ctx, "decrypt", http.MethodPost, w.uri.Mount+"/decrypt/"+w.uri.Key, body, &out); err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(out.Data.Plaintext)
}

var _ keystore.KeyWrapper = (*Wrapper)(nil)
