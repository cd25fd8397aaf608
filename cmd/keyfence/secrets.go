package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/keyfence/keyfence/signer"
)

// readPassphrase returns the keystore passphrase: KEYFENCE_PASSPHRASE, else
// the --passphrase-file, else a prompt without echo when stdin is a terminal.
func readPassphrase(e *env, file string) ([]byte, error) {
	if v, ok, err := e.secretEnv("KEYFENCE_PASSPHRASE"); err != nil || ok {
		return []byte(v), err
	}
	if file != "" {
		return readSecretFile(file)
	}
	if e.isTerminal() {
		p, err := e.readPassword("Keystore passphrase: ")
		if err != nil {
			return nil, fmt.Errorf("reading the passphrase: %w", err)
		}
		return p, nil
	}
	return nil, errors.New("no keystore passphrase: set KEYFENCE_PASSPHRASE, pass --passphrase-file, or run in a terminal")
}

// MinPassphrase is the shortest keystore passphrase accepted without
// --weak-passphrase, in characters. Argon2id slows guessing down; it does
// not make a short passphrase strong.
const MinPassphrase = 12

// readNewPassphrase returns a new passphrase: from the environment variable
// named, else the file, else two prompts that must match. One shorter than
// MinPassphrase characters is refused unless weak is set.
func readNewPassphrase(e *env, envName, file string, weak bool) ([]byte, error) {
	p, err := readNewPassphraseFrom(e, envName, file)
	if err != nil {
		return nil, err
	}
	if n := utf8.RuneCount(p); n < MinPassphrase && !weak {
		signer.Wipe(p)
		return nil, fmt.Errorf("the new passphrase has %d characters; use at least %d (or pass --weak-passphrase to accept a weak one)", n, MinPassphrase)
	}
	return p, nil
}

func readNewPassphraseFrom(e *env, envName, file string) ([]byte, error) {
	if v, ok, err := e.secretEnv(envName); err != nil || ok {
		return []byte(v), err
	}
	if file != "" {
		return readSecretFile(file)
	}
	if !e.isTerminal() {
		return nil, fmt.Errorf("no new passphrase: set %s or run in a terminal", envName)
	}
	p1, err := e.readPassword("New keystore passphrase: ")
	if err != nil {
		return nil, fmt.Errorf("reading the passphrase: %w", err)
	}
	p2, err := e.readPassword("Repeat the passphrase: ")
	if err != nil {
		return nil, fmt.Errorf("reading the passphrase: %w", err)
	}
	defer signer.Wipe(p2)
	if !bytes.Equal(p1, p2) {
		signer.Wipe(p1)
		return nil, errors.New("the passphrases do not match")
	}
	return p1, nil
}

// readSecretFile reads a passphrase file, refusing one that group or others
// can read, and strips one trailing newline.
func readSecretFile(path string) ([]byte, error) { return readPrivateFile(path, "passphrase file") }

// readPrivateFile reads a file of secrets (what names it in errors),
// refusing one that group or others can read, and strips one trailing
// newline.
func readPrivateFile(path, what string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s %s is readable by group or others (mode %04o): run chmod 600 %s", what, path, fi.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	if len(b) == 0 {
		return nil, fmt.Errorf("%s %s is empty", what, path)
	}
	return b, nil
}

// readKeySecret reads a key secret from r: one line, or one PEM block when
// the first line opens one.
func readKeySecret(r *bufio.Reader) ([]byte, error) {
	first, err := readLine(r)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(first, []byte("-----BEGIN ")) {
		return first, nil
	}
	var block bytes.Buffer
	block.Write(first)
	block.WriteByte('\n')
	signer.Wipe(first)
	for {
		line, err := readLine(r)
		if err != nil {
			signer.Wipe(block.Bytes())
			return nil, errors.New("the PEM block on standard input has no END line")
		}
		block.Write(line)
		block.WriteByte('\n')
		end := bytes.HasPrefix(line, []byte("-----END "))
		signer.Wipe(line)
		if end {
			return block.Bytes(), nil
		}
	}
}

// readLine reads one line without its line ending; io.EOF only when nothing
// is left.
func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadBytes('\n')
	if err != nil && (err != io.EOF || len(line) == 0) {
		if err == io.EOF {
			return nil, io.EOF
		}
		return nil, err
	}
	line = bytes.TrimSuffix(line, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	return line, nil
}

// venue describes what the CLI must know of a venue's credentials.
type venue struct {
	passphrase bool   // the venue issues an API passphrase with the key
	keyTypes   string // key types the venue issues, for messages
}

// venues are the venues keyfence has a client for: a key of any other
// venue could be stored but never used.
var venues = map[string]venue{
	"binance":  {keyTypes: "hmac, ed25519, rsa"},
	"coinbase": {keyTypes: "ecdsa, ed25519"},
	"kucoin":   {passphrase: true, keyTypes: "hmac"},
}

func lookupVenue(name string) (venue, error) {
	v, ok := venues[name]
	if !ok {
		names := make([]string, 0, len(venues))
		for n := range venues {
			names = append(names, n)
		}
		return venue{}, usagef("unknown venue %q; keyfence has clients for: %s", name, strings.Join(sortedStrings(names), ", "))
	}
	return v, nil
}
