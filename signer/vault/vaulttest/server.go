// Package vaulttest is a Vault (or OpenBao) server on loopback for tests,
// implementing the parts of the HTTP API keyfence uses as Vault documents
// them: token auth (X-Vault-Token) and AppRole login, namespaces
// (X-Vault-Namespace), and a Transit secrets engine with key creation,
// rotation and reading (public keys per version), BYOK import (the mount's
// RSA-4096 wrapping key; RSA-OAEP around AES-KWP unwrapped as Vault does),
// hmac, sign (marshaling_algorithm asn1 or jws, signature_algorithm pss or
// pkcs1v15, key_version), encrypt and decrypt with associated_data, and
// answers of the form "vault:vN:BASE64". Errors are {"errors": [...]} with
// Vault's statuses: 403 "permission denied", 400 for a refused request,
// 404 for an unknown path or key read, 429 and 5xx when injected.
package vaulttest

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyfence/keyfence/signer/internal/keywrap"
)

// Server is a fake Vault. Create it with NewServer.
type Server struct {
	*httptest.Server
	mount     string
	namespace string

	mu       sync.Mutex
	tokens   map[string]bool
	roles    map[string]string // role ID -> secret ID
	keys     map[string]*transitKey
	denied   map[string]bool
	fail     []int
	wrapping *rsa.PrivateKey
	calls    map[string]int
	total    atomic.Int64
}

type transitKey struct {
	typ      string
	versions []*version // versions[i] is version i+1
	minEnc   int
	imported bool
}

type version struct {
	hmacKey []byte // the key of an hmac key, or the HMAC key of another type
	priv    crypto.Signer
	aesKey  []byte
	created time.Time
}

// NewServer starts a fake Vault whose Transit engine is mounted at mount
// ("transit" if empty) in namespace (none if empty), accepting token.
func NewServer(mount, namespace, token string) *Server {
	if mount == "" {
		mount = "transit"
	}
	s := &Server{mount: strings.Trim(mount, "/"), namespace: strings.Trim(namespace, "/"),
		tokens: map[string]bool{token: true}, roles: map[string]string{}, keys: map[string]*transitKey{},
		denied: map[string]bool{}, calls: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// SetWrappingKey replaces the mount's RSA wrapping key, which the server
// otherwise generates (4096 bits) on first use; tests share one to save
// the generation time.
func (s *Server) SetWrappingKey(k *rsa.PrivateKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.wrapping = k
}

// AddAppRole lets role ID and secret ID log in at auth/approle/login.
func (s *Server) AddAppRole(roleID, secretID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.roles[roleID] = secretID
}

// RevokeTokens revokes every token, as an expired lease would.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens = map[string]bool{}
}

// Deny makes every request about the key answer 403, as a policy
// without its paths would.
func (s *Server) Deny(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denied[key] = true
}

// FailNext makes the next request answer status.
func (s *Server) FailNext(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = append(s.fail, status)
}

// SetMinEncryptionVersion sets a key's min_encryption_version, below
// which it no longer signs.
func (s *Server) SetMinEncryptionVersion(key string, v int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := s.keys[key]; k != nil {
		k.minEnc = v
	}
}

// Calls returns how many requests of an operation ("hmac", "sign",
// "encrypt", "decrypt", "read", "import", "login", ...) were answered.
func (s *Server) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// Total returns the number of requests received.
func (s *Server) Total() int64 { return s.total.Load() }

type vaultErr struct {
	status int
	msgs   []string
}

func bad(format string, args ...any) *vaultErr {
	return &vaultErr{http.StatusBadRequest, []string{fmt.Sprintf(format, args...)}}
}

var (
	errDenied   = &vaultErr{http.StatusForbidden, []string{"1 error occurred:\n\t* permission denied\n\n"}}
	errNotFound = &vaultErr{http.StatusNotFound, []string{}}
)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.total.Add(1)
	reply := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		if v != nil {
			_ = json.NewEncoder(w).Encode(v)
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.fail) > 0 {
		st := s.fail[0]
		s.fail = s.fail[1:]
		reply(st, map[string]any{"errors": []string{"injected failure"}})
		return
	}
	out, e := s.route(r, body, err)
	if e != nil {
		reply(e.status, map[string]any{"errors": e.msgs})
		return
	}
	if out == nil {
		reply(http.StatusNoContent, nil)
		return
	}
	reply(http.StatusOK, out)
}

func (s *Server) route(r *http.Request, body []byte, readErr error) (any, *vaultErr) {
	if readErr != nil {
		return nil, bad("failed to read the request body")
	}
	path, ok := strings.CutPrefix(r.URL.Path, "/v1/")
	if !ok {
		return nil, errNotFound
	}
	if strings.Trim(r.Header.Get("X-Vault-Namespace"), "/") != s.namespace {
		return nil, &vaultErr{http.StatusNotFound, []string{"no handler for route \"" + path + "\". route entry not found."}}
	}
	var in map[string]json.RawMessage
	if len(body) > 0 {
		if json.Unmarshal(body, &in) != nil {
			return nil, bad("failed to parse JSON input")
		}
	}
	if path == "auth/approle/login" && r.Method == http.MethodPost {
		s.calls["login"]++
		return s.login(in)
	}
	if !s.tokens[r.Header.Get("X-Vault-Token")] {
		return nil, errDenied
	}
	rest, ok := strings.CutPrefix(path, s.mount+"/")
	if !ok {
		return nil, &vaultErr{http.StatusNotFound, []string{"no handler for route \"" + path + "\". route entry not found."}}
	}
	parts := strings.Split(rest, "/")
	if len(parts) >= 2 && s.denied[parts[1]] {
		return nil, errDenied
	}
	switch {
	case rest == "wrapping_key" && r.Method == http.MethodGet:
		s.calls["wrapping_key"]++
		return s.wrappingKey()
	case len(parts) == 2 && parts[0] == "keys" && r.Method == http.MethodGet:
		s.calls["read"]++
		return s.readKey(parts[1])
	case len(parts) == 2 && parts[0] == "keys" && r.Method == http.MethodPost:
		s.calls["create"]++
		return s.createKey(parts[1], in)
	case len(parts) == 3 && parts[0] == "keys" && parts[2] == "import" && r.Method == http.MethodPost:
		s.calls["import"]++
		return s.importKey(parts[1], in)
	case len(parts) == 3 && parts[0] == "keys" && parts[2] == "rotate" && r.Method == http.MethodPost:
		s.calls["rotate"]++
		return s.rotate(parts[1])
	case (len(parts) == 2 || len(parts) == 3) && parts[0] == "hmac" && r.Method == http.MethodPost:
		s.calls["hmac"]++
		if len(parts) == 3 {
			in["algorithm"], _ = json.Marshal(parts[2])
		}
		return s.hmac(parts[1], in)
	case (len(parts) == 2 || len(parts) == 3) && parts[0] == "sign" && r.Method == http.MethodPost:
		s.calls["sign"]++
		if len(parts) == 3 {
			in["hash_algorithm"], _ = json.Marshal(parts[2])
		}
		return s.sign(parts[1], in)
	case len(parts) == 2 && parts[0] == "encrypt" && r.Method == http.MethodPost:
		s.calls["encrypt"]++
		return s.encrypt(parts[1], in)
	case len(parts) == 2 && parts[0] == "decrypt" && r.Method == http.MethodPost:
		s.calls["decrypt"]++
		return s.decrypt(parts[1], in)
	}
	return nil, &vaultErr{http.StatusNotFound, []string{"no handler for route \"" + path + "\". route entry not found."}}
}

func str(in map[string]json.RawMessage, k string) string {
	var v string
	_ = json.Unmarshal(in[k], &v)
	return v
}

func integer(in map[string]json.RawMessage, k string) int {
	var v json.Number
	if json.Unmarshal(in[k], &v) != nil {
		var s string
		if json.Unmarshal(in[k], &s) == nil {
			v = json.Number(s)
		}
	}
	n, _ := v.Int64()
	return int(n)
}

func data(v map[string]any) map[string]any { return map[string]any{"data": v} }

func randBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func (s *Server) login(in map[string]json.RawMessage) (any, *vaultErr) {
	role, secret := str(in, "role_id"), str(in, "secret_id")
	want, ok := s.roles[role]
	if !ok || !hmac.Equal([]byte(want), []byte(secret)) {
		return nil, bad("invalid role or secret ID")
	}
	tok := "hvs." + base64.RawURLEncoding.EncodeToString(randBytes(18))
	s.tokens[tok] = true
	return map[string]any{"auth": map[string]any{"client_token": tok, "accessor": "fake", "policies": []string{"default", "keyfence"},
		"lease_duration": 3600, "renewable": true}}, nil
}

func (s *Server) wrappingKey() (any, *vaultErr) {
	if s.wrapping == nil {
		k, err := rsa.GenerateKey(rand.Reader, 4096)
		if err != nil {
			return nil, &vaultErr{http.StatusInternalServerError, []string{"wrapping key generation failed"}}
		}
		s.wrapping = k
	}
	der, _ := x509.MarshalPKIXPublicKey(&s.wrapping.PublicKey)
	return data(map[string]any{"public_key": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))}), nil
}

func publicString(typ string, priv crypto.Signer) string {
	if typ == "ed25519" {
		return base64.StdEncoding.EncodeToString(priv.Public().(ed25519.PublicKey))
	}
	der, _ := x509.MarshalPKIXPublicKey(priv.Public())
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func (s *Server) readKey(name string) (any, *vaultErr) {
	k := s.keys[name]
	if k == nil {
		return nil, errNotFound
	}
	keys := map[string]any{}
	for i, v := range k.versions {
		if v.priv != nil {
			keys[strconv.Itoa(i+1)] = map[string]any{"public_key": publicString(k.typ, v.priv),
				"creation_time": v.created.Format(time.RFC3339Nano), "name": k.typ}
		} else {
			keys[strconv.Itoa(i+1)] = v.created.Unix()
		}
	}
	return data(map[string]any{"name": name, "type": k.typ, "keys": keys, "latest_version": len(k.versions),
		"min_decryption_version": 1, "min_encryption_version": k.minEnc, "exportable": false,
		"supports_signing": k.priv() != nil, "supports_encryption": k.typ == "aes256-gcm96", "imported_key": k.imported}), nil
}

func (k *transitKey) priv() crypto.Signer { return k.versions[len(k.versions)-1].priv }

func newVersion(typ string, size int) (*version, error) {
	v := &version{hmacKey: randBytes(32), created: time.Now()}
	var err error
	switch typ {
	case "hmac":
		if size == 0 {
			size = 32
		}
		v.hmacKey = randBytes(size)
	case "aes256-gcm96":
		v.aesKey = randBytes(32)
	case "ed25519":
		_, v.priv, err = ed25519.GenerateKey(rand.Reader)
	case "ecdsa-p256":
		v.priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "rsa-2048", "rsa-3072", "rsa-4096":
		bits, _ := strconv.Atoi(typ[4:])
		v.priv, err = rsa.GenerateKey(rand.Reader, bits)
	default:
		return nil, fmt.Errorf("unknown key type %q", typ)
	}
	return v, err
}

func (s *Server) createKey(name string, in map[string]json.RawMessage) (any, *vaultErr) {
	typ := str(in, "type")
	if typ == "" {
		typ = "aes256-gcm96"
	}
	if s.keys[name] != nil {
		return nil, nil // an existing key is left as it is
	}
	v, err := newVersion(typ, integer(in, "key_size"))
	if err != nil {
		return nil, bad("%v", err)
	}
	s.keys[name] = &transitKey{typ: typ, versions: []*version{v}}
	return nil, nil
}

func (s *Server) rotate(name string) (any, *vaultErr) {
	k := s.keys[name]
	if k == nil {
		return nil, bad("key not found")
	}
	if k.imported {
		return nil, bad("imported keys do not allow rotation")
	}
	v, err := newVersion(k.typ, len(k.versions[0].hmacKey))
	if err != nil {
		return nil, bad("%v", err)
	}
	k.versions = append(k.versions, v)
	return nil, nil
}

func (s *Server) importKey(name string, in map[string]json.RawMessage) (any, *vaultErr) {
	if s.keys[name] != nil {
		return nil, bad("the import path cannot be used with an existing key; use import-version to rotate an existing imported key")
	}
	if s.wrapping == nil {
		return nil, bad("error retrieving wrapping key: no wrapping key")
	}
	ct, err := base64.StdEncoding.DecodeString(str(in, "ciphertext"))
	if err != nil || len(ct) <= s.wrapping.Size() {
		return nil, bad("error decoding ciphertext")
	}
	var h hash.Hash
	switch hf := str(in, "hash_function"); hf {
	case "", "SHA256":
		h = sha256.New()
	case "SHA1":
		h = sha1.New()
	case "SHA384":
		h = sha512.New384()
	case "SHA512":
		h = sha512.New()
	default:
		return nil, bad("unsupported hash function: %s", hf)
	}
	aesKey, err := rsa.DecryptOAEP(h, nil, s.wrapping, ct[:s.wrapping.Size()], nil)
	if err != nil || len(aesKey) != 32 {
		return nil, bad("failed to decrypt ephemeral AES key")
	}
	material, err := keywrap.Unwrap(aesKey, ct[s.wrapping.Size():])
	if err != nil {
		return nil, bad("failed to unwrap target key")
	}
	typ := str(in, "type")
	if typ == "" {
		typ = "aes256-gcm96"
	}
	v := &version{hmacKey: randBytes(32), created: time.Now()}
	switch typ {
	case "hmac":
		if len(material) < 32 || len(material) > 512 {
			return nil, bad("invalid key size: HMAC key must be 32 to 512 bytes")
		}
		v.hmacKey = material
	case "aes256-gcm96":
		if len(material) != 32 {
			return nil, bad("invalid key size for aes256-gcm96")
		}
		v.aesKey = material
	case "ed25519", "ecdsa-p256", "rsa-2048", "rsa-3072", "rsa-4096":
		p, err := x509.ParsePKCS8PrivateKey(material)
		if err != nil {
			return nil, bad("error parsing asymmetric key: %v", err)
		}
		ok := false
		switch k := p.(type) {
		case ed25519.PrivateKey:
			ok = typ == "ed25519"
		case *ecdsa.PrivateKey:
			ok = typ == "ecdsa-p256" && k.Curve == elliptic.P256()
		case *rsa.PrivateKey:
			ok = typ == fmt.Sprintf("rsa-%d", k.N.BitLen())
		}
		if !ok {
			return nil, bad("provided key does not match the key type %s", typ)
		}
		v.priv = p.(crypto.Signer)
	default:
		return nil, bad("unknown key type: %v", typ)
	}
	s.keys[name] = &transitKey{typ: typ, versions: []*version{v}, imported: true}
	return nil, nil
}

// versionFor picks the version a request asks for (key_version, 0 =
// latest) within min_encryption_version..latest.
func versionFor(k *transitKey, in map[string]json.RawMessage) (int, *vaultErr) {
	n := integer(in, "key_version")
	if n == 0 {
		n = len(k.versions)
	}
	if n < 0 || n > len(k.versions) {
		return 0, bad("invalid key version")
	}
	if n < k.minEnc {
		return 0, bad("cannot use a key version lower than the minimum encryption version")
	}
	return n, nil
}

func input(in map[string]json.RawMessage) ([]byte, *vaultErr) {
	b, err := base64.StdEncoding.DecodeString(str(in, "input"))
	if err != nil {
		return nil, bad("unable to decode input as base64: %v", err)
	}
	return b, nil
}

func (s *Server) hmac(name string, in map[string]json.RawMessage) (any, *vaultErr) {
	k := s.keys[name]
	if k == nil {
		return nil, bad("encryption key not found")
	}
	n, e := versionFor(k, in)
	if e != nil {
		return nil, e
	}
	msg, e := input(in)
	if e != nil {
		return nil, e
	}
	alg := str(in, "algorithm")
	var h func() hash.Hash
	switch alg {
	case "", "sha2-256":
		h = sha256.New
	case "sha2-512":
		h = sha512.New
	case "sha2-384":
		h = sha512.New384
	default:
		return nil, bad("unsupported algorithm %s", alg)
	}
	m := hmac.New(h, k.versions[n-1].hmacKey)
	m.Write(msg)
	return data(map[string]any{"hmac": "vault:v" + strconv.Itoa(n) + ":" + base64.StdEncoding.EncodeToString(m.Sum(nil))}), nil
}

func (s *Server) sign(name string, in map[string]json.RawMessage) (any, *vaultErr) {
	k := s.keys[name]
	if k == nil {
		return nil, bad("signing key not found")
	}
	if k.priv() == nil {
		return nil, bad("key type %s does not support signing", k.typ)
	}
	n, e := versionFor(k, in)
	if e != nil {
		return nil, e
	}
	msg, e := input(in)
	if e != nil {
		return nil, e
	}
	priv := k.versions[n-1].priv
	marshal := str(in, "marshaling_algorithm")
	if marshal != "" && marshal != "asn1" && marshal != "jws" {
		return nil, bad("invalid marshaling type %q", marshal)
	}
	if marshal == "jws" && k.typ != "ecdsa-p256" {
		return nil, bad("marshaling type jws is only valid for ECDSA P-256 keys")
	}
	var sig []byte
	var err error
	if k.typ == "ed25519" {
		sig = ed25519.Sign(priv.(ed25519.PrivateKey), msg)
	} else {
		ha := str(in, "hash_algorithm")
		if ha == "" {
			ha = str(in, "algorithm")
		}
		if ha != "" && ha != "sha2-256" {
			return nil, bad("the fake supports hash_algorithm sha2-256 only")
		}
		d := sha256.Sum256(msg)
		switch p := priv.(type) {
		case *ecdsa.PrivateKey:
			if marshal == "jws" {
				r, ss, err2 := ecdsa.Sign(rand.Reader, p, d[:])
				if err2 != nil {
					return nil, &vaultErr{http.StatusInternalServerError, []string{"signing failed"}}
				}
				sig = make([]byte, 64)
				r.FillBytes(sig[:32])
				ss.FillBytes(sig[32:])
			} else {
				sig, err = ecdsa.SignASN1(rand.Reader, p, d[:])
			}
		case *rsa.PrivateKey:
			switch sa := str(in, "signature_algorithm"); sa {
			case "", "pss":
				sig, err = rsa.SignPSS(rand.Reader, p, crypto.SHA256, d[:], nil)
			case "pkcs1v15":
				sig, err = rsa.SignPKCS1v15(nil, p, crypto.SHA256, d[:])
			default:
				return nil, bad("unsupported rsa signature algorithm %s", sa)
			}
		}
	}
	if err != nil {
		return nil, &vaultErr{http.StatusInternalServerError, []string{"signing failed"}}
	}
	enc := base64.StdEncoding.EncodeToString(sig)
	if marshal == "jws" {
		enc = base64.RawURLEncoding.EncodeToString(sig)
	}
	return data(map[string]any{"signature": "vault:v" + strconv.Itoa(n) + ":" + enc, "key_version": n}), nil
}

func (s *Server) aead(k *transitKey, n int) (cipher.AEAD, *vaultErr) {
	v := k.versions[n-1]
	if v.aesKey == nil {
		return nil, bad("key type %s does not support encryption", k.typ)
	}
	c, _ := aes.NewCipher(v.aesKey)
	g, _ := cipher.NewGCM(c)
	return g, nil
}

func (s *Server) encrypt(name string, in map[string]json.RawMessage) (any, *vaultErr) {
	k := s.keys[name]
	if k == nil {
		return nil, bad("encryption key not found")
	}
	n, e := versionFor(k, in)
	if e != nil {
		return nil, e
	}
	g, e := s.aead(k, n)
	if e != nil {
		return nil, e
	}
	pt, err := base64.StdEncoding.DecodeString(str(in, "plaintext"))
	if err != nil {
		return nil, bad("failed to base64-decode plaintext")
	}
	ad, err := base64.StdEncoding.DecodeString(str(in, "associated_data"))
	if err != nil {
		return nil, bad("failed to base64-decode associated_data")
	}
	nonce := randBytes(g.NonceSize())
	ct := g.Seal(nonce, nonce, pt, ad)
	return data(map[string]any{"ciphertext": "vault:v" + strconv.Itoa(n) + ":" + base64.StdEncoding.EncodeToString(ct), "key_version": n}), nil
}

func (s *Server) decrypt(name string, in map[string]json.RawMessage) (any, *vaultErr) {
	k := s.keys[name]
	if k == nil {
		return nil, bad("encryption key not found")
	}
	ctext := str(in, "ciphertext")
	rest, ok := strings.CutPrefix(ctext, "vault:v")
	vs, enc, ok2 := strings.Cut(rest, ":")
	n, err := strconv.Atoi(vs)
	if !ok || !ok2 || err != nil || n < 1 || n > len(k.versions) {
		return nil, bad("invalid ciphertext: no prefix")
	}
	g, e := s.aead(k, n)
	if e != nil {
		return nil, e
	}
	ct, err := base64.StdEncoding.DecodeString(enc)
	ad, err2 := base64.StdEncoding.DecodeString(str(in, "associated_data"))
	if err != nil || err2 != nil || len(ct) < g.NonceSize() {
		return nil, bad("invalid ciphertext")
	}
	pt, err := g.Open(nil, ct[:g.NonceSize()], ct[g.NonceSize():], ad)
	if err != nil {
		return nil, bad("cipher: message authentication failed")
	}
	return data(map[string]any{"plaintext": base64.StdEncoding.EncodeToString(pt)}), nil
}
