package vault

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/keyfence/keyfence/signer"
	"github.com/keyfence/keyfence/signer/internal/remote"
)

// BackendName is the KeyInfo.Backend of every key this package serves.
const BackendName = "vault"

// Config says which Vault to reach and how to log in.
type Config struct {
	// Address is Vault's URL, e.g. https://vault.example:8200 (VAULT_ADDR).
	Address string
	// Token is a Vault token (VAULT_TOKEN). New copies it.
	Token *signer.Secret
	// AppRole, if set, logs in with a role ID and secret ID instead of a
	// token, and again when the token is refused.
	AppRole *AppRole
	// Namespace is the Vault Enterprise / OpenBao namespace
	// (VAULT_NAMESPACE), sent as X-Vault-Namespace.
	Namespace string
	// HTTPClient sends the requests; http.DefaultClient's transport with
	// no overall timeout if nil (contexts bound each call).
	HTTPClient *http.Client
	// Logger receives key events, never secrets; nil discards.
	Logger *slog.Logger
}

// AppRole is the AppRole auth method's credentials.
type AppRole struct {
	Mount    string // "approle" if empty
	RoleID   string
	SecretID *signer.Secret
}

// ConfigFromEnv reads VAULT_ADDR, VAULT_TOKEN, VAULT_NAMESPACE and, for
// AppRole, VAULT_ROLE_ID and VAULT_SECRET_ID (with VAULT_APPROLE_MOUNT),
// through getenv (os.Getenv if nil).
func ConfigFromEnv(getenv func(string) string) Config {
	if getenv == nil {
		getenv = os.Getenv
	}
	c := Config{Address: getenv("VAULT_ADDR"), Namespace: getenv("VAULT_NAMESPACE")}
	if t := getenv("VAULT_TOKEN"); t != "" {
		c.Token = signer.NewSecret([]byte(t))
	}
	if r := getenv("VAULT_ROLE_ID"); r != "" {
		c.AppRole = &AppRole{Mount: getenv("VAULT_APPROLE_MOUNT"), RoleID: r, SecretID: signer.NewSecret([]byte(getenv("VAULT_SECRET_ID")))}
	}
	return c
}

// Backend is a signer.Signer, signer.Lister and signer.PassphraseSigner
// over Vault Transit keys. It is safe for concurrent use.
type Backend struct {
	c   *client
	log *slog.Logger

	mu     sync.Mutex
	keys   map[string]*key
	closed bool
}

type key struct {
	info          signer.KeyInfo
	ref           URI
	vtype         string // Transit key type: hmac, ed25519, ecdsa-p256, rsa-2048, ...
	pass, passMAC *signer.Secret
}

func (k *key) close() {
	k.pass.Close()
	k.passMAC.Close()
}

// New returns a backend on the Vault cfg names, logging in with AppRole
// if configured.
func New(ctx context.Context, cfg Config) (*Backend, error) {
	if cfg.Address == "" {
		return nil, errors.New("vault: no address: set VAULT_ADDR or Config.Address")
	}
	u, err := url.Parse(cfg.Address)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("vault: the address must be an http:// or https:// URL")
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	c := &client{addr: u, namespace: strings.Trim(cfg.Namespace, "/"), http: hc, approle: cfg.AppRole}
	if cfg.Token != nil {
		if err := cfg.Token.Use(func(t []byte) error { c.token = signer.NewSecret(t); return nil }); err != nil {
			return nil, errors.New("vault: the token secret is closed")
		}
	}
	if cfg.AppRole != nil {
		var sid []byte
		if cfg.AppRole.RoleID == "" || cfg.AppRole.SecretID.Use(func(b []byte) error { sid = b; return nil }) != nil || len(sid) == 0 {
			return nil, errors.New("vault: AppRole needs a role ID and a secret ID")
		}
		ar := *cfg.AppRole
		ar.SecretID = signer.NewSecret(sid)
		c.approle = &ar
		if err := c.login(ctx); err != nil {
			ar.SecretID.Close()
			return nil, err
		}
	}
	if c.token == nil {
		return nil, errors.New("vault: no token: set VAULT_TOKEN, Config.Token or Config.AppRole")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Backend{c: c, log: log, keys: map[string]*key{}}, nil
}

// Close forgets the keys and wipes the token; keys stay in Vault.
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	for _, k := range b.keys {
		k.close()
	}
	b.keys = nil
	b.c.close()
	if b.c.approle != nil {
		b.c.approle.SecretID.Close()
	}
	return nil
}

// Format prints the backend without its token.
func (b *Backend) Format(f fmt.State, _ rune) {
	_, _ = f.Write([]byte("vault.Backend(" + b.c.addr.Redacted() + ")"))
}

type keyJSON struct {
	Data struct {
		Type          string                     `json:"type"`
		LatestVersion int                        `json:"latest_version"`
		MinEncryption int                        `json:"min_encryption_version"`
		Keys          map[string]json.RawMessage `json:"keys"`
	} `json:"data"`
}

// describe reads a Transit key's type and, for an asymmetric key, the
// public key of the version the URI pins (else the latest).
func (b *Backend) describe(ctx context.Context, u URI) (string, signer.KeyType, crypto.PublicKey, error) {
	var out keyJSON
	if err := b.c.do(ctx, "read key", http.MethodGet, u.Mount+"/keys/"+u.Key, nil, &out); err != nil {
		return "", "", nil, err
	}
	d := out.Data
	var typ signer.KeyType
	switch {
	case d.Type == "hmac":
		typ = signer.KeyHMAC
	case d.Type == "ed25519":
		typ = signer.KeyEd25519
	case d.Type == "ecdsa-p256":
		typ = signer.KeyECDSAP256
	case strings.HasPrefix(d.Type, "rsa-"):
		typ = signer.KeyRSA
	default:
		return "", "", nil, fmt.Errorf("%w: Transit key type %q", ErrUnsupportedKey, d.Type)
	}
	version := d.LatestVersion
	if u.Version != 0 {
		version = u.Version
		if version > d.LatestVersion || version < d.MinEncryption {
			return "", "", nil, fmt.Errorf("%w: version %d is outside %d..%d", signer.ErrKeyDisabled, version, max(d.MinEncryption, 1), d.LatestVersion)
		}
	}
	if typ == signer.KeyHMAC {
		return d.Type, typ, nil, nil
	}
	raw, ok := d.Keys[strconv.Itoa(version)]
	if !ok {
		return "", "", nil, fmt.Errorf("%w: version %d of the key is not readable", signer.ErrKeyDisabled, version)
	}
	var kv struct {
		PublicKey string `json:"public_key"`
	}
	if err := json.Unmarshal(raw, &kv); err != nil || kv.PublicKey == "" {
		return "", "", nil, errors.New("vault: read key: no public key in the answer")
	}
	pub, err := parsePublic(typ, kv.PublicKey)
	if err != nil {
		return "", "", nil, err
	}
	return d.Type, typ, pub, nil
}

// parsePublic reads a Transit public key: base64 of the raw key for
// ed25519, PEM (PKIX) for ECDSA and RSA.
func parsePublic(typ signer.KeyType, s string) (crypto.PublicKey, error) {
	if typ == signer.KeyEd25519 {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(b) != ed25519.PublicKeySize {
			return nil, errors.New("vault: read key: the ed25519 public key is not 32 bytes of base64")
		}
		return ed25519.PublicKey(b), nil
	}
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("vault: read key: the public key is not PEM")
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, errors.New("vault: read key: the public key does not parse")
	}
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		if typ == signer.KeyECDSAP256 && p.Curve == elliptic.P256() {
			return p, nil
		}
	case *rsa.PublicKey:
		if typ == signer.KeyRSA {
			return p, nil
		}
	}
	return nil, fmt.Errorf("vault: read key: the public key is a %T, not a %s key", pub, typ)
}

// Register makes the Transit key uri names signable under info.Name,
// without an API passphrase (a keystore holds that for its references).
// It reads the key's type and public key once.
func (b *Backend) Register(ctx context.Context, info signer.KeyInfo, uri string) (signer.KeyInfo, error) {
	k, err := b.describeKey(ctx, info, uri)
	if err != nil {
		return signer.KeyInfo{}, err
	}
	return b.add(k)
}

func (b *Backend) describeKey(ctx context.Context, info signer.KeyInfo, uri string) (*key, error) {
	fail := func(err error) (*key, error) {
		return nil, &signer.KeyError{Op: "register", Key: info.Name, Err: err}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	u, err := ParseURI(uri)
	if err != nil {
		return fail(err)
	}
	vtype, typ, pub, err := b.describe(ctx, u)
	if err != nil {
		return fail(err)
	}
	if info.Type != "" && typ != info.Type {
		return fail(fmt.Errorf("%w: the Transit key is a %s key, not %s", signer.ErrInvalidKey, typ, info.Type))
	}
	k := &key{info: info, ref: u, vtype: vtype}
	k.info.Type, k.info.Public, k.info.Backend, k.info.HasPassphrase = typ, pub, BackendName, false
	return k, nil
}

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
	b.log.Debug("vault: registered key", "name", k.info.Name, "type", k.info.Type, "transit_type", k.vtype)
	return k.info, nil
}

// Resolve registers the key uri names under the URI itself, once, and
// returns the backend and that name: a keystore.Resolver.
func (b *Backend) Resolve(ctx context.Context, uri string) (signer.Signer, string, error) {
	b.mu.Lock()
	_, ok := b.keys[uri]
	b.mu.Unlock()
	if ok {
		return b, uri, nil
	}
	if _, err := b.Register(ctx, signer.KeyInfo{Name: uri}, uri); err != nil && !errors.Is(err, signer.ErrDuplicateKey) {
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

// Sign implements signer.Signer with one Transit request: hmac with
// algorithm sha2-256 or sha2-512; sign with marshaling_algorithm jws (r||s)
// or asn1 (DER) for ECDSA P-256, signature_algorithm pkcs1v15 for RSA, and
// no hash for ed25519. The "vault:vN:" output is decoded, and N must be
// the version the URI pins, if it pins one.
func (b *Backend) Sign(ctx context.Context, name string, alg signer.Algorithm, msg []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	k, err := b.lookup("sign", name)
	if err != nil {
		return nil, err
	}
	fail := func(err error) ([]byte, error) { return nil, &signer.KeyError{Op: "sign", Key: name, Err: err} }
	if alg.KeyType() != k.info.Type {
		return fail(fmt.Errorf("%w: %s key cannot sign %q", signer.ErrWrongAlgorithm, k.info.Type, alg))
	}
	body := map[string]any{"input": base64.StdEncoding.EncodeToString(msg)}
	if k.ref.Version != 0 {
		body["key_version"] = k.ref.Version
	}
	var path, field string
	switch alg {
	case signer.HMACSHA256, signer.HMACSHA512:
		path, field = "hmac", "hmac"
		body["algorithm"] = map[signer.Algorithm]string{signer.HMACSHA256: "sha2-256", signer.HMACSHA512: "sha2-512"}[alg]
	case signer.Ed25519:
		path, field = "sign", "signature"
	case signer.ES256, signer.ES256DER:
		path, field = "sign", "signature"
		body["hash_algorithm"] = "sha2-256"
		body["marshaling_algorithm"] = "asn1"
		if alg == signer.ES256 {
			body["marshaling_algorithm"] = "jws"
		}
	case signer.RS256:
		path, field = "sign", "signature"
		body["hash_algorithm"] = "sha2-256"
		body["signature_algorithm"] = "pkcs1v15"
	}
	var out struct {
		Data map[string]any `json:"data"`
	}
	if err := b.c.do(ctx, path, http.MethodPost, k.ref.Mount+"/"+path+"/"+k.ref.Key, body, &out); err != nil {
		return fail(err)
	}
	s, _ := out.Data[field].(string)
	version, sig, err := decodeOutput(s, alg == signer.ES256)
	if err != nil {
		return fail(err)
	}
	if k.ref.Version != 0 && version != k.ref.Version {
		return fail(fmt.Errorf("vault: %s answered with key version %d, not the pinned %d", path, version, k.ref.Version))
	}
	if want := sigSize(alg); want > 0 && len(sig) != want {
		return fail(fmt.Errorf("vault: %s answered %d bytes, want %d", path, len(sig), want))
	}
	return sig, nil
}

func sigSize(a signer.Algorithm) int {
	switch a {
	case signer.HMACSHA256:
		return 32
	case signer.HMACSHA512, signer.Ed25519, signer.ES256:
		return 64
	}
	return 0
}

// ErrOutput: a Transit answer is not "vault:vN:" followed by base64.
var ErrOutput = errors.New("vault: the answer is not a vault:vN: value")

// decodeOutput splits "vault:vN:BASE64" into N and the bytes. JWS
// signatures are base64url, the rest standard base64.
func decodeOutput(s string, jws bool) (int, []byte, error) {
	rest, ok := strings.CutPrefix(s, "vault:v")
	if !ok {
		return 0, nil, ErrOutput
	}
	vs, enc, ok := strings.Cut(rest, ":")
	if !ok {
		return 0, nil, ErrOutput
	}
	v, err := strconv.Atoi(vs)
	if err != nil || v < 1 || strconv.Itoa(v) != vs {
		return 0, nil, ErrOutput
	}
	var b []byte
	if jws {
		b, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(enc, "="))
	} else {
		b, err = base64.StdEncoding.DecodeString(enc)
	}
	if err != nil || len(b) == 0 {
		return 0, nil, ErrOutput
	}
	return v, b, nil
}

// Info implements signer.Signer. It does not call Vault.
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

// SignPassphrase implements signer.PassphraseSigner for keys imported with
// an API passphrase: HMAC-SHA256 returns the MAC Vault computed at import,
// with no request; another algorithm is one hmac request.
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

var (
	_ signer.Signer           = (*Backend)(nil)
	_ signer.Lister           = (*Backend)(nil)
	_ signer.PassphraseSigner = (*Backend)(nil)
)
