// Package awskmstest is an AWS KMS service on loopback for tests: it
// speaks the KMS wire protocol (AWS JSON 1.1 over HTTP, X-Amz-Target
// "TrentService.<Operation>") and verifies every request's SigV4
// signature, so the real AWS SDK talks to it unchanged.
//
// It implements what keyfence uses and local-kms lacks: Ed25519 keys
// (ECC_NIST_EDWARDS25519 with ED25519_SHA_512 over RAW messages) and
// importing key material into HMAC and asymmetric keys
// (GetParametersForImport, RSAES_OAEP_SHA_256 and RSA_AES_KEY_WRAP_SHA_256
// wrapping, ImportKeyMaterial), beside CreateKey, DescribeKey,
// GetPublicKey, Sign, GenerateMac, Encrypt, Decrypt, EnableKey, DisableKey,
// ScheduleKeyDeletion and CreateAlias. Limits and errors follow the KMS API
// reference: messages of 1 to 4,096 bytes, HMAC key material of 32 to 64
// (HMAC_256) or 64 to 128 (HMAC_512) bytes, NotFoundException,
// DisabledException, KMSInvalidStateException, InvalidKeyUsageException,
// AccessDeniedException, ThrottlingException.
package awskmstest

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyfence/keyfence/signer/internal/keywrap"
)

// Account is the AWS account ID in the fake's ARNs.
const Account = "111122223333"

// Server is a fake KMS. Create it with NewServer.
type Server struct {
	*httptest.Server
	accessKey, secretKey, sessionToken string

	mu      sync.Mutex
	keys    map[string]*fakeKey // by key ID
	aliases map[string]string   // alias name -> key ID
	fail    []string            // error codes to answer the next requests with
	calls   map[string]int
	total   atomic.Int64
	denied  map[string]bool // key IDs whose use is denied

	wrapKeys map[int]*rsa.PrivateKey // import wrapping keys, by size
	hold     chan struct{}           // when set, requests wait for it to close or the client to leave
}

// Hold makes requests wait until the returned function is called or their
// client goes away, as a KMS that does not answer would.
func (s *Server) Hold() (release func()) {
	ch := make(chan struct{})
	s.mu.Lock()
	s.hold = ch
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			s.hold = nil
			s.mu.Unlock()
			close(ch)
		})
	}
}

type fakeKey struct {
	id, region, spec, usage, origin, state, description string
	hmacKey                                             []byte
	signer                                              any // ed25519.PrivateKey, *ecdsa.PrivateKey, *rsa.PrivateKey
	aesKey                                              []byte
	imp                                                 *importParams
	created                                             time.Time
}

type importParams struct {
	token []byte
	priv  *rsa.PrivateKey
	alg   string
	until time.Time
}

// NewServer starts a fake KMS on loopback that accepts requests signed
// with accessKey and secretKey. Close it when done.
func NewServer(accessKey, secretKey string) *Server {
	s := &Server{accessKey: accessKey, secretKey: secretKey, keys: map[string]*fakeKey{},
		aliases: map[string]string{}, calls: map[string]int{}, denied: map[string]bool{},
		wrapKeys: map[int]*rsa.PrivateKey{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// FailNext makes the next n requests fail with the given KMS error code
// (e.g. "ThrottlingException").
func (s *Server) FailNext(code string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fail = append(s.fail, code)
	}
}

// ResetFailures drops the failures FailNext queued that are not used yet.
func (s *Server) ResetFailures() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = nil
}

// Deny makes every use of the key answer AccessDeniedException, as a key
// policy without the caller would.
func (s *Server) Deny(keyID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denied[keyID] = true
}

// Calls returns how many requests of operation op were answered (any
// outcome); Total returns all requests.
func (s *Server) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// Total returns the number of requests received.
func (s *Server) Total() int64 { return s.total.Load() }

type apiErr struct {
	status int
	code   string
	msg    string
}

func errf(code, format string, args ...any) *apiErr {
	return &apiErr{http.StatusBadRequest, code, fmt.Sprintf(format, args...)}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.total.Add(1)
	s.mu.Lock()
	hold := s.hold
	s.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-r.Context().Done():
			return
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	reply := func(status int, v any) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-Requestid", "fake-"+hex.EncodeToString(randBytes(8)))
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	fail := func(e *apiErr) {
		reply(e.status, map[string]string{"__type": e.code, "message": e.msg})
	}
	if err != nil || r.Method != http.MethodPost {
		fail(errf("SerializationException", "bad request"))
		return
	}
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "TrentService.")
	if !ok || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-amz-json-1.1") {
		fail(errf("UnknownOperationException", "missing X-Amz-Target or AWS JSON 1.1 content type"))
		return
	}
	region, err := s.verifySigV4(r, body)
	if err != nil {
		fail(&apiErr{http.StatusBadRequest, "InvalidSignatureException", err.Error()})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[op]++
	if len(s.fail) > 0 {
		code := s.fail[0]
		s.fail = s.fail[1:]
		fail(errf(code, "injected failure"))
		return
	}
	var in map[string]json.RawMessage
	if err := json.Unmarshal(body, &in); err != nil {
		fail(errf("SerializationException", "the body is not a JSON object"))
		return
	}
	out, e := s.dispatch(op, region, in)
	if e != nil {
		fail(e)
		return
	}
	reply(http.StatusOK, out)
}

func field[T any](in map[string]json.RawMessage, name string) (T, bool) {
	var v T
	raw, ok := in[name]
	if !ok {
		return v, false
	}
	if json.Unmarshal(raw, &v) != nil {
		return v, false
	}
	return v, true
}

func (s *Server) arn(k *fakeKey) string {
	return "arn:aws:kms:" + k.region + ":" + Account + ":key/" + k.id
}

// find resolves a key ID, key ARN, alias name or alias ARN in region.
func (s *Server) find(region string, in map[string]json.RawMessage) (*fakeKey, *apiErr) {
	id, ok := field[string](in, "KeyId")
	if !ok || id == "" {
		return nil, errf("ValidationException", "KeyId is required")
	}
	ref := id
	if strings.HasPrefix(id, "arn:") {
		p := strings.SplitN(id, ":", 6)
		if len(p) != 6 || p[3] != region || p[4] != Account {
			return nil, errf("NotFoundException", "Invalid arn")
		}
		ref = p[5]
		if k, ok := strings.CutPrefix(ref, "key/"); ok {
			ref = k
		}
	}
	if strings.HasPrefix(ref, "alias/") {
		t, ok := s.aliases[region+"|"+ref]
		if !ok {
			return nil, errf("NotFoundException", "Alias %s is not found.", ref)
		}
		ref = t
	}
	k, ok := s.keys[ref]
	if !ok || k.region != region {
		return nil, errf("NotFoundException", "Key '%s' does not exist", ref)
	}
	if s.denied[k.id] {
		return nil, errf("AccessDeniedException", "User is not authorized to perform this operation on %s", s.arn(k))
	}
	return k, nil
}

// usable checks that k can be used for a cryptographic operation.
func usable(k *fakeKey) *apiErr {
	switch k.state {
	case "Enabled":
		return nil
	case "Disabled":
		return errf("DisabledException", "%s is disabled.", k.id)
	}
	return errf("KMSInvalidStateException", "%s is %s.", k.id, k.state)
}

func (s *Server) metadata(k *fakeKey) map[string]any {
	md := map[string]any{
		"AWSAccountId": Account, "Arn": s.arn(k), "KeyId": k.id, "KeySpec": k.spec,
		"CustomerMasterKeySpec": k.spec, "KeyUsage": k.usage, "KeyState": k.state,
		"Enabled": k.state == "Enabled", "Origin": k.origin, "KeyManager": "CUSTOMER",
		"Description": k.description, "CreationDate": float64(k.created.Unix()),
	}
	switch k.usage {
	case "SIGN_VERIFY":
		md["SigningAlgorithms"] = signingAlgorithms(k.spec)
	case "GENERATE_VERIFY_MAC":
		md["MacAlgorithms"] = []string{macAlgorithm(k.spec)}
	case "ENCRYPT_DECRYPT":
		md["EncryptionAlgorithms"] = []string{"SYMMETRIC_DEFAULT"}
	}
	return md
}

func signingAlgorithms(spec string) []string {
	switch spec {
	case "ECC_NIST_P256":
		return []string{"ECDSA_SHA_256"}
	case "ECC_NIST_EDWARDS25519":
		return []string{"ED25519_SHA_512", "ED25519_PH_SHA_512"}
	}
	return []string{"RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PSS_SHA_256"}
}

func macAlgorithm(spec string) string {
	return map[string]string{"HMAC_256": "HMAC_SHA_256", "HMAC_512": "HMAC_SHA_512"}[spec]
}

func (s *Server) dispatch(op, region string, in map[string]json.RawMessage) (any, *apiErr) {
	switch op {
	case "CreateKey":
		return s.createKey(region, in)
	case "CreateAlias":
		name, _ := field[string](in, "AliasName")
		target, _ := field[string](in, "TargetKeyId")
		if !strings.HasPrefix(name, "alias/") || strings.HasPrefix(name, "alias/aws/") {
			return nil, errf("ValidationException", "Alias must start with the prefix \"alias/\"")
		}
		k, ok := s.keys[target]
		if !ok || k.region != region {
			return nil, errf("NotFoundException", "Key '%s' does not exist", target)
		}
		if _, dup := s.aliases[region+"|"+name]; dup {
			return nil, errf("AlreadyExistsException", "An alias with the name %s already exists", name)
		}
		s.aliases[region+"|"+name] = k.id
		return map[string]any{}, nil
	}
	k, e := s.find(region, in)
	if e != nil {
		return nil, e
	}
	switch op {
	case "DescribeKey":
		return map[string]any{"KeyMetadata": s.metadata(k)}, nil
	case "EnableKey", "DisableKey":
		if k.state != "Enabled" && k.state != "Disabled" {
			return nil, errf("KMSInvalidStateException", "%s is %s.", k.id, k.state)
		}
		k.state = strings.TrimSuffix(op, "Key") + "d"
		return map[string]any{}, nil
	case "ScheduleKeyDeletion":
		k.state = "PendingDeletion"
		return map[string]any{"KeyId": s.arn(k), "KeyState": k.state,
			"DeletionDate": float64(time.Now().Add(7 * 24 * time.Hour).Unix())}, nil
	case "GetParametersForImport":
		return s.getParametersForImport(k, in)
	case "ImportKeyMaterial":
		return s.importKeyMaterial(k, in)
	}
	if e := usable(k); e != nil {
		return nil, e
	}
	switch op {
	case "GetPublicKey":
		if k.usage != "SIGN_VERIFY" {
			return nil, errf("UnsupportedOperationException", "%s key usage is %s which is not valid for GetPublicKey.", s.arn(k), k.usage)
		}
		der, err := x509.MarshalPKIXPublicKey(publicOf(k.signer))
		if err != nil {
			return nil, errf("KMSInternalException", "cannot encode the public key")
		}
		return map[string]any{"KeyId": s.arn(k), "PublicKey": der, "KeySpec": k.spec,
			"CustomerMasterKeySpec": k.spec, "KeyUsage": k.usage, "SigningAlgorithms": signingAlgorithms(k.spec)}, nil
	case "Sign":
		return s.sign(k, in)
	case "GenerateMac":
		return s.generateMac(k, in)
	case "Encrypt":
		return s.encrypt(k, in)
	case "Decrypt":
		return s.decrypt(k, in)
	}
	return nil, errf("UnknownOperationException", "the fake does not implement %s", op)
}

func publicOf(priv any) any {
	switch p := priv.(type) {
	case ed25519.PrivateKey:
		return p.Public()
	case *ecdsa.PrivateKey:
		return p.Public()
	case *rsa.PrivateKey:
		return p.Public()
	}
	return nil
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func newID() string {
	b := hex.EncodeToString(randBytes(16))
	return b[0:8] + "-" + b[8:12] + "-" + b[12:16] + "-" + b[16:20] + "-" + b[20:32]
}

func (s *Server) createKey(region string, in map[string]json.RawMessage) (any, *apiErr) {
	spec, _ := field[string](in, "KeySpec")
	if spec == "" {
		spec = "SYMMETRIC_DEFAULT"
	}
	usage, _ := field[string](in, "KeyUsage")
	if usage == "" {
		usage = "ENCRYPT_DECRYPT"
	}
	origin, _ := field[string](in, "Origin")
	if origin == "" {
		origin = "AWS_KMS"
	}
	desc, _ := field[string](in, "Description")
	want := map[string]string{
		"SYMMETRIC_DEFAULT": "ENCRYPT_DECRYPT", "HMAC_256": "GENERATE_VERIFY_MAC", "HMAC_512": "GENERATE_VERIFY_MAC",
		"ECC_NIST_P256": "SIGN_VERIFY", "ECC_NIST_EDWARDS25519": "SIGN_VERIFY",
		"RSA_2048": "SIGN_VERIFY", "RSA_3072": "SIGN_VERIFY", "RSA_4096": "SIGN_VERIFY",
	}[spec]
	if want == "" {
		return nil, errf("ValidationException", "1 validation error detected: Value '%s' at 'keySpec' failed to satisfy constraint", spec)
	}
	if usage != want {
		return nil, errf("ValidationException", "KeyUsage %s is not compatible with KeySpec %s", usage, spec)
	}
	if origin != "AWS_KMS" && origin != "EXTERNAL" {
		return nil, errf("UnsupportedOperationException", "Origin %s is not supported", origin)
	}
	k := &fakeKey{id: newID(), region: region, spec: spec, usage: usage, origin: origin,
		state: "Enabled", description: desc, created: time.Now()}
	if origin == "EXTERNAL" {
		k.state = "PendingImport"
	} else if err := generate(k); err != nil {
		return nil, errf("KMSInternalException", "key generation failed")
	}
	s.keys[k.id] = k
	return map[string]any{"KeyMetadata": s.metadata(k)}, nil
}

func generate(k *fakeKey) error {
	var err error
	switch k.spec {
	case "SYMMETRIC_DEFAULT":
		k.aesKey = randBytes(32)
	case "HMAC_256":
		k.hmacKey = randBytes(32)
	case "HMAC_512":
		k.hmacKey = randBytes(64)
	case "ECC_NIST_P256":
		k.signer, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ECC_NIST_EDWARDS25519":
		_, k.signer, err = ed25519.GenerateKey(rand.Reader)
	default:
		bits := map[string]int{"RSA_2048": 2048, "RSA_3072": 3072, "RSA_4096": 4096}[k.spec]
		k.signer, err = rsa.GenerateKey(rand.Reader, bits)
	}
	return err
}

func (s *Server) getParametersForImport(k *fakeKey, in map[string]json.RawMessage) (any, *apiErr) {
	if k.origin != "EXTERNAL" {
		return nil, errf("UnsupportedOperationException", "%s origin is %s which is not valid for this operation.", s.arn(k), k.origin)
	}
	if k.state != "PendingImport" {
		return nil, errf("KMSInvalidStateException", "%s is %s.", s.arn(k), k.state)
	}
	alg, _ := field[string](in, "WrappingAlgorithm")
	spec, _ := field[string](in, "WrappingKeySpec")
	bits := map[string]int{"RSA_2048": 2048, "RSA_3072": 3072, "RSA_4096": 4096}[spec]
	if bits == 0 {
		return nil, errf("ValidationException", "WrappingKeySpec must be RSA_2048, RSA_3072 or RSA_4096")
	}
	switch alg {
	case "RSAES_OAEP_SHA_256", "RSAES_OAEP_SHA_1":
		if k.usage == "SIGN_VERIFY" && strings.HasPrefix(k.spec, "RSA_") {
			return nil, errf("ValidationException", "RSA private keys must be wrapped with RSA_AES_KEY_WRAP_SHA_*")
		}
	case "RSA_AES_KEY_WRAP_SHA_256":
	default:
		return nil, errf("ValidationException", "WrappingAlgorithm %s is not supported", alg)
	}
	// KMS makes a wrapping key per request; the fake keeps one per size,
	// because generating RSA 4096 keys dominates a test's time otherwise.
	priv := s.wrapKeys[bits]
	if priv == nil {
		var err error
		if priv, err = rsa.GenerateKey(rand.Reader, bits); err != nil {
			return nil, errf("KMSInternalException", "wrapping key generation failed")
		}
		s.wrapKeys[bits] = priv
	}
	der, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	k.imp = &importParams{token: randBytes(32), priv: priv, alg: alg, until: time.Now().Add(24 * time.Hour)}
	return map[string]any{"KeyId": s.arn(k), "ImportToken": k.imp.token, "PublicKey": der,
		"ParametersValidTo": float64(k.imp.until.Unix())}, nil
}

func (s *Server) importKeyMaterial(k *fakeKey, in map[string]json.RawMessage) (any, *apiErr) {
	token, _ := field[[]byte](in, "ImportToken")
	enc, _ := field[[]byte](in, "EncryptedKeyMaterial")
	if k.imp == nil || !hmac.Equal(token, k.imp.token) {
		return nil, errf("InvalidImportTokenException", "The import token is invalid for this key.")
	}
	if time.Now().After(k.imp.until) {
		return nil, errf("ExpiredImportTokenException", "The import token has expired.")
	}
	var material []byte
	var err error
	switch k.imp.alg {
	case "RSAES_OAEP_SHA_256":
		material, err = rsa.DecryptOAEP(sha256.New(), nil, k.imp.priv, enc, nil)
	case "RSA_AES_KEY_WRAP_SHA_256":
		material, err = keywrap.OpenEnvelope(k.imp.priv, enc)
	default:
		err = fmt.Errorf("unsupported")
	}
	if err != nil {
		return nil, errf("InvalidCiphertextException", "The encrypted key material could not be decrypted.")
	}
	bad := errf("IncorrectKeyMaterialException", "The key material is not valid for this key spec.")
	switch k.spec {
	case "HMAC_256", "HMAC_512":
		lo, hi := 32, 64
		if k.spec == "HMAC_512" {
			lo, hi = 64, 128
		}
		if len(material) < lo || len(material) > hi {
			return nil, bad
		}
		k.hmacKey = material
	case "SYMMETRIC_DEFAULT":
		if len(material) != 32 {
			return nil, bad
		}
		k.aesKey = material
	default:
		priv, err := x509.ParsePKCS8PrivateKey(material)
		if err != nil {
			return nil, bad
		}
		switch p := priv.(type) {
		case ed25519.PrivateKey:
			if k.spec != "ECC_NIST_EDWARDS25519" {
				return nil, bad
			}
		case *ecdsa.PrivateKey:
			if k.spec != "ECC_NIST_P256" || p.Curve != elliptic.P256() {
				return nil, bad
			}
		case *rsa.PrivateKey:
			if k.spec != fmt.Sprintf("RSA_%d", p.N.BitLen()) {
				return nil, bad
			}
		default:
			return nil, bad
		}
		k.signer = priv
	}
	k.imp = nil
	k.state = "Enabled"
	return map[string]any{"KeyId": s.arn(k)}, nil
}

func message(in map[string]json.RawMessage) ([]byte, *apiErr) {
	msg, ok := field[[]byte](in, "Message")
	if !ok || len(msg) < 1 || len(msg) > 4096 {
		return nil, errf("ValidationException", "1 validation error detected: Value at 'message' failed to satisfy constraint: Member must have length between 1 and 4096")
	}
	return msg, nil
}

func (s *Server) sign(k *fakeKey, in map[string]json.RawMessage) (any, *apiErr) {
	if k.usage != "SIGN_VERIFY" {
		return nil, errf("InvalidKeyUsageException", "%s key usage is %s which is not valid for Sign.", s.arn(k), k.usage)
	}
	msg, e := message(in)
	if e != nil {
		return nil, e
	}
	alg, _ := field[string](in, "SigningAlgorithm")
	mt, _ := field[string](in, "MessageType")
	if mt == "" {
		mt = "RAW"
	}
	if mt != "RAW" {
		return nil, errf("ValidationException", "the fake signs RAW messages only")
	}
	var sig []byte
	var err error
	switch p := k.signer.(type) {
	case ed25519.PrivateKey:
		if alg != "ED25519_SHA_512" {
			return nil, errf("InvalidKeyUsageException", "Algorithm %s is incompatible with key spec %s.", alg, k.spec)
		}
		sig = ed25519.Sign(p, msg)
	case *ecdsa.PrivateKey:
		if alg != "ECDSA_SHA_256" {
			return nil, errf("InvalidKeyUsageException", "Algorithm %s is incompatible with key spec %s.", alg, k.spec)
		}
		d := sha256.Sum256(msg)
		sig, err = ecdsa.SignASN1(rand.Reader, p, d[:])
	case *rsa.PrivateKey:
		d := sha256.Sum256(msg)
		switch alg {
		case "RSASSA_PKCS1_V1_5_SHA_256":
			sig, err = rsa.SignPKCS1v15(nil, p, crypto.SHA256, d[:])
		default:
			return nil, errf("InvalidKeyUsageException", "Algorithm %s is incompatible with key spec %s.", alg, k.spec)
		}
	}
	if err != nil {
		return nil, errf("KMSInternalException", "signing failed")
	}
	return map[string]any{"KeyId": s.arn(k), "Signature": sig, "SigningAlgorithm": alg}, nil
}

func (s *Server) generateMac(k *fakeKey, in map[string]json.RawMessage) (any, *apiErr) {
	if k.usage != "GENERATE_VERIFY_MAC" {
		return nil, errf("InvalidKeyUsageException", "%s key usage is %s which is not valid for GenerateMac.", s.arn(k), k.usage)
	}
	msg, e := message(in)
	if e != nil {
		return nil, e
	}
	alg, _ := field[string](in, "MacAlgorithm")
	if alg != macAlgorithm(k.spec) {
		return nil, errf("InvalidKeyUsageException", "Algorithm %s is incompatible with key spec %s.", alg, k.spec)
	}
	h := sha256.New
	if alg == "HMAC_SHA_512" {
		h = func() hash.Hash { return sha512.New() }
	}
	m := hmac.New(h, k.hmacKey)
	m.Write(msg)
	return map[string]any{"KeyId": s.arn(k), "Mac": m.Sum(nil), "MacAlgorithm": alg}, nil
}

// encryptionContext canonicalises an encryption context as AAD.
func encryptionContext(in map[string]json.RawMessage) []byte {
	ec, _ := field[map[string]string](in, "EncryptionContext")
	keys := make([]string, 0, len(ec))
	for k := range ec {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	for _, k := range keys {
		fmt.Fprintf(&b, "%d:%s%d:%s", len(k), k, len(ec[k]), ec[k])
	}
	return b.Bytes()
}

func (s *Server) encrypt(k *fakeKey, in map[string]json.RawMessage) (any, *apiErr) {
	if k.usage != "ENCRYPT_DECRYPT" || k.aesKey == nil {
		return nil, errf("InvalidKeyUsageException", "%s key usage is %s which is not valid for Encrypt.", s.arn(k), k.usage)
	}
	pt, ok := field[[]byte](in, "Plaintext")
	if !ok || len(pt) < 1 || len(pt) > 4096 {
		return nil, errf("ValidationException", "Plaintext must be 1 to 4096 bytes")
	}
	c, _ := aes.NewCipher(k.aesKey)
	g, _ := cipher.NewGCM(c)
	nonce := randBytes(g.NonceSize())
	blob := append([]byte{byte(len(k.id))}, k.id...)
	blob = append(blob, nonce...)
	blob = g.Seal(blob, nonce, pt, encryptionContext(in))
	return map[string]any{"KeyId": s.arn(k), "CiphertextBlob": blob, "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}, nil
}

func (s *Server) decrypt(k *fakeKey, in map[string]json.RawMessage) (any, *apiErr) {
	blob, _ := field[[]byte](in, "CiphertextBlob")
	bad := errf("InvalidCiphertextException", "")
	if len(blob) < 1 || len(blob) < 1+int(blob[0])+12+16 {
		return nil, bad
	}
	if string(blob[1:1+int(blob[0])]) != k.id {
		return nil, errf("IncorrectKeyException", "The key ID in the request does not identify a CMK that can perform this operation.")
	}
	c, _ := aes.NewCipher(k.aesKey)
	g, _ := cipher.NewGCM(c)
	rest := blob[1+int(blob[0]):]
	pt, err := g.Open(nil, rest[:12], rest[12:], encryptionContext(in))
	if err != nil {
		return nil, bad
	}
	return map[string]any{"KeyId": s.arn(k), "Plaintext": pt, "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}, nil
}

// CreateKey makes a key with KMS-generated material in region, as the
// CreateKey operation does (spec SYMMETRIC_DEFAULT, HMAC_256, HMAC_512,
// ECC_NIST_P256, ECC_NIST_EDWARDS25519 or RSA_2048/3072/4096), and returns
// its key ID.
func (s *Server) CreateKey(region, spec string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	usage := map[string]string{"SYMMETRIC_DEFAULT": "ENCRYPT_DECRYPT", "HMAC_256": "GENERATE_VERIFY_MAC", "HMAC_512": "GENERATE_VERIFY_MAC"}[spec]
	if usage == "" {
		usage = "SIGN_VERIFY"
	}
	in := map[string]json.RawMessage{}
	in["KeySpec"], _ = json.Marshal(spec)
	in["KeyUsage"], _ = json.Marshal(usage)
	out, e := s.createKey(region, in)
	if e != nil {
		return "", fmt.Errorf("%s: %s", e.code, e.msg)
	}
	return out.(map[string]any)["KeyMetadata"].(map[string]any)["KeyId"].(string), nil
}
