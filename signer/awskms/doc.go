// Package awskms is a signer.Signer whose keys live in AWS KMS: the exchange
// secret or private key is imported into KMS (or made there) and never
// comes back; every signature is one KMS call. It is its own Go module, so
// that the rest of keyfence does not download the AWS SDK.
//
// # Model
//
// A KMS key is named by a URI, awskms://REGION/KEY-ID, where KEY-ID is a key
// ID, an alias ("alias/binance-main") or a key or alias ARN. A Backend
// holds named keys: Register names KMS keys that already exist, Import
// creates keys and imports material into them, and Resolve, whose signature
// is keystore.Resolver's, lets keystore entries that point at KMS keys sign
// through the backend. Registering asks KMS once for the key's spec, usage,
// state and public key; after that, each Sign is exactly one request:
//
//   - HMAC-SHA256 and HMAC-SHA512: GenerateMac with an HMAC_256 or HMAC_512
//     key (a KMS HMAC key makes one of the two, so a name may hold both);
//   - Ed25519: Sign with ED25519_SHA_512 over the RAW message (RFC 8032
//     pure Ed25519) with an ECC_NIST_EDWARDS25519 key;
//   - ES256 and ES256DER: Sign with ECDSA_SHA_256 with an ECC_NIST_P256 key;
//     KMS answers DER, which ES256 converts to r||s;
//   - RS256: Sign with RSASSA_PKCS1_V1_5_SHA_256 with an RSA key.
//
// KMS signs messages of 1 to 4,096 bytes; a longer one is refused with a
// *MessageTooLargeError before any request.
//
// Import wraps the material for KMS the documented way: an HMAC secret (32
// to 64 bytes for HMAC_256, 64 to 128 for HMAC_512) with RSAES_OAEP_SHA_256
// under an RSA_2048 wrapping key; an asymmetric key as PKCS#8 with
// RSA_AES_KEY_WRAP_SHA_256 (RSA-OAEP-SHA256 around AES key wrap with
// padding, RFC 5649) under an RSA_4096 wrapping key. It then checks a
// known-answer MAC or signature before the key is used. For a venue that
// pairs the key with an API passphrase (KuCoin), KMS computes the
// passphrase's HMAC once at import; SignPassphrase returns it without a
// request.
//
// Wrapper is a keystore.KeyWrapper over a symmetric KMS key (Encrypt,
// Decrypt), so that a keystore opens with KMS credentials instead of a
// passphrase (keystore.CreateWrapped, keystore.OpenWrapped).
//
// # Configuration
//
// New uses the SDK's standard configuration: the region, the credentials
// chain (environment, shared files, SSO, IMDS, ...) and the endpoint from
// AWS_ENDPOINT_URL_KMS or AWS_ENDPOINT_URL. A URI's region overrides the
// configured one. The SDK retries throttled and failed requests with
// backoff; every call honours its context's deadline.
//
// # Errors
//
// A KMS error is an *Error carrying the KMS error code and request ID, and
// matching a signer sentinel: NotFoundException is signer.ErrKeyNotFound;
// DisabledException and KMSInvalidStateException (pending deletion or
// import) are signer.ErrKeyDisabled; AccessDeniedException and rejected
// credentials are signer.ErrAccessDenied; InvalidKeyUsageException is
// signer.ErrWrongAlgorithm; ThrottlingException (after the SDK's retries)
// is ErrThrottled and, with internal errors and timeouts, the retryable
// signer.ErrUnavailable. Failures about one key are *signer.KeyError
// naming it. No error or log line holds a credential, a secret or a
// message.
//
// # Testing
//
// The tests run against local-kms, an independent KMS emulator, in a
// private network namespace (scripts/with-local-kms.sh), and against
// package awskmstest, a KMS fake implementing the documented wire protocol
// (AWS JSON 1.1, SigV4 verified) for what local-kms lacks: Ed25519 and
// importing key material.
package awskms
