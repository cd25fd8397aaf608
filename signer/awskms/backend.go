package awskms

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/keyfence/keyfence/signer"
	"github.com/keyfence/keyfence/signer/internal/remote"
)

// BackendName is the KeyInfo.Backend of every key this package serves.
const BackendName = "awskms"

// Option configures New.
type Option func(*Backend)

// WithConfig uses cfg instead of the SDK's default configuration.
func WithConfig(cfg aws.Config) Option {
	return func(b *Backend) { b.cfg, b.haveCfg = cfg, true }
}

// WithLogger sends key events (never secrets or messages) to l.
func WithLogger(l *slog.Logger) Option {
	return func(b *Backend) { b.log = l }
}

// Backend is a signer.Signer and signer.Lister over KMS keys. It is safe
// for concurrent use.
type Backend struct {
	cfg     aws.Config
	haveCfg bool
	log     *slog.Logger

	mu      sync.Mutex
	clients map[string]*kms.Client // by region
	keys    map[string]*key        // by name
	closed  bool
}

// key is a registered key: its metadata and, per algorithm, the KMS key
// that signs with it (an HMAC key may be two KMS keys, HMAC_256 and
// HMAC_512, under one name).
type key struct {
	info signer.KeyInfo
	by   map[signer.Algorithm]URI
	uris []URI
	// pass is the API passphrase given to Import, and passMAC its
	// HMAC-SHA256 under the key, computed by KMS once at import; nil for
	// keys without one.
	pass, passMAC *signer.Secret
}

func (k *key) close() {
	k.pass.Close()
	k.passMAC.Close()
}

// New returns a backend that reaches KMS with the SDK's standard
// configuration (config.LoadDefaultConfig): region, credentials chain,
// and AWS_ENDPOINT_URL_KMS or AWS_ENDPOINT_URL for the endpoint. A key
// URI's region overrides the configured one.
func New(ctx context.Context, opts ...Option) (*Backend, error) {
	b := &Backend{clients: map[string]*kms.Client{}, keys: map[string]*key{}}
	for _, o := range opts {
		o(b)
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	if !b.haveCfg {
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("awskms: load the AWS configuration: %w", err)
		}
		b.cfg = cfg
	}
	return b, nil
}

// Close forgets every key; later calls fail with signer.ErrClosed. Keys
// stay in KMS.
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for _, k := range b.keys {
		k.close()
	}
	b.keys = nil
	return nil
}

// Format prints the backend without its configuration (which may hold
// credentials).
func (b *Backend) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte("awskms.Backend")) }

func (b *Backend) client(region string) (*kms.Client, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, signer.ErrClosed
	}
	c := b.clients[region]
	if c == nil {
		c = kms.NewFromConfig(b.cfg, func(o *kms.Options) { o.Region = region })
		b.clients[region] = c
	}
	return c, nil
}

// describe reads a KMS key's spec, usage and state and, for an
// asymmetric key, its public key.
func (b *Backend) describe(ctx context.Context, u URI) (signer.KeyType, []signer.Algorithm, crypto.PublicKey, error) {
	c, err := b.client(u.Region)
	if err != nil {
		return "", nil, nil, err
	}
	out, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(u.KeyID)})
	if err != nil {
		return "", nil, nil, mapError(ctx, "DescribeKey", err)
	}
	md := out.KeyMetadata
	if md == nil {
		return "", nil, nil, fmt.Errorf("awskms: DescribeKey: no key metadata in the answer")
	}
	if md.KeyState != types.KeyStateEnabled {
		return "", nil, nil, fmt.Errorf("%w: the key is %s", signer.ErrKeyDisabled, md.KeyState)
	}
	var (
		typ  signer.KeyType
		algs []signer.Algorithm
	)
	switch md.KeySpec {
	case types.KeySpecHmac256:
		typ, algs = signer.KeyHMAC, []signer.Algorithm{signer.HMACSHA256}
	case types.KeySpecHmac512:
		typ, algs = signer.KeyHMAC, []signer.Algorithm{signer.HMACSHA512}
	case types.KeySpecEccNistEdwards25519:
		typ, algs = signer.KeyEd25519, []signer.Algorithm{signer.Ed25519}
	case types.KeySpecEccNistP256:
		typ, algs = signer.KeyECDSAP256, []signer.Algorithm{signer.ES256, signer.ES256DER}
	case types.KeySpecRsa2048, types.KeySpecRsa3072, types.KeySpecRsa4096:
		typ, algs = signer.KeyRSA, []signer.Algorithm{signer.RS256}
	default:
		return "", nil, nil, fmt.Errorf("%w: key spec %s", ErrUnsupportedKey, md.KeySpec)
	}
	wantUsage := types.KeyUsageTypeSignVerify
	if typ == signer.KeyHMAC {
		wantUsage = types.KeyUsageTypeGenerateVerifyMac
	}
	if md.KeyUsage != wantUsage {
		return "", nil, nil, fmt.Errorf("%w: key usage is %s, not %s", ErrUnsupportedKey, md.KeyUsage, wantUsage)
	}
	if typ == signer.KeyHMAC {
		return typ, algs, nil, nil
	}
	pk, err := c.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String(u.KeyID)})
	if err != nil {
		return "", nil, nil, mapError(ctx, "GetPublicKey", err)
	}
	pub, err := x509.ParsePKIXPublicKey(pk.PublicKey)
	if err != nil {
		return "", nil, nil, fmt.Errorf("awskms: GetPublicKey: the public key does not parse: %w", err)
	}
	if publicType(pub) != typ {
		return "", nil, nil, fmt.Errorf("%w: the public key is a %T, the key spec %s", ErrUnsupportedKey, pub, md.KeySpec)
	}
	return typ, algs, pub, nil
}

func publicType(pub crypto.PublicKey) signer.KeyType {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() {
			return signer.KeyECDSAP256
		}
	case *rsa.PublicKey:
		return signer.KeyRSA
	case ed25519.PublicKey:
		return signer.KeyEd25519
	}
	return ""
}

// Register makes the KMS keys named by uris signable under info.Name,
// without an API passphrase (a keystore holds that for its references). It
// asks KMS for each key's spec, usage, state and public key (DescribeKey,
// GetPublicKey), checks that they fit info.Type, and records info (venue,
// API key) for Info. An HMAC name may take one HMAC_256 and one HMAC_512
// key; other types take one key.
func (b *Backend) Register(ctx context.Context, info signer.KeyInfo, uris ...string) (signer.KeyInfo, error) {
	k, err := b.describeAll(ctx, info, uris)
	if err != nil {
		return signer.KeyInfo{}, err
	}
	return b.add(k)
}

// describeAll builds a key from its KMS keys.
func (b *Backend) describeAll(ctx context.Context, info signer.KeyInfo, uris []string) (*key, error) {
	fail := func(err error) (*key, error) {
		return nil, &signer.KeyError{Op: "register", Key: info.Name, Err: err}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if info.Name == "" || len(uris) == 0 {
		return fail(errors.New("awskms: a key needs a name and at least one KMS key URI"))
	}
	k := &key{info: info, by: map[signer.Algorithm]URI{}}
	k.info.Backend = BackendName
	k.info.HasPassphrase = false
	for _, s := range uris {
		u, err := ParseURI(s)
		if err != nil {
			return fail(err)
		}
		typ, algs, pub, err := b.describe(ctx, u)
		if err != nil {
			return fail(err)
		}
		if info.Type != "" && typ != info.Type {
			return fail(fmt.Errorf("%w: the KMS key is a %s key, not %s", signer.ErrInvalidKey, typ, info.Type))
		}
		if k.info.Type != "" && typ != k.info.Type {
			return fail(fmt.Errorf("%w: the KMS keys are of different types", signer.ErrInvalidKey))
		}
		k.info.Type, k.info.Public = typ, pub
		for _, a := range algs {
			if _, dup := k.by[a]; dup {
				return fail(fmt.Errorf("%w: two KMS keys sign %s", signer.ErrInvalidKey, a))
			}
			k.by[a] = u
		}
		k.uris = append(k.uris, u)
	}
	return k, nil
}

// add registers k under its name.
func (b *Backend) add(k *key) (signer.KeyInfo, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	fail := func(err error) (signer.KeyInfo, error) {
		k.close()
		return signer.KeyInfo{}, &signer.KeyError{Op: "register", Key: k.info.Name, Err: err}
	}
	if b.closed {
		return fail(signer.ErrClosed)
	}
	if _, dup := b.keys[k.info.Name]; dup {
		return fail(signer.ErrDuplicateKey)
	}
	b.keys[k.info.Name] = k
	b.log.Debug("awskms: registered key", "name", k.info.Name, "type", k.info.Type, "kms_keys", len(k.uris))
	return k.info, nil
}

// Resolve registers the KMS key named by uri under the URI itself, once,
// and returns the backend and that name. Its signature is that of
// keystore.Resolver, so that keystore entries pointing at KMS keys sign
// through this backend.
func (b *Backend) Resolve(ctx context.Context, uri string) (signer.Signer, string, error) {
	b.mu.Lock()
	_, ok := b.keys[uri]
	b.mu.Unlock()
	if ok {
		return b, uri, nil
	}
	_, err := b.Register(ctx, signer.KeyInfo{Name: uri}, uri)
	if err != nil && !errors.Is(err, signer.ErrDuplicateKey) {
		return nil, "", err
	}
	return b, uri, nil
}

func (b *Backend) lookup(op, name string) (*key, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, signer.ErrClosed
	}
	k, ok := b.keys[name]
	if !ok {
		return nil, &signer.KeyError{Op: op, Key: name, Err: signer.ErrKeyNotFound}
	}
	return k, nil
}

// Sign implements signer.Signer with one call to KMS: GenerateMac for
// HMAC-SHA256/512, Sign with MessageType RAW and ED25519_SHA_512,
// ECDSA_SHA_256 or RSASSA_PKCS1_V1_5_SHA_256 for the others. ES256 is the
// DER signature KMS returns converted to r||s; ES256DER is it as is.
func (b *Backend) Sign(ctx context.Context, name string, alg signer.Algorithm, msg []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	k, err := b.lookup("sign", name)
	if err != nil {
		return nil, err
	}
	fail := func(err error) ([]byte, error) { return nil, &signer.KeyError{Op: "sign", Key: name, Err: err} }
	u, ok := k.by[alg]
	if !ok {
		return fail(fmt.Errorf("%w: this %s key signs with %s in KMS, not %q", signer.ErrWrongAlgorithm, k.info.Type, algList(k), alg))
	}
	if len(msg) > MaxMessageSize {
		return fail(&MessageTooLargeError{Size: len(msg)})
	}
	if len(msg) == 0 {
		return fail(errors.New("awskms: KMS cannot sign an empty message"))
	}
	c, err := b.client(u.Region)
	if err != nil {
		return fail(err)
	}
	switch alg {
	case signer.HMACSHA256, signer.HMACSHA512:
		ma := types.MacAlgorithmSpecHmacSha256
		if alg == signer.HMACSHA512 {
			ma = types.MacAlgorithmSpecHmacSha512
		}
		out, err := c.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: aws.String(u.KeyID), MacAlgorithm: ma, Message: msg})
		if err != nil {
			return fail(mapError(ctx, "GenerateMac", err))
		}
		if len(out.Mac) != macSize(alg) {
			return fail(fmt.Errorf("awskms: GenerateMac returned %d bytes, want %d", len(out.Mac), macSize(alg)))
		}
		return out.Mac, nil
	}
	var sa types.SigningAlgorithmSpec
	switch alg {
	case signer.Ed25519:
		sa = types.SigningAlgorithmSpecEd25519Sha512
	case signer.ES256, signer.ES256DER:
		sa = types.SigningAlgorithmSpecEcdsaSha256
	case signer.RS256:
		sa = types.SigningAlgorithmSpecRsassaPkcs1V15Sha256
	}
	out, err := c.Sign(ctx, &kms.SignInput{KeyId: aws.String(u.KeyID), Message: msg,
		MessageType: types.MessageTypeRaw, SigningAlgorithm: sa})
	if err != nil {
		return fail(mapError(ctx, "Sign", err))
	}
	if alg == signer.ES256 {
		raw, err := signer.ECDSADERToRaw(out.Signature, 32)
		if err != nil {
			return fail(fmt.Errorf("awskms: Sign returned a malformed ECDSA signature: %w", err))
		}
		return raw, nil
	}
	return out.Signature, nil
}

func macSize(a signer.Algorithm) int {
	if a == signer.HMACSHA512 {
		return 64
	}
	return 32
}

func algList(k *key) string {
	var s []string
	for a := range k.by {
		s = append(s, string(a))
	}
	slices.Sort(s)
	return strings.Join(s, ", ")
}

// Info implements signer.Signer. It does not call KMS.
func (b *Backend) Info(ctx context.Context, name string) (signer.KeyInfo, error) {
	if err := ctx.Err(); err != nil {
		return signer.KeyInfo{}, err
	}
	k, err := b.lookup("info", name)
	if err != nil {
		return signer.KeyInfo{}, err
	}
	return k.info, nil
}

// Keys implements signer.Lister: the registered keys, sorted by name.
func (b *Backend) Keys(ctx context.Context) ([]signer.KeyInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, signer.ErrClosed
	}
	out := make([]signer.KeyInfo, 0, len(b.keys))
	for _, k := range b.keys {
		out = append(out, k.info)
	}
	slices.SortFunc(out, func(a, b signer.KeyInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// URIs returns the KMS keys registered under name, as URIs.
func (b *Backend) URIs(name string) ([]string, error) {
	k, err := b.lookup("uris", name)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(k.uris))
	for i, u := range k.uris {
		out[i] = u.String()
	}
	return out, nil
}

var (
	_ signer.Signer = (*Backend)(nil)
	_ signer.Lister = (*Backend)(nil)
)

// SignPassphrase implements signer.PassphraseSigner for keys imported with
// an API passphrase: HMAC-SHA256 returns the MAC KMS computed at import,
// with no call; another algorithm is one KMS call over the passphrase.
func (b *Backend) SignPassphrase(ctx context.Context, name string, alg signer.Algorithm) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	k, err := b.lookup("sign passphrase", name)
	if err != nil {
		return nil, err
	}
	return remote.SignPassphrase(ctx, name, alg, k.pass, k.passMAC, b.Sign)
}

var _ signer.PassphraseSigner = (*Backend)(nil)
