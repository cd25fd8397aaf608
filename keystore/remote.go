package keystore

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
)

// referenceBackend returns the backend a reference URI names by its
// scheme; an unknown scheme is taken for a PKCS#11 URI, whose validation
// then says what a URI must start with.
func referenceBackend(uri string) string {
	switch {
	case strings.HasPrefix(uri, "awskms://"):
		return BackendAWSKMS
	case strings.HasPrefix(uri, "vault://"):
		return BackendVault
	}
	return BackendPKCS11
}

// validateRemoteURI checks the syntax of an awskms:// or vault:// URI
// minimally: the scheme, a non-empty authority and path, printable ASCII
// and no query or fragment. The backend's resolver interprets it.
func validateRemoteURI(backend, uri string) error {
	scheme := backend + "://"
	bad := func(why string) error {
		return fmt.Errorf("%w: %s URI %s (e.g. awskms://eu-west-2/alias/binance-main or vault://transit/binance-main)", ErrInvalidEntry, backend, why)
	}
	if len(uri) > maxURILen {
		return bad(fmt.Sprintf("is longer than %d bytes", maxURILen))
	}
	rest, ok := strings.CutPrefix(uri, scheme)
	if !ok {
		return bad("must start with " + scheme)
	}
	host, path, ok := strings.Cut(rest, "/")
	if !ok || host == "" || path == "" {
		return bad("needs a region or mount and a key")
	}
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; c <= 0x20 || c >= 0x7f || c == '?' || c == '#' || c == '\\' {
			return bad("has a space, a control or non-ASCII character, or one of ?, # and a backslash")
		}
	}
	return nil
}

// AddReferenceSigned records a reference, as AddReference does, for a
// venue whose keys send their API passphrase signed (KuCoin key versions
// 2 and 3): passphraseMAC, HMAC-SHA256 of the passphrase under the key's
// secret, computed once by the backend that holds the secret (a KMS or
// Vault call), is sealed in the entry beside the passphrase, and the
// Signer's SignPassphrase returns it for HMAC-SHA256 without calling the
// backend again. The caller should wipe passphrase and passphraseMAC.
func (tx *Tx) AddReferenceSigned(e Entry, passphrase, passphraseMAC []byte) error {
	fail := func(err error) error { return &EntryError{Op: "add reference", Name: e.Name, Err: err} }
	if tx.done {
		return fail(errors.New("keystore: transaction is finished"))
	}
	if len(passphrase) == 0 || len(passphraseMAC) != sha256.Size {
		return fail(fmt.Errorf("%w: a signed passphrase needs the passphrase and its %d-byte HMAC-SHA256", ErrInvalidEntry, sha256.Size))
	}
	e.Backend, e.Public = referenceBackend(e.URI), nil
	if err := tx.checkNew(&e, passphrase); err != nil {
		return fail(err)
	}
	return tx.seal(&entry{Entry: e}, passphraseMAC, passphrase, fail)
}

// AddReferenceSigned records a reference with a signed API passphrase and
// writes the file. See Tx.AddReferenceSigned.
func (k *Keystore) AddReferenceSigned(ctx context.Context, e Entry, passphrase, passphraseMAC []byte) error {
	return k.Update(ctx, func(tx *Tx) error { return tx.AddReferenceSigned(e, passphrase, passphraseMAC) })
}
