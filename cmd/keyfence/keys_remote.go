package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/keyfence/keyfence/keystore"
	"github.com/keyfence/keyfence/signer"
	"github.com/keyfence/keyfence/signer/awskms"
	"github.com/keyfence/keyfence/signer/pkcs11"
	"github.com/keyfence/keyfence/signer/vault"
)

// remoteFlags are the flags of `keys add` that put or find the key in
// another backend.
type remoteFlags struct {
	backend string
	uri     string
	imp     bool
}

func (r *remoteFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&r.backend, "backend", keystore.BackendKeystore, "where the secret lives: keystore (sealed in the file), awskms, vault or pkcs11")
	fs.StringVar(&r.uri, "key-uri", "", "the backend's key: awskms://REGION/KEY-ID, vault://MOUNT/KEY or pkcs11:token=T;object=O?module-path=LIB")
	fs.BoolVar(&r.imp, "import", false, "read the venue secret from standard input and import it into the backend as --key-uri (an AWS alias, a Transit key or a token object to create)")
}

func (r *remoteFlags) check() error {
	switch r.backend {
	case keystore.BackendKeystore:
		if r.uri != "" || r.imp {
			return usagef("keys add: --key-uri and --import need --backend awskms, vault or pkcs11")
		}
		return nil
	case keystore.BackendAWSKMS:
		if r.uri == "" {
			return usagef("keys add: --backend awskms needs --key-uri awskms://REGION/KEY-ID (a key ID, alias/NAME or ARN)")
		}
		u, err := awskms.ParseURI(r.uri)
		if err != nil {
			return usagef("keys add: %v", err)
		}
		if r.imp && !isAlias(u.KeyID) {
			return usagef("keys add: with --import, --key-uri names the alias to create: awskms://REGION/alias/NAME")
		}
		return nil
	case keystore.BackendVault:
		if r.uri == "" {
			return usagef("keys add: --backend vault needs --key-uri vault://MOUNT/KEY")
		}
		u, err := vault.ParseURI(r.uri)
		if err != nil {
			return usagef("keys add: %v", err)
		}
		if r.imp && u.Version != 0 {
			return usagef("keys add: with --import, --key-uri names the Transit key to create, without @VERSION")
		}
		return nil
	case keystore.BackendPKCS11:
		u, err := pkcs11.ParseURI(r.uri)
		if err != nil {
			return usagef("keys add: --backend pkcs11 needs --key-uri pkcs11:token=LABEL;object=NAME?module-path=/path/to/lib.so: %v", err)
		}
		if u.Token == "" || u.ModulePath == "" {
			return usagef("keys add: the PKCS#11 URI must name the token and the library (token=...; ?module-path=...)")
		}
		return nil
	}
	return usagef("keys add: unknown --backend %q: use keystore, awskms, vault or pkcs11", r.backend)
}

func isAlias(id string) bool { return len(id) > len("alias/") && id[:len("alias/")] == "alias/" }

// keysAddRemote records an entry whose key is in AWS KMS, Vault Transit or
// a PKCS#11 token:
// an existing key (--key-uri), checked for its type, or, with --import,
// the venue secret read from standard input and imported under a new
// alias or Transit key, checked by a known-answer MAC or signature. For a
// venue with an API passphrase, the backend computes the passphrase's
// HMAC once and it is sealed in the keystore.
func keysAddRemote(ctx context.Context, ks *keystore.Keystore, entry keystore.Entry, v venue, rf *remoteFlags, e *env) error {
	info := signer.KeyInfo{Name: entry.Name, Venue: entry.Venue, APIKey: entry.APIKey, Type: entry.Type}
	var (
		passphrase []byte
		s          signer.Signer
		keyName    string // the key's name in s
		where      string
	)
	if rf.imp {
		secret, pass, err := readCredential(e, entry.Type, v)
		if err != nil {
			return err
		}
		defer signer.Wipe(secret)
		defer signer.Wipe(pass)
		material, err := keyMaterial(entry.Type, v, secret)
		if err != nil {
			return err
		}
		defer signer.Wipe(material)
		passphrase = pass
		s, keyName, entry.URI, err = importRemote(ctx, rf, info, material, e)
		if err != nil {
			return err
		}
	} else {
		var err error
		if s, keyName, entry.URI, err = registerRemote(ctx, rf, info, e); err != nil {
			return err
		}
		if v.passphrase {
			if passphrase, err = readAPIPassphrase(e); err != nil {
				return err
			}
			defer signer.Wipe(passphrase)
		}
	}
	where = map[string]string{keystore.BackendAWSKMS: "AWS KMS", keystore.BackendVault: "Vault Transit", keystore.BackendPKCS11: "the PKCS#11 token"}[rf.backend]
	if !v.passphrase {
		if err := ks.AddReference(ctx, entry, nil); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "added %s (%s, %s) in %s at %s\n", entry.Name, entry.Venue, entry.Type, where, entry.URI)
		return nil
	}
	// One call to the backend, now; SignPassphrase then reads the sealed
	// result.
	mac, err := s.Sign(ctx, keyName, signer.HMACSHA256, passphrase)
	if err != nil {
		return fmt.Errorf("signing the API passphrase in %s: %w", where, err)
	}
	defer signer.Wipe(mac)
	if err := ks.AddReferenceSigned(ctx, entry, passphrase, mac); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "added %s (%s, %s) in %s at %s, with its signed API passphrase\n", entry.Name, entry.Venue, entry.Type, where, entry.URI)
	return nil
}

// importRemote imports material into the backend rf names and returns the
// backend, the key's name in it, and the URI to record.
func importRemote(ctx context.Context, rf *remoteFlags, info signer.KeyInfo, material []byte, e *env) (signer.Signer, string, string, error) {
	switch rf.backend {
	case keystore.BackendVault:
		b, err := e.backends().vaultTransit(ctx)
		if err != nil {
			return nil, "", "", err
		}
		u, _ := vault.ParseURI(rf.uri)
		_, err = b.Import(ctx, u.String(), info, material, nil)
		return b, info.Name, u.String(), err
	case keystore.BackendPKCS11:
		return e.backends().importPKCS11(ctx, rf.uri, info, material)
	}
	b, err := e.backends().awsKMS(ctx)
	if err != nil {
		return nil, "", "", err
	}
	u, _ := awskms.ParseURI(rf.uri)
	opts := []awskms.ImportOption{awskms.ImportAlias(u.KeyID)}
	if info.Type == signer.KeyHMAC {
		opts = append(opts, awskms.ImportOnly(signer.HMACSHA256))
	}
	_, err = b.Import(ctx, u.Region, info, material, nil, opts...)
	return b, info.Name, u.String(), err
}

// registerRemote registers the existing key rf names, checking its type.
func registerRemote(ctx context.Context, rf *remoteFlags, info signer.KeyInfo, e *env) (signer.Signer, string, string, error) {
	switch rf.backend {
	case keystore.BackendVault:
		b, err := e.backends().vaultTransit(ctx)
		if err != nil {
			return nil, "", "", err
		}
		u, _ := vault.ParseURI(rf.uri)
		_, err = b.Register(ctx, info, u.String())
		return b, info.Name, u.String(), err
	case keystore.BackendPKCS11:
		return e.backends().registerPKCS11(ctx, rf.uri, info)
	}
	b, err := e.backends().awsKMS(ctx)
	if err != nil {
		return nil, "", "", err
	}
	u, _ := awskms.ParseURI(rf.uri)
	_, err = b.Register(ctx, info, u.String())
	return b, info.Name, u.String(), err
}

// readAPIPassphrase reads a venue's API passphrase alone: one line of
// standard input, or a prompt without echo.
func readAPIPassphrase(e *env) ([]byte, error) {
	var p []byte
	var err error
	if e.isTerminal() {
		p, err = e.readPassword("API passphrase: ")
	} else {
		p, err = readLine(bufio.NewReader(e.stdin))
		if errors.Is(err, io.EOF) {
			return nil, errors.New("this venue issues an API passphrase with the key: give it on standard input")
		}
	}
	if err != nil {
		return nil, fmt.Errorf("reading the API passphrase: %w", err)
	}
	if len(p) == 0 {
		return nil, errors.New("this venue issues an API passphrase with the key; it is empty")
	}
	return p, nil
}

// keysInitWrapped creates a keystore whose master key a KMS key wraps. A
// passphrase given by KEYFENCE_PASSPHRASE or --passphrase-file wraps it
// too (a way in if the KMS key is lost); without one, only the KMS opens
// the keystore.
func keysInitWrapped(ctx context.Context, sf *storeFlags, uri string, weak bool, e *env) error {
	_, aerr := awskms.ParseURI(uri)
	_, verr := vault.ParseURI(uri)
	if aerr != nil && verr != nil {
		return usagef("keys init: --wrap takes awskms://REGION/KEY-ID or vault://MOUNT/KEY")
	}
	var pass []byte
	if sf.passFile != "" || e.getenv("KEYFENCE_PASSPHRASE") != "" {
		var err error
		if pass, err = readNewPassphrase(e, "KEYFENCE_PASSPHRASE", sf.passFile, weak); err != nil {
			return err
		}
		defer signer.Wipe(pass)
	}
	w, err := e.backends().resolveWrapper(ctx, uri)
	if err != nil {
		return err
	}
	ks, err := keystore.CreateWrapped(ctx, sf.path, w, pass)
	if err != nil {
		return err
	}
	defer ks.Close()
	how := "it opens with the KMS's credentials and no passphrase"
	if pass != nil {
		how = "it opens with the KMS's credentials or the passphrase"
	}
	fmt.Fprintf(e.stdout, "created keystore %s wrapped by %s; %s\n", sf.path, uri, how)
	return nil
}
