package keystore

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/keyfence/keyfence/signer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mac256(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	ks, path := newStore(t, testKDF)

	hmacSecret := randBytes(t, 32)
	edPub, edPEM := newEd25519(t)
	ecPub, ecPEM := newECDSA(t)
	kuSecret, kuPass := randBytes(t, 24), []byte("kucoin api passphrase")
	require.NoError(t, ks.Update(ctx, func(tx *Tx) error {
		return errors.Join(
			tx.Add(hmacEntry("bin"), hmacSecret, nil),
			tx.Add(Entry{Name: "cb", Venue: "coinbase", APIKey: "organizations/x/apiKeys/y", Type: signer.KeyEd25519}, edPEM, nil),
			tx.Add(Entry{Name: "cb-ec", Venue: "coinbase", APIKey: "ec-key", Type: signer.KeyECDSAP256}, ecPEM, nil),
			tx.Add(Entry{Name: "ku", Venue: "kucoin", APIKey: "ku-key", Type: signer.KeyHMAC}, kuSecret, kuPass),
			tx.AddReference(Entry{Name: "hsm", Venue: "binance", APIKey: "hsm-key", Type: signer.KeyEd25519,
				URI: "pkcs11:token=hsm;object=bin%20main?pin-source=file:/run/pin"}, nil),
		)
	}))
	require.NoError(t, ks.Close())

	ks = reopen(t, path)
	got := ks.Entries()
	require.Len(t, got, 5)
	want := []Entry{
		{Name: "bin", Venue: "binance", APIKey: "api-bin", Type: signer.KeyHMAC, Backend: BackendKeystore},
		{Name: "cb", Venue: "coinbase", APIKey: "organizations/x/apiKeys/y", Type: signer.KeyEd25519, Backend: BackendKeystore, Public: edPub},
		{Name: "cb-ec", Venue: "coinbase", APIKey: "ec-key", Type: signer.KeyECDSAP256, Backend: BackendKeystore, Public: ecPub},
		{Name: "hsm", Venue: "binance", APIKey: "hsm-key", Type: signer.KeyEd25519, Backend: BackendPKCS11,
			URI: "pkcs11:token=hsm;object=bin%20main?pin-source=file:/run/pin"},
		{Name: "ku", Venue: "kucoin", APIKey: "ku-key", Type: signer.KeyHMAC, Backend: BackendKeystore, HasPassphrase: true},
	}
	for i := range want {
		assert.Equal(t, want[i].Name, got[i].Name)
		assert.Equal(t, want[i].Venue, got[i].Venue)
		assert.Equal(t, want[i].APIKey, got[i].APIKey)
		assert.Equal(t, want[i].Type, got[i].Type)
		assert.Equal(t, want[i].Backend, got[i].Backend)
		assert.Equal(t, want[i].URI, got[i].URI)
		assert.Equal(t, want[i].HasPassphrase, got[i].HasPassphrase)
		if want[i].Public == nil {
			assert.Nil(t, got[i].Public, got[i].Name)
		} else {
			assert.True(t, got[i].Public.(interface{ Equal(crypto.PublicKey) bool }).Equal(want[i].Public), got[i].Name)
		}
	}
	assert.Zero(t, ks.unseals.Load(), "Open must not decrypt entries")

	s := ks.Signer()
	msg := []byte("symbol=BTCUSDT&side=BUY")
	sig, err := s.Sign(ctx, "bin", signer.HMACSHA256, msg)
	require.NoError(t, err)
	assert.Equal(t, mac256(hmacSecret, msg), sig)

	sig, err = s.Sign(ctx, "cb", signer.Ed25519, msg)
	require.NoError(t, err)
	assert.True(t, ed25519.Verify(edPub, msg, sig))

	sig, err = s.Sign(ctx, "cb-ec", signer.ES256DER, msg)
	require.NoError(t, err)
	d := sha256.Sum256(msg)
	assert.True(t, ecdsa.VerifyASN1(ecPub, d[:], sig))

	sig, err = s.SignPassphrase(ctx, "ku", signer.HMACSHA256)
	require.NoError(t, err)
	assert.Equal(t, mac256(kuSecret, kuPass), sig)
	assert.EqualValues(t, 4, ks.unseals.Load(), "only the keys used are decrypted")

	info, err := s.Info(ctx, "ku")
	require.NoError(t, err)
	assert.Equal(t, "keystore", info.Backend)
	assert.True(t, info.HasPassphrase)
	infos, err := s.Keys(ctx)
	require.NoError(t, err)
	require.Len(t, infos, 5)
	assert.Equal(t, "pkcs11", infos[3].Backend)
}

func TestFilePermissionsAndLayout(t *testing.T) {
	ks, path := newStore(t, testKDF)
	require.NoError(t, ks.Add(context.Background(), hmacEntry("a"), []byte("s"), nil))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o600), fi.Mode().Perm())
	var doc map[string]any
	require.NoError(t, json.Unmarshal(readFile(t, path), &doc), "the file is plain JSON")
	assert.Equal(t, "keyfence-keystore", doc["format"])
	entries, _ := os.ReadDir(filepath.Dir(path))
	assert.Len(t, entries, 1, "no temporary file is left behind")
}

func TestDefaultKDFRecorded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.json")
	ks, err := Create(context.Background(), path, testPass)
	require.NoError(t, err)
	defer ks.Close()
	var doc struct {
		KDF struct {
			Alg       string `json:"alg"`
			Salt      []byte `json:"salt"`
			Time      uint32 `json:"time"`
			MemoryKiB uint32 `json:"memory_kib"`
			Threads   uint8  `json:"threads"`
		} `json:"kdf"`
	}
	require.NoError(t, json.Unmarshal(readFile(t, path), &doc))
	assert.Equal(t, "argon2id", doc.KDF.Alg)
	assert.GreaterOrEqual(t, doc.KDF.MemoryKiB, uint32(64*1024))
	assert.GreaterOrEqual(t, doc.KDF.Time, uint32(3))
	assert.GreaterOrEqual(t, doc.KDF.Threads, uint8(1))
	assert.GreaterOrEqual(t, len(doc.KDF.Salt), 16)
	assert.Equal(t, DefaultKDFParams(), ks.KDFParams())
}

func TestCreateExists(t *testing.T) {
	_, path := newStore(t, testKDF)
	before := readFile(t, path)
	_, err := Create(context.Background(), path, testPass, WithKDFParams(testKDF))
	require.ErrorIs(t, err, ErrExists)
	assert.ErrorIs(t, err, fs.ErrExist)
	assert.Equal(t, before, readFile(t, path))

	// The link that publishes a new file fails too if the path appears
	// between the check and the write.
	_, err = writeAtomic(path, []byte("x"), true, nil)
	require.ErrorIs(t, err, ErrExists)
	assert.Equal(t, before, readFile(t, path))
}

func TestCreateRejects(t *testing.T) {
	dir := t.TempDir()
	_, err := Create(context.Background(), filepath.Join(dir, "a"), nil, WithKDFParams(testKDF))
	assert.ErrorIs(t, err, ErrEmptyPassphrase)
	_, err = Create(context.Background(), filepath.Join(dir, "b"), testPass, WithKDFParams(KDFParams{Time: 0, MemoryKiB: 64, Threads: 1}))
	assert.ErrorContains(t, err, "time")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = Create(ctx, filepath.Join(dir, "c"), testPass, WithKDFParams(testKDF))
	assert.ErrorIs(t, err, context.Canceled)
	files, _ := os.ReadDir(dir)
	assert.Empty(t, files)
}

func TestWrongPassphrase(t *testing.T) {
	_, path := newStore(t, testKDF)
	_, err := Open(context.Background(), path, []byte("wrong"))
	require.ErrorIs(t, err, ErrWrongPassphrase)
	assert.NotErrorIs(t, err, ErrTampered)
	assert.NotContains(t, err.Error(), "\n")
}

func TestInsecurePermissions(t *testing.T) {
	_, path := newStore(t, testKDF)
	for _, mode := range []fs.FileMode{0o640, 0o604, 0o644, 0o660, 0o602} {
		require.NoError(t, os.Chmod(path, mode))
		_, err := Open(context.Background(), path, testPass)
		require.ErrorIs(t, err, ErrInsecurePermissions, "%o", mode)
		var pe *PermissionError
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, mode, pe.Mode.Perm())
		assert.Contains(t, err.Error(), "chmod 600 "+path)
	}
	require.NoError(t, os.Chmod(path, 0o400))
	reopen(t, path)
}

func TestOpenMissingAndDirectory(t *testing.T) {
	dir := t.TempDir()
	_, err := Open(context.Background(), filepath.Join(dir, "none"), testPass)
	assert.ErrorIs(t, err, fs.ErrNotExist)
	sub := filepath.Join(dir, "d")
	require.NoError(t, os.Mkdir(sub, 0o700))
	_, err = Open(context.Background(), sub, testPass)
	assert.ErrorIs(t, err, ErrCorrupt)
}

func TestUnsupportedVersion(t *testing.T) {
	_, path := newStore(t, testKDF)
	data := readFile(t, path)
	for _, v := range []string{"2", "0", "99"} {
		bad := bytes.Replace(data, []byte(`"version":1,`), []byte(`"version":`+v+`,`), 1)
		require.NoError(t, os.WriteFile(path, bad, 0o600))
		_, err := Open(context.Background(), path, testPass)
		require.ErrorIs(t, err, ErrUnsupportedVersion, v)
		assert.NotErrorIs(t, err, ErrCorrupt)
		var ve *VersionError
		require.ErrorAs(t, err, &ve)
		assert.Equal(t, v, fmt.Sprint(ve.Version))
	}
	// A later version may have another layout altogether.
	require.NoError(t, os.WriteFile(path, []byte(`{"format":"keyfence-keystore","version":2,"blob":"AAAA"}`+"\n"), 0o600))
	_, err := Open(context.Background(), path, testPass)
	require.ErrorIs(t, err, ErrUnsupportedVersion)
	assert.Contains(t, err.Error(), "version 2")
}

func TestDuplicate(t *testing.T) {
	ctx := context.Background()
	ks, path := newStore(t, testKDF)
	require.NoError(t, ks.Add(ctx, hmacEntry("a"), []byte("s1"), nil))
	before := readFile(t, path)
	err := ks.Add(ctx, hmacEntry("a"), []byte("s2"), nil)
	require.ErrorIs(t, err, ErrDuplicate)
	var ee *EntryError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, "a", ee.Name)
	assert.Equal(t, before, readFile(t, path), "nothing written on error")

	err = ks.Update(ctx, func(tx *Tx) error {
		require.NoError(t, tx.Add(hmacEntry("b"), []byte("s"), nil))
		return tx.Add(hmacEntry("b"), []byte("s"), nil)
	})
	require.ErrorIs(t, err, ErrDuplicate)
	assert.Equal(t, before, readFile(t, path))
	assert.Len(t, ks.Entries(), 1)

	// A file holding two entries of one name, correctly MACed, is corrupt.
	e := ks.byName["a"]
	data := encode(ks.hdr, []*entry{e, e}, ks.keys)
	require.NoError(t, os.WriteFile(path, data, 0o600))
	_, err = Open(ctx, path, testPass)
	require.ErrorIs(t, err, ErrCorrupt)
	require.ErrorIs(t, err, ErrDuplicate)
	var fe *FormatError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "entries[1].name", fe.Field)
}

func TestNotFound(t *testing.T) {
	ctx := context.Background()
	ks, path := newStore(t, testKDF)
	before := readFile(t, path)
	err := ks.Remove(ctx, "nope")
	require.ErrorIs(t, err, ErrNotFound)
	assert.Equal(t, before, readFile(t, path))
	_, err = ks.Signer().Sign(ctx, "nope", signer.HMACSHA256, nil)
	assert.ErrorIs(t, err, signer.ErrKeyNotFound)
	_, err = ks.Signer().Info(ctx, "nope")
	assert.ErrorIs(t, err, signer.ErrKeyNotFound)
}

func TestInvalidEntry(t *testing.T) {
	ctx := context.Background()
	ks, path := newStore(t, testKDF)
	_, edPEM := newEd25519(t)
	before := readFile(t, path)
	ok := hmacEntry("ok")
	with := func(f func(e *Entry)) Entry { e := ok; f(&e); return e }
	cases := []struct {
		name   string
		e      Entry
		secret []byte
		pass   []byte
	}{
		{"empty name", with(func(e *Entry) { e.Name = "" }), []byte("s"), nil},
		{"control char in name", with(func(e *Entry) { e.Name = "a\nb" }), []byte("s"), nil},
		{"long name", with(func(e *Entry) { e.Name = strings.Repeat("n", 257) }), []byte("s"), nil},
		{"invalid utf8 name", with(func(e *Entry) { e.Name = "\xff" }), []byte("s"), nil},
		{"empty venue", with(func(e *Entry) { e.Venue = "" }), []byte("s"), nil},
		{"uppercase venue", with(func(e *Entry) { e.Venue = "Binance" }), []byte("s"), nil},
		{"empty api key", with(func(e *Entry) { e.APIKey = "" }), []byte("s"), nil},
		{"space in api key", with(func(e *Entry) { e.APIKey = "a b" }), []byte("s"), nil},
		{"unknown type", with(func(e *Entry) { e.Type = "dsa" }), []byte("s"), nil},
		{"empty hmac secret", ok, nil, nil},
		{"uri on sealed key", with(func(e *Entry) { e.URI = "pkcs11:object=x" }), []byte("s"), nil},
		{"ed25519 with garbage", with(func(e *Entry) { e.Type = signer.KeyEd25519 }), []byte("not a key"), nil},
		{"ecdsa with ed25519 pem", with(func(e *Entry) { e.Type = signer.KeyECDSAP256 }), edPEM, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := ks.Add(ctx, c.e, c.secret, c.pass)
			require.ErrorIs(t, err, ErrInvalidEntry)
			assert.NotContains(t, err.Error(), "\n")
		})
	}
	for _, uri := range []string{"", "pkcs11:", "pkcs12:object=x", "pkcs11:object", "pkcs11:=x", "pkcs11:object=a b",
		"pkcs11:object=%zz", "pkcs11:object=%4", "pkcs11:object=x?pin", "pkcs11:" + strings.Repeat("a=b;", 600)} {
		err := ks.AddReference(ctx, Entry{Name: "h", Venue: "binance", APIKey: "k", Type: signer.KeyEd25519, URI: uri}, nil)
		require.ErrorIs(t, err, ErrInvalidEntry, uri)
	}
	assert.Equal(t, before, readFile(t, path))
	assert.Empty(t, ks.Entries())
}

func TestAddRemoveKeepsOthers(t *testing.T) {
	ctx := context.Background()
	ks, path := newStore(t, testKDF)
	secrets := map[string][]byte{}
	require.NoError(t, ks.Update(ctx, func(tx *Tx) error {
		for i := range 40 {
			name := fmt.Sprintf("k%02d", i)
			secrets[name] = randBytes(t, 16)
			if err := tx.Add(hmacEntry(name), secrets[name], nil); err != nil {
				return err
			}
		}
		return nil
	}))
	for i := 0; i < 40; i += 3 {
		name := fmt.Sprintf("k%02d", i)
		require.NoError(t, ks.Remove(ctx, name))
		delete(secrets, name)
	}
	for i := 40; i < 45; i++ {
		name := fmt.Sprintf("k%02d", i)
		secrets[name] = randBytes(t, 16)
		require.NoError(t, ks.Add(ctx, hmacEntry(name), secrets[name], nil))
	}
	// Remove and re-add a name in one transaction: it gets the new secret.
	secrets["k01"] = randBytes(t, 16)
	require.NoError(t, ks.Update(ctx, func(tx *Tx) error {
		return errors.Join(tx.Remove("k01"), tx.Add(hmacEntry("k01"), secrets["k01"], nil))
	}))
	require.NoError(t, ks.Close())

	ks = reopen(t, path)
	require.Len(t, ks.Entries(), len(secrets))
	s := ks.Signer()
	for name, secret := range secrets {
		sig, err := s.Sign(ctx, name, signer.HMACSHA256, []byte("m"))
		require.NoError(t, err, name)
		assert.Equal(t, mac256(secret, []byte("m")), sig, name)
	}
}

func TestUpdateErrorWritesNothing(t *testing.T) {
	ctx := context.Background()
	ks, path := newStore(t, testKDF)
	require.NoError(t, ks.Add(ctx, hmacEntry("a"), []byte("s"), nil))
	before := readFile(t, path)
	boom := errors.New("boom")
	var kept *Tx
	err := ks.Update(ctx, func(tx *Tx) error {
		kept = tx
		require.NoError(t, tx.Remove("a"))
		require.NoError(t, tx.Add(hmacEntry("b"), []byte("s"), nil))
		return boom
	})
	require.ErrorIs(t, err, boom)
	assert.Equal(t, before, readFile(t, path))
	assert.Equal(t, []string{"a"}, names(ks.Entries()))
	assert.Error(t, kept.Add(hmacEntry("c"), []byte("s"), nil), "a finished transaction refuses changes")
	// An empty update writes nothing either.
	require.NoError(t, ks.Update(ctx, func(*Tx) error { return nil }))
	assert.Equal(t, before, readFile(t, path))
}

func names(es []Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Name
	}
	return out
}

func TestAtomicWriteFailure(t *testing.T) {
	ctx := context.Background()
	for _, step := range []string{stepWrite, stepSync, stepRename} {
		t.Run(step, func(t *testing.T) {
			ks, path := newStore(t, testKDF)
			require.NoError(t, ks.Add(ctx, hmacEntry("a"), []byte("secret-a"), nil))
			before := readFile(t, path)
			injected := errors.New("injected failure")
			ks.hook = func(s string) error {
				if s == step {
					return injected
				}
				return nil
			}
			require.ErrorIs(t, ks.Add(ctx, hmacEntry("b"), []byte("s"), nil), injected)
			require.ErrorIs(t, ks.Remove(ctx, "a"), injected)
			require.ErrorIs(t, ks.ChangePassphrase(ctx, []byte("new")), injected)

			assert.Equal(t, before, readFile(t, path), "the old file is byte-identical")
			files, err := os.ReadDir(filepath.Dir(path))
			require.NoError(t, err)
			assert.Len(t, files, 1, "the temporary file is removed")
			assert.Equal(t, []string{"a"}, names(ks.Entries()), "memory is unchanged")

			ks.hook = nil
			require.NoError(t, ks.Add(ctx, hmacEntry("b"), []byte("s"), nil))
			require.NoError(t, ks.Close())
			assert.Equal(t, []string{"a", "b"}, names(reopen(t, path).Entries()))
		})
	}
	t.Run(stepSyncDir, func(t *testing.T) {
		// Once renamed, the new file is in place: the error says so and
		// memory follows the file.
		ks, path := newStore(t, testKDF)
		ks.hook = func(s string) error {
			if s == stepSyncDir {
				return errors.New("injected failure")
			}
			return nil
		}
		err := ks.Add(ctx, hmacEntry("b"), []byte("s"), nil)
		require.ErrorContains(t, err, "was replaced")
		assert.Equal(t, []string{"b"}, names(ks.Entries()))
		assert.Equal(t, []string{"b"}, names(reopen(t, path).Entries()))
	})
}

func TestChangePassphraseRewrapsOnly(t *testing.T) {
	ctx := context.Background()
	ks, path := newStore(t, testKDF)
	require.NoError(t, ks.Add(ctx, hmacEntry("a"), []byte("secret-a"), nil))
	require.NoError(t, ks.AddReference(ctx, Entry{Name: "h", Venue: "okx", APIKey: "k", Type: signer.KeyHMAC, URI: "pkcs11:object=okx"}, []byte("okx-pass")))
	before := readFile(t, path)
	newPass := []byte("a new passphrase")
	require.NoError(t, ks.ChangePassphrase(ctx, newPass))
	after := readFile(t, path)

	entriesOf := func(b []byte) string {
		i := bytes.Index(b, []byte(`"entries":[`))
		j := bytes.LastIndex(b, []byte(`,"mac":"`))
		return string(b[i:j])
	}
	assert.Equal(t, entriesOf(before), entriesOf(after), "entries are not re-encrypted")
	assert.NotEqual(t, before, after)
	require.NoError(t, ks.Close())

	_, err := Open(ctx, path, testPass)
	require.ErrorIs(t, err, ErrWrongPassphrase)
	ks, err = Open(ctx, path, newPass)
	require.NoError(t, err)
	defer ks.Close()
	sig, err := ks.Signer().Sign(ctx, "a", signer.HMACSHA256, []byte("m"))
	require.NoError(t, err)
	assert.Equal(t, mac256([]byte("secret-a"), []byte("m")), sig)

	// New KDF parameters are recorded.
	strong := KDFParams{Time: 2, MemoryKiB: 16 * 1024, Threads: 2}
	require.NoError(t, ks.ChangePassphrase(ctx, newPass, WithKDFParams(strong)))
	assert.Equal(t, strong, ks.KDFParams())
	require.ErrorIs(t, ks.ChangePassphrase(ctx, nil), ErrEmptyPassphrase)
}

func TestTamperNamesEntry(t *testing.T) {
	ctx := context.Background()
	ks, path := newStore(t, testKDF)
	require.NoError(t, ks.Update(ctx, func(tx *Tx) error {
		return errors.Join(
			tx.Add(hmacEntry("alpha"), []byte("secret-1"), nil),
			tx.Add(hmacEntry("beta"), []byte("secret-2"), nil),
			tx.AddReference(Entry{Name: "gamma", Venue: "binance", APIKey: "g", Type: signer.KeyHMAC, URI: "pkcs11:object=g"}, nil),
		)
	}))
	orig := readFile(t, path)
	openBad := func(data []byte) error {
		require.NoError(t, os.WriteFile(path, data, 0o600))
		_, err := Open(ctx, path, testPass)
		return err
	}
	lines := strings.Split(string(orig), "\n")
	lineOf := func(name string) int {
		for i, l := range lines {
			if strings.HasPrefix(l, `{"name":"`+name+`"`) {
				return i
			}
		}
		t.Fatalf("no line for %s", name)
		return -1
	}
	edit := func(f func(ls []string)) []byte {
		ls := append([]string(nil), lines...)
		f(ls)
		ls = slices.DeleteFunc(ls, func(l string) bool { return l == "\x00" })
		return []byte(strings.Join(ls, "\n"))
	}
	cases := []struct {
		name  string
		data  []byte
		entry string
	}{
		{"api key changed", edit(func(ls []string) {
			i := lineOf("beta")
			ls[i] = strings.Replace(ls[i], `"api-beta"`, `"api-bet4"`, 1)
		}), "beta"},
		{"renamed", edit(func(ls []string) {
			i := lineOf("alpha")
			ls[i] = strings.Replace(ls[i], `"alpha"`, `"alphb"`, 1)
		}), "alphb"},
		{"uri redirected", edit(func(ls []string) {
			i := lineOf("gamma")
			ls[i] = strings.Replace(ls[i], `pkcs11:object=g`, `pkcs11:object=h`, 1)
		}), "gamma"},
		{"sealed secrets swapped", edit(func(ls []string) {
			a, b := lineOf("alpha"), lineOf("beta")
			ia, ib := strings.Index(ls[a], `,"nonce"`), strings.Index(ls[b], `,"nonce"`)
			ls[a], ls[b] = ls[a][:ia]+ls[b][ib:], ls[b][:ib]+ls[a][ia:]
		}), "alpha"},
		{"entry removed", edit(func(ls []string) {
			ls[lineOf("beta")] = "\x00"
		}), ""},
		{"entries reordered", edit(func(ls []string) {
			a, b := lineOf("alpha"), lineOf("beta")
			ls[a], ls[b] = strings.TrimSuffix(ls[b], ",")+",", strings.TrimSuffix(ls[a], ",")+","
		}), ""},
		{"whitespace added", bytes.Replace(orig, []byte(`"kdf":{`), []byte(`"kdf": {`), 1), ""},
		{"key case changed", bytes.Replace(orig, []byte(`"check":`), []byte(`"Check":`), 1), ""},
		{"mac changed", func() []byte {
			b := bytes.Clone(orig)
			i := bytes.LastIndex(b, []byte(`"mac":"`)) + len(`"mac":"`)
			b[i] = map[bool]byte{true: 'B', false: 'A'}[b[i] == 'A']
			return b
		}(), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := openBad(c.data)
			require.ErrorIs(t, err, ErrTampered)
			var te *TamperError
			require.ErrorAs(t, err, &te)
			assert.Equal(t, c.entry, te.Entry)
			if c.entry != "" {
				assert.Contains(t, err.Error(), `"`+c.entry+`"`)
			}
		})
	}
}

func TestTamperedEntryFailsAtFirstUse(t *testing.T) {
	// Defence in depth: even past the file MAC, a damaged seal fails
	// its first signature and names the entry.
	ctx := context.Background()
	ks, _ := newStore(t, testKDF)
	require.NoError(t, ks.Add(ctx, hmacEntry("a"), []byte("s"), nil))
	ks.byName["a"].sealed[0] ^= 1
	_, err := ks.Signer().Sign(ctx, "a", signer.HMACSHA256, []byte("m"))
	require.ErrorIs(t, err, ErrTampered)
	assert.Contains(t, err.Error(), `"a"`)
}

func TestClose(t *testing.T) {
	ctx := context.Background()
	ks, _ := newStore(t, testKDF)
	require.NoError(t, ks.Add(ctx, hmacEntry("a"), []byte("secret-a"), nil))
	s := ks.Signer()
	_, err := s.Sign(ctx, "a", signer.HMACSHA256, []byte("m"))
	require.NoError(t, err)
	master, seal, mac := ks.keys.master, ks.keys.seal, ks.keys.mac
	require.NoError(t, ks.Close())
	require.NoError(t, ks.Close(), "Close is idempotent")
	for _, b := range [][]byte{master, seal, mac} {
		assert.Equal(t, make([]byte, len(b)), b, "keys are wiped")
	}
	_, err = s.Sign(ctx, "a", signer.HMACSHA256, []byte("m"))
	assert.ErrorIs(t, err, ErrClosed)
	assert.ErrorIs(t, err, signer.ErrClosed)
	_, err = s.Keys(ctx)
	assert.ErrorIs(t, err, signer.ErrClosed)
	assert.ErrorIs(t, ks.Add(ctx, hmacEntry("b"), []byte("s"), nil), ErrClosed)
	assert.ErrorIs(t, ks.ChangePassphrase(ctx, []byte("x")), ErrClosed)
	assert.Empty(t, ks.Entries())
}

func TestRemoveWipesUnsealedKey(t *testing.T) {
	ctx := context.Background()
	ks, _ := newStore(t, testKDF)
	require.NoError(t, ks.Add(ctx, hmacEntry("a"), []byte("s1"), nil))
	s := ks.Signer()
	_, err := s.Sign(ctx, "a", signer.HMACSHA256, []byte("m"))
	require.NoError(t, err)
	id := ks.byName["a"].id
	require.NoError(t, ks.Remove(ctx, "a"))
	_, err = ks.cache.Info(ctx, id)
	assert.ErrorIs(t, err, signer.ErrKeyNotFound)
	_, err = s.Sign(ctx, "a", signer.HMACSHA256, []byte("m"))
	assert.ErrorIs(t, err, signer.ErrKeyNotFound)

	// A new key of the same name is a new key.
	require.NoError(t, ks.Add(ctx, hmacEntry("a"), []byte("s2"), nil))
	sig, err := s.Sign(ctx, "a", signer.HMACSHA256, []byte("m"))
	require.NoError(t, err)
	assert.Equal(t, mac256([]byte("s2"), []byte("m")), sig)
}

func TestCanceledContext(t *testing.T) {
	ks, path := newStore(t, testKDF)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Open(ctx, path, testPass)
	assert.ErrorIs(t, err, context.Canceled)
	assert.ErrorIs(t, ks.Add(ctx, hmacEntry("a"), []byte("s"), nil), context.Canceled)
	_, err = ks.Signer().Sign(ctx, "a", signer.HMACSHA256, nil)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestWriteThroughSymlink(t *testing.T) {
	ctx := context.Background()
	_, path := newStore(t, testKDF)
	link := filepath.Join(t.TempDir(), "link.json")
	require.NoError(t, os.Symlink(path, link))
	ks := reopen(t, link)
	require.NoError(t, ks.Add(ctx, hmacEntry("a"), []byte("s"), nil))
	fi, err := os.Lstat(link)
	require.NoError(t, err)
	assert.Equal(t, fs.ModeSymlink, fi.Mode().Type(), "the link stays a link")
	assert.Equal(t, []string{"a"}, names(reopen(t, path).Entries()))
}
