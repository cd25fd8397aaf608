package keystore

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/keyfence/keyfence/signer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// smallFile returns a keystore file with two entries, sealed with tiny
// KDF parameters so that it can be opened thousands of times.
func smallFile(t testing.TB) []byte {
	t.Helper()
	ks, path := newStore(t, tinyKDF)
	require.NoError(t, ks.Update(context.Background(), func(tx *Tx) error {
		return errors.Join(
			tx.Add(Entry{Name: "ku", Venue: "kucoin", APIKey: "ku-api", Type: signer.KeyHMAC}, []byte("ku-secret"), []byte("ku-pass")),
			tx.AddReference(Entry{Name: "hsm", Venue: "binance", APIKey: "b-api", Type: signer.KeyHMAC, URI: "pkcs11:object=b"}, nil),
		)
	}))
	return readFile(t, path)
}

func TestSmallFileOpens(t *testing.T) {
	data := smallFile(t)
	ks, err := openData(context.Background(), "k", data, testPass)
	require.NoError(t, err)
	assert.Len(t, ks.Entries(), 2)
	require.NoError(t, ks.Close())
}

func TestTruncatedAtEveryLength(t *testing.T) {
	data := smallFile(t)
	for n := range len(data) {
		ks, err := openData(context.Background(), "k", data[:n], testPass)
		require.Nil(t, ks)
		require.ErrorIs(t, err, ErrCorrupt, "truncated to %d bytes", n)
		var fe *FormatError
		require.ErrorAs(t, err, &fe)
		require.NotContains(t, err.Error(), "\n")
	}
}

// TestFlippedByteAtEveryPosition flips each byte of a small file with
// several masks. Every result must be an error: the MAC covers every byte
// of the file, whitespace included, and the header checksum every header
// value, so no byte is insignificant. A flip never reads as a wrong
// passphrase, and a flip inside an entry's sealed data names that entry.
func TestFlippedByteAtEveryPosition(t *testing.T) {
	data := smallFile(t)
	// Where each entry's sealed value lies.
	type span struct {
		name       string
		start, end int
	}
	var sealed []span
	for _, name := range []string{"ku", "hsm"} {
		line := bytes.Index(data, []byte(`{"name":"`+name+`"`))
		s := line + bytes.Index(data[line:], []byte(`"sealed":"`)) + len(`"sealed":"`)
		e := s + bytes.IndexByte(data[s:], '"')
		sealed = append(sealed, span{name, s, e})
	}
	named := map[string]int{}
	kinds := map[string]int{}
	for _, mask := range []byte{0x01, 0x02, 0x20, 0x80, 0xff} {
		for i := range data {
			bad := bytes.Clone(data)
			bad[i] ^= mask
			ks, err := openData(context.Background(), "k", bad, testPass)
			require.Nil(t, ks)
			require.Error(t, err, "byte %d ^ %#x", i, mask)
			require.NotErrorIs(t, err, ErrWrongPassphrase, "byte %d ^ %#x", i, mask)
			require.NotContains(t, err.Error(), "\n")
			switch {
			case errors.Is(err, ErrCorrupt):
				kinds["corrupt"]++
			case errors.Is(err, ErrUnsupportedVersion):
				kinds["version"]++
			case errors.Is(err, ErrTampered):
				kinds["tampered"]++
				var te *TamperError
				require.ErrorAs(t, err, &te)
				for _, s := range sealed {
					if i >= s.start && i < s.end && te.Entry != "" {
						require.Equal(t, s.name, te.Entry, "byte %d ^ %#x", i, mask)
						named[s.name]++
					}
				}
			default:
				t.Fatalf("byte %d ^ %#x: untyped error %v", i, mask, err)
			}
		}
	}
	t.Logf("outcomes: %v; named entries: %v", kinds, named)
	assert.Positive(t, kinds["version"])
	assert.Positive(t, kinds["tampered"])
	assert.Positive(t, named["ku"])
	assert.Positive(t, named["hsm"])
}

func TestCorruptHeaderFields(t *testing.T) {
	data := smallFile(t)
	cases := []struct{ old, new, field string }{
		{`"format":"keyfence-keystore"`, `"format":"other"`, "format"},
		{`"alg":"argon2id"`, `"alg":"argon2i"`, "kdf.alg"},
		{`"time":1,`, `"time":0,`, "kdf"},
		{`"time":1,`, `"time":65,`, "kdf"},
		{`"memory_kib":64,`, `"memory_kib":4194305,`, "kdf"},
		{`"threads":1}`, `"threads":0}`, "kdf"},
		{`"time":1,`, `"time":2,`, "check"},
		{`"version":1,`, `"version":"x",`, "version"},
		{`"version":1,`, `"version":1e999,`, "version"},
		{`"format"`, `"extra":1,"format"`, ""},
	}
	for _, c := range cases {
		t.Run(c.new, func(t *testing.T) {
			bad := bytes.Replace(data, []byte(c.old), []byte(c.new), 1)
			require.NotEqual(t, data, bad)
			_, err := openData(context.Background(), "k", bad, testPass)
			require.ErrorIs(t, err, ErrCorrupt)
			var fe *FormatError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, c.field, fe.Field)
			assert.True(t, strings.HasPrefix(err.Error(), "keystore: k is corrupt"), err.Error())
		})
	}
	_, err := openData(context.Background(), "k", append(bytes.Clone(data), data...), testPass)
	assert.ErrorIs(t, err, ErrCorrupt, "trailing data")
	_, err = openData(context.Background(), "k", []byte("[]\n"), testPass)
	assert.ErrorIs(t, err, ErrCorrupt)
	_, err = openData(context.Background(), "k", []byte(`"x"`), testPass)
	assert.ErrorIs(t, err, ErrCorrupt)
}
