// Package vault is a signer.Signer whose keys live in a HashiCorp Vault or
// OpenBao Transit secrets engine: the exchange secret or private key is
// imported once and never comes back; every signature is one Transit
// request. It speaks Vault's HTTP API with net/http (no Vault SDK) and is
// its own Go module.
//
// # Model
//
// A Transit key is named by a URI, vault://MOUNT/KEY, optionally pinned to
// a key version with @N (vault://transit/binance-main@2); without a
// version, Vault signs with the latest. A Backend holds named keys:
// Register names existing keys, Import brings key material in (BYOK), and
// Resolve, whose signature is keystore.Resolver's, lets keystore entries
// that point at Transit keys sign through the backend. Registering reads
// the key once (GET MOUNT/keys/KEY: its type and, for an asymmetric key,
// the public key of the version used); after that, each Sign is exactly
// one request:
//
//   - HMAC-SHA256 and HMAC-SHA512: POST MOUNT/hmac/KEY with algorithm
//     sha2-256 or sha2-512, for a key of type hmac only (Vault would HMAC
//     with a key of another type too, with a key of its own);
//   - Ed25519: POST MOUNT/sign/KEY for an ed25519 key;
//   - ES256: sign with hash_algorithm sha2-256 and marshaling_algorithm jws
//     (r||s, base64url); ES256DER: marshaling_algorithm asn1;
//   - RS256: sign with signature_algorithm pkcs1v15 (Vault's default is
//     PSS) and hash_algorithm sha2-256.
//
// Answers are "vault:vN:BASE64" strings; the backend decodes them and, for
// a pinned key, checks that N is the version asked for.
//
// Import reads the mount's RSA wrapping key (GET MOUNT/wrapping_key),
// wraps the material with an ephemeral AES-256 key by AES key wrap with
// padding (RFC 5649), encrypts that key with RSA-OAEP-SHA256, and posts
// both to MOUNT/keys/KEY/import (hash_function SHA256, not exportable): an
// HMAC secret of 32 to 512 bytes as is, an asymmetric key as PKCS#8. It
// then checks a known-answer MAC or signature. For a venue that pairs the
// key with an API passphrase (KuCoin), Vault computes the passphrase's
// HMAC once at import; SignPassphrase returns it without a request.
//
// Wrapper is a keystore.KeyWrapper over a Transit encryption key (encrypt
// and decrypt with associated_data), so that a keystore opens with Vault
// credentials instead of a passphrase.
//
// # Authentication
//
// A token (VAULT_TOKEN) goes in X-Vault-Token; AppRole (role ID and secret
// ID) logs in at auth/approle/login and logs in again when Vault refuses
// the token (403), once per request. A namespace goes in
// X-Vault-Namespace. ConfigFromEnv reads the usual variables. Tokens and
// secret IDs are *signer.Secret and never appear in errors or logs.
//
// # Errors
//
// A refused request is an *Error with the HTTP status and Vault's
// messages, matching a signer sentinel: 403 is signer.ErrAccessDenied; 404
// and "... key not found" are signer.ErrKeyNotFound; a key version below
// min_encryption_version is signer.ErrKeyDisabled; 429 is ErrThrottled
// and, with 5xx (a sealed or standby Vault), the retryable
// signer.ErrUnavailable.
//
// # Testing
//
// No Vault server can be built or installed where keyfence is tested, so
// the tests run against package vaulttest, a fake that implements the
// documented API, including unwrapping the real import wrapping. Set
// VAULT_ADDR (and VAULT_TOKEN) to run the conformance suite against a real
// Vault or OpenBao.
package vault
