// Package keystore is keyfence's encrypted credential registry: one file
// that records which credential is which venue account and keeps its
// secret sealed, and that unlocks into a signer.Signer.
//
// # Model
//
// A keystore holds entries. An entry names a credential ("binance-main")
// and records its venue, its public API key, its key type and where its
// secret lives: sealed inside the file (backend "keystore") or, as a
// reference by URI, in an HSM (an RFC 7512 "pkcs11:" URI, backend
// "pkcs11"), in AWS KMS ("awskms://REGION/KEY-ID", backend "awskms") or in
// Vault Transit ("vault://MOUNT/KEY", backend "vault"); a Signer made
// WithResolver signs with references through the backend. For the venues whose keys come with an API passphrase (kucoin,
// okx, coinbase-exchange) the passphrase is sealed beside the secret, for
// HSM references too. The metadata is readable by anyone who can read the
// file; secrets are not.
//
// A random 256-bit master key encrypts the entries. The master key itself
// is wrapped by a key derived from the passphrase with Argon2id, by a KMS
// key (CreateWrapped, OpenWrapped: AWS KMS Encrypt/Decrypt or Vault Transit
// through a KeyWrapper, so that no passphrase sits in the bot's
// environment), or by both, so
// changing the passphrase rewraps only the master key and leaves every
// entry's bytes as they were. Each entry is sealed with
// XChaCha20-Poly1305 under a key derived from the master key, with a
// random 24-byte nonce and associated data that bind the format version
// and all the entry's metadata: an entry cannot be renamed, moved to
// another account, retyped, pointed at another HSM object or swapped with
// another entry without failing authentication. An HMAC-SHA256 over the
// whole file, keyed from the master key, binds the entries together: none
// can be removed, added, reordered or edited, and no byte of the header
// changed, without Open reporting it.
//
// Open parses the file, checks it, derives the key-encryption key and
// unwraps the master key; it decrypts no secret. A Signer decrypts a
// sealed key the first time it signs with it, imports it into an in-memory
// signer.Memory, wipes the plaintext, and reuses the imported key
// afterwards. Close wipes the master key and every decrypted secret.
//
// Every change (Add, AddReference, Remove, Update, ChangePassphrase)
// rewrites the file atomically: a temporary file with mode 0600 in the same
// directory is written and synced, renamed over the old file, and the
// directory is synced. A failed write leaves the old file as it was and the
// keystore in memory unchanged. Open refuses a file that group or others
// can access.
//
// Several processes may hold the same file open and change it: a change
// takes an exclusive flock on the file, re-reads it under the lock, and
// applies itself to what is on disk, so concurrent additions all survive
// and one process's removal is not undone by another's later write. Every
// write increases the file's generation (covered by the file MAC); a
// keystore refuses to write over an older generation than it saw
// (ErrRollback), and limits.FileStore.CheckGeneration makes a limits state
// refuse an older copy of the keystore, in which a removed key would work
// again.
//
// # Errors
//
// Each kind of failure has a sentinel for errors.Is and, where there are
// details, a type for errors.As: ErrWrongPassphrase; ErrCorrupt
// (*FormatError: truncated, malformed, damaged header); ErrTampered
// (*TamperError: authenticated data changed, naming the entry when one is
// at fault); ErrUnsupportedVersion (*VersionError); ErrInsecurePermissions
// (*PermissionError, whose message says to run chmod 600); ErrDuplicate,
// ErrNotFound and ErrInvalidEntry (in *EntryError). No error, String or
// JSON output ever contains a secret or passphrase.
//
// Without the passphrase, damage to the wrapped master key or the KDF
// parameters cannot be told from a wrong passphrase. An unkeyed SHA-256
// checksum of the header catches accidental damage before the KDF runs
// (ErrCorrupt); a deliberate edit that also fixes the checksum shows as
// ErrWrongPassphrase. The keystore cannot detect that a whole file was
// replaced by an older copy of itself (rollback).
//
// # File format, version 1
//
// The file is UTF-8 JSON; binary fields are standard base64 with padding.
// It is written in exactly this layout, one entry per line:
//
//	{"format":"keyfence-keystore","version":1,
//	"kdf":{"alg":"argon2id","salt":B64,"time":3,"memory_kib":65536,"threads":4},
//	"master":{"nonce":B64,"sealed":B64},
//	"kms":{"uri":S,"wrapped":B64},
//	"check":B64,
//	"entries":[
//	{"name":S,"venue":S,"api_key":S,"type":S,"backend":S,"uri":S,"public":B64,"has_passphrase":true,"nonce":B64,"sealed":B64},
//	...
//	],"mac":B64}
//
// and ends with one newline. The fields are:
//
//   - kdf: Argon2id parameters (time = passes, memory in KiB, threads =
//     lanes) and the salt (16 bytes as written; 16 to 64 accepted). Open
//     refuses time above 64 and memory above 4 GiB.
//   - master: the 32-byte master key sealed with XChaCha20-Poly1305 under
//     KEK = Argon2id(passphrase, salt, time, memory, threads, 32 bytes),
//     with a random 24-byte nonce and associated data
//     F("keyfence-keystore/v1/master") || u32(version) || F("argon2id") ||
//     u32(time) || u32(memory) || u8(threads) || F(salt), where F(x) is
//     u32(len(x)) || x and integers are big-endian.
//   - kms (present only for a KMS-wrapped keystore; kdf and master are then
//     omitted when no passphrase wraps the key): the URI of the KMS key and
//     the master key as its KeyWrapper wrapped it, with associated data (the
//     KMS encryption context) "keyfence-keystore/v1/master-kms".
//   - check: SHA-256("keyfence-keystore/v1/header" || master AD || nonce ||
//     sealed [|| F(kms.uri) || F(kms.wrapped)]), checked before the KDF
//     runs or the KMS is called.
//   - entries: "type" is hmac, ed25519, ecdsa or rsa; "backend" is keystore,
//     pkcs11, awskms or vault; "uri" (references only), "public" (PKIX DER of the public key
//     of an asymmetric sealed key) and "has_passphrase" are omitted when
//     empty. "sealed" is XChaCha20-Poly1305 under
//     HKDF-Expand-SHA256(master, "keyfence-keystore/v1/entry-key", 32) of
//     u32(len(secret)) || secret || API passphrase (for a reference the
//     secret is empty, or the passphrase's HMAC-SHA256 computed by the
//     backend, see Tx.AddReferenceSigned), with associated data
//     F("keyfence-keystore/v1/entry") || u32(version) || F(name) ||
//     F(venue) || F(api_key) || F(type) || F(backend) || F(uri) ||
//     F(public) || u8(has_passphrase).
//   - mac: HMAC-SHA256 under HKDF-Expand-SHA256(master,
//     "keyfence-keystore/v1/file-mac", 32) of every byte of the file before
//     the `,"mac":"` that ends it. Because the MAC covers the raw bytes,
//     no byte of a valid file can change, whitespace included, without
//     Open failing.
//
// Names are at most 256 bytes of printable UTF-8 and unique; venues are
// lowercase letters, digits, '-', '_' and '.'; API keys are printable
// ASCII. A reader reads the header as JSON (unknown fields refused) and the
// entry list and MAC strictly in the layout above, field order included:
// since the MAC covers every byte, no other layout could verify anyway, and
// the strict scanner opens a file of 100,000 entries in a fraction of the
// time encoding/json takes. A file of another format version is reported
// as ErrUnsupportedVersion whatever its layout.
package keystore
