package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/keyfence/keyfence/keystore"
	"github.com/keyfence/keyfence/signer"
)

const keysUsage = `usage: keyfence keys <init|add|list|remove|passwd> [flags]
  keys init [--wrap awskms://REGION/KEY-ID|vault://MOUNT/KEY]
  keys add --name N --venue V --api-key K [--type T] [--backend keystore|awskms|vault --key-uri URI [--import]]`

func keysCmd(ctx context.Context, args []string, e *env) error {
	if len(args) == 0 {
		return usagef("%s", keysUsage)
	}
	switch args[0] {
	case "init":
		return keysInit(ctx, args[1:], e)
	case "add":
		return keysAdd(ctx, args[1:], e)
	case "list":
		return keysList(ctx, args[1:], e)
	case "remove":
		return keysRemove(ctx, args[1:], e)
	case "passwd":
		return keysPasswd(ctx, args[1:], e)
	}
	return usagef("unknown keys command %q; %s", args[0], keysUsage)
}

// storeFlags are the flags every keys command takes.
type storeFlags struct {
	path     string
	passFile string
	state    string // keys commands: a limits state to tie to the new generation
}

func (s *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.path, "keystore", "", "keystore file (default $KEYFENCE_KEYSTORE)")
	fs.StringVar(&s.passFile, "passphrase-file", "", "file holding the keystore passphrase (mode 0600)")
}

func (s *storeFlags) resolve(e *env) error {
	if s.path == "" {
		s.path = e.getenv("KEYFENCE_KEYSTORE")
	}
	if s.path == "" {
		return usagef("no keystore: pass --keystore FILE or set KEYFENCE_KEYSTORE")
	}
	return nil
}

// open opens the keystore: one wrapped by a KMS key with the KMS's
// credentials and no passphrase, else with the passphrase.
func (s *storeFlags) open(ctx context.Context, e *env) (*keystore.Keystore, error) {
	if s.passFile == "" && e.getenv("KEYFENCE_PASSPHRASE") == "" {
		ks, err := keystore.OpenWrapped(ctx, s.path, e.backends().resolveWrapper)
		if !errors.Is(err, keystore.ErrNotWrapped) {
			return ks, err
		}
	}
	pass, err := readPassphrase(e, s.passFile)
	if err != nil {
		return nil, err
	}
	defer signer.Wipe(pass)
	ks, err := keystore.Open(ctx, s.path, pass)
	if errors.Is(err, keystore.ErrKMSWrapped) {
		return keystore.OpenWrapped(ctx, s.path, e.backends().resolveWrapper)
	}
	return ks, err
}

// parseKeys parses the flags of a keys subcommand: the store flags, those
// that register adds, and no arguments.
func parseKeys(name string, args []string, e *env, register func(*flag.FlagSet)) (*storeFlags, error) {
	fs := newFlags(name, e)
	sf := new(storeFlags)
	sf.register(fs)
	fs.StringVar(&sf.state, "state", "", "limits state file to record the keystore's new generation in, so that an older copy of the keystore is refused")
	if register != nil {
		register(fs)
	}
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, usagef("%s: unexpected argument %q", name, fs.Arg(0))
	}
	return sf, nil
}

// openKeys resolves the keystore path and opens the keystore.
// withKeyNames adds to an error about a key name that is not in ks the
// names that are, so that a typo is seen at once.
func withKeyNames(ks *keystore.Keystore, err error) error {
	if !errors.Is(err, keystore.ErrNotFound) && !errors.Is(err, signer.ErrKeyNotFound) {
		return err
	}
	var names []string
	for _, en := range ks.Entries() {
		names = append(names, en.Name)
	}
	if len(names) == 0 {
		return fmt.Errorf("%w; the keystore holds no keys: add one with keyfence keys add", err)
	}
	return fmt.Errorf("%w; the keystore holds: %s", err, strings.Join(sortedStrings(names), ", "))
}

func openKeys(ctx context.Context, sf *storeFlags, e *env) (*keystore.Keystore, error) {
	if err := sf.resolve(e); err != nil {
		return nil, err
	}
	return sf.open(ctx, e)
}

func keysInit(ctx context.Context, args []string, e *env) error {
	var (
		wrap string
		weak bool
	)
	sf, err := parseKeys("keys init", args, e, func(fs *flag.FlagSet) {
		fs.StringVar(&wrap, "wrap", "", "wrap the master key with this KMS key (awskms://REGION/KEY-ID or vault://MOUNT/KEY); the keystore then opens with the KMS's credentials, no passphrase")
		fs.BoolVar(&weak, "weak-passphrase", false, fmt.Sprintf("accept a passphrase shorter than %d characters", MinPassphrase))
	})
	if err != nil {
		return err
	}
	if err := sf.resolve(e); err != nil {
		return err
	}
	if wrap != "" {
		return keysInitWrapped(ctx, sf, wrap, weak, e)
	}
	pass, err := readNewPassphrase(e, "KEYFENCE_PASSPHRASE", sf.passFile, weak)
	if err != nil {
		return err
	}
	defer signer.Wipe(pass)
	ks, err := keystore.Create(ctx, sf.path, pass)
	if err != nil {
		return err
	}
	defer ks.Close()
	fmt.Fprintf(e.stdout, "created keystore %s\n", sf.path)
	return nil
}

func keysAdd(ctx context.Context, args []string, e *env) error {
	var name, venueName, apiKey, typ string
	var rf remoteFlags
	sf, err := parseKeys("keys add", args, e, func(fs *flag.FlagSet) {
		fs.StringVar(&name, "name", "", "credential name (required)")
		fs.StringVar(&venueName, "venue", "", "venue: binance, coinbase, kucoin, ... (required)")
		fs.StringVar(&apiKey, "api-key", "", "the public API key the venue shows (required)")
		fs.StringVar(&typ, "type", "hmac", "key type: hmac, ed25519, ecdsa or rsa")
		rf.register(fs)
	})
	if err != nil {
		return err
	}
	switch {
	case name == "":
		return usagef("keys add: --name is required")
	case venueName == "":
		return usagef("keys add: --venue is required")
	case apiKey == "":
		return usagef("keys add: --api-key is required")
	}
	kt, err := signer.ParseKeyType(typ)
	if err != nil {
		return usagef("keys add: %v", err)
	}
	v, err := lookupVenue(venueName)
	if err != nil {
		return err
	}
	if err := rf.check(); err != nil {
		return err
	}
	ks, err := openKeys(ctx, sf, e)
	if err != nil {
		return err
	}
	defer ks.Close()
	entry := keystore.Entry{Name: name, Venue: venueName, APIKey: apiKey, Type: kt}
	if rf.backend != keystore.BackendKeystore {
		return keysAddRemote(ctx, ks, entry, v, &rf, e)
	}

	secret, passphrase, err := readCredential(e, kt, v)
	if err != nil {
		return err
	}
	defer signer.Wipe(secret)
	defer signer.Wipe(passphrase)
	material, err := keyMaterial(kt, v, secret)
	if err != nil {
		return err
	}
	defer signer.Wipe(material)
	if err := ks.Add(ctx, entry, material, passphrase); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "added %s (%s, %s); keystore generation %d\n", name, venueName, kt, ks.Generation())
	return recordGeneration(ctx, sf.state, ks.Generation(), e)
}

// readCredential reads the key secret and, for venues that have one, the API
// passphrase: from standard input when it is not a terminal, else from
// prompts without echo.
func readCredential(e *env, kt signer.KeyType, v venue) (secret, passphrase []byte, err error) {
	if e.isTerminal() {
		if kt != signer.KeyHMAC && kt != signer.KeyEd25519 {
			return nil, nil, fmt.Errorf("a %s key is a PEM block: pipe it on standard input (keyfence keys add ... < key.pem)", kt)
		}
		secret, err = e.readPassword("API secret: ")
		if err != nil {
			return nil, nil, fmt.Errorf("reading the secret: %w", err)
		}
		if v.passphrase {
			passphrase, err = e.readPassword("API passphrase: ")
			if err != nil {
				signer.Wipe(secret)
				return nil, nil, fmt.Errorf("reading the API passphrase: %w", err)
			}
		}
	} else {
		r := bufio.NewReader(e.stdin)
		secret, err = readKeySecret(r)
		if errors.Is(err, io.EOF) {
			return nil, nil, errors.New("no secret on standard input: pipe the secret (one line, or one PEM block)")
		}
		if err != nil {
			return nil, nil, err
		}
		if v.passphrase {
			passphrase, err = readLine(r)
			if err != nil {
				signer.Wipe(secret)
				return nil, nil, errors.New("no API passphrase on standard input: give it on the line after the secret")
			}
		}
	}
	if len(secret) == 0 {
		return nil, nil, errors.New("the secret is empty")
	}
	if v.passphrase && len(passphrase) == 0 {
		signer.Wipe(secret)
		return nil, nil, errors.New("this venue issues an API passphrase with the key; it is empty")
	}
	return secret, passphrase, nil
}

// keyMaterial turns the secret as the venue shows it into the bytes the
// signer keys with. The result is a new slice the caller wipes.
func keyMaterial(kt signer.KeyType, v venue, secret []byte) ([]byte, error) {
	s := strings.TrimSpace(string(secret))
	switch {
	case kt == signer.KeyEd25519 && !strings.HasPrefix(s, "-----BEGIN"):
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || (len(b) != 32 && len(b) != 64) {
			return nil, errors.New("an ed25519 secret must be a PEM block or base64 of a 32-byte seed or 64-byte key")
		}
		return b, nil
	}
	out := make([]byte, len(secret))
	copy(out, secret)
	if kt != signer.KeyHMAC {
		if _, err := signer.ParsePrivateKey(kt, out); err != nil {
			signer.Wipe(out)
			return nil, err
		}
	}
	return out, nil
}

func keysList(ctx context.Context, args []string, e *env) error {
	sf, err := parseKeys("keys list", args, e, nil)
	if err != nil {
		return err
	}
	ks, err := openKeys(ctx, sf, e)
	if err != nil {
		return err
	}
	defer ks.Close()
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVENUE\tAPI KEY\tTYPE\tBACKEND")
	for _, en := range ks.Entries() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", en.Name, en.Venue, en.APIKey, en.Type, en.Backend)
	}
	return tw.Flush()
}

func keysRemove(ctx context.Context, args []string, e *env) error {
	var name string
	sf, err := parseKeys("keys remove", args, e, func(fs *flag.FlagSet) {
		fs.StringVar(&name, "name", "", "credential name (required)")
	})
	if err != nil {
		return err
	}
	if name == "" {
		return usagef("keys remove: --name is required")
	}
	ks, err := openKeys(ctx, sf, e)
	if err != nil {
		return err
	}
	defer ks.Close()
	if err := ks.Remove(ctx, name); err != nil {
		return withKeyNames(ks, err)
	}
	fmt.Fprintf(e.stdout, "removed %s; keystore generation %d\n", name, ks.Generation())
	return recordGeneration(ctx, sf.state, ks.Generation(), e)
}

func keysPasswd(ctx context.Context, args []string, e *env) error {
	var newFile string
	var weak bool
	sf, err := parseKeys("keys passwd", args, e, func(fs *flag.FlagSet) {
		fs.StringVar(&newFile, "new-passphrase-file", "", "file holding the new passphrase (mode 0600)")
		fs.BoolVar(&weak, "weak-passphrase", false, fmt.Sprintf("accept a passphrase shorter than %d characters", MinPassphrase))
	})
	if err != nil {
		return err
	}
	ks, err := openKeys(ctx, sf, e)
	if err != nil {
		return err
	}
	defer ks.Close()
	pass, err := readNewPassphrase(e, "KEYFENCE_NEW_PASSPHRASE", newFile, weak)
	if err != nil {
		return err
	}
	defer signer.Wipe(pass)
	if err := ks.ChangePassphrase(ctx, pass); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "changed the passphrase of %s; keystore generation %d\n", filepath.Base(sf.path), ks.Generation())
	return recordGeneration(ctx, sf.state, ks.Generation(), e)
}
