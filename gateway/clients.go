package gateway

import (
	"bytes"
	"context"
	"crypto"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/keyfence/keyfence/signer"
)

// Venues the gateway fronts.
const (
	Binance  = "binance"
	KuCoin   = "kucoin"
	Coinbase = "coinbase"
)

// Errors of the client registry.
var (
	// ErrClientExists: a client of that name, or with that API key, is
	// already registered.
	ErrClientExists = errors.New("gateway: client already registered")
	// ErrNoClient: no client of that name is registered.
	ErrNoClient = errors.New("gateway: no such client")
	// ErrBadClient: a client credential is malformed.
	ErrBadClient = errors.New("gateway: invalid client credential")
	// ErrRegistry: the registry file cannot be read, is not a registry or
	// was altered.
	ErrRegistry = errors.New("gateway: client registry unusable")
)

// Client is a bot's credential at the gateway and what it maps to: one
// venue credential (a key of the Signer) under that credential's policy.
// It holds what the gateway needs to verify the bot's requests: an HMAC
// secret (Binance, KuCoin with a passphrase) or a public key (Binance
// Ed25519, Coinbase ECDSA). It prints and marshals without its secrets.
type Client struct {
	Name       string
	Venue      string
	Credential string // the venue credential the client's requests are signed with
	APIKey     string // Binance API key, KuCoin key, Coinbase CDP key name
	KeyType    signer.KeyType
	PublicKey  crypto.PublicKey // ed25519.PublicKey or *ecdsa.PublicKey; nil for HMAC clients
	KeyVersion string           // KuCoin: "2"

	secret     []byte
	passphrase []byte
}

// String describes the client without its secrets.
func (c *Client) String() string {
	return fmt.Sprintf("gateway client %s (%s %s, credential %s)", c.Name, c.Venue, c.KeyType, c.Credential)
}

// GoString is String.
func (c *Client) GoString() string { return c.String() }

// Info is what may be shown of a client.
func (c *Client) Info() ClientInfo {
	return ClientInfo{Name: c.Name, Venue: c.Venue, Credential: c.Credential, APIKey: c.APIKey, KeyType: string(c.KeyType)}
}

// ClientInfo is a client as listed: no secrets.
type ClientInfo struct {
	Name       string `json:"name"`
	Venue      string `json:"venue"`
	Credential string `json:"credential"`
	APIKey     string `json:"api_key"`
	KeyType    string `json:"key_type"`
}

// Issued is a new client credential as handed to the bot, once: its
// secret is not kept in this form anywhere.
type Issued struct {
	Name       string `json:"name"`
	Venue      string `json:"venue"`
	APIKey     string `json:"api_key"`
	Secret     string `json:"secret,omitempty"`
	Passphrase string `json:"passphrase,omitempty"`
}

// String hides the secret and passphrase.
func (i Issued) String() string {
	return "issued client credential " + i.Name + " (" + i.Venue + ", api key " + i.APIKey + ")"
}

// GoString is String.
func (i Issued) GoString() string { return i.String() }

// IssueOptions choose what kind of client credential NewClient makes.
type IssueOptions struct {
	// PublicKey, for Binance, registers the bot's own Ed25519 public key
	// (PEM "PUBLIC KEY") instead of issuing an HMAC secret.
	PublicKey []byte
}

// NewClient makes a client credential for venue that maps to the venue
// credential: for Binance an API key and HMAC secret (or, with
// opts.PublicKey, an API key for the bot's Ed25519 key); for KuCoin a key,
// secret and passphrase (key version 2); for Coinbase a CDP key name and a
// new ECDSA P-256 private key, of which the client keeps only the public
// half. It returns the client and what to hand to the bot.
func NewClient(name, venue, credential string, opts IssueOptions) (*Client, Issued, error) {
	if err := checkName(name); err != nil {
		return nil, Issued{}, err
	}
	if credential == "" {
		return nil, Issued{}, fmt.Errorf("%w: no venue credential; name the keystore key the client's requests are signed with", ErrBadClient)
	}
	c := &Client{Name: name, Venue: venue, Credential: credential}
	out := Issued{Name: name, Venue: venue}
	switch venue {
	case Binance:
		c.APIKey = randomToken(64)
		if opts.PublicKey != nil {
			pub, err := parsePublicKey(opts.PublicKey)
			if err != nil {
				return nil, Issued{}, err
			}
			ek, ok := pub.(ed25519.PublicKey)
			if !ok {
				return nil, Issued{}, fmt.Errorf("%w: a Binance client key must be Ed25519", ErrBadClient)
			}
			c.KeyType, c.PublicKey = signer.KeyEd25519, ek
		} else {
			c.KeyType, c.secret = signer.KeyHMAC, []byte(randomToken(64))
			out.Secret = string(c.secret)
		}
	case KuCoin:
		if opts.PublicKey != nil {
			return nil, Issued{}, fmt.Errorf("%w: KuCoin clients use an HMAC secret and passphrase, not a public key", ErrBadClient)
		}
		c.APIKey = hex.EncodeToString(randomBytes(12))
		c.KeyType, c.KeyVersion = signer.KeyHMAC, "2"
		c.secret, c.passphrase = []byte(uuid()), []byte(randomToken(24))
		out.Secret, out.Passphrase = string(c.secret), string(c.passphrase)
	case Coinbase:
		if opts.PublicKey != nil {
			return nil, Issued{}, fmt.Errorf("%w: the gateway makes Coinbase client keys itself; drop the public key", ErrBadClient)
		}
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, Issued{}, err
		}
		der, err := x509.MarshalECPrivateKey(priv)
		if err != nil {
			return nil, Issued{}, err
		}
		c.APIKey = "organizations/" + uuid() + "/apiKeys/" + uuid()
		c.KeyType, c.PublicKey = signer.KeyECDSAP256, &priv.PublicKey
		out.Secret = string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
		signer.Wipe(der)
	default:
		return nil, Issued{}, fmt.Errorf("%w: venue %q; the gateway fronts binance, kucoin and coinbase", ErrBadClient, venue)
	}
	out.APIKey = c.APIKey
	return c, out, nil
}

func checkName(name string) error {
	if name == "" || len(name) > 128 || !utf8.ValidString(name) || strings.ContainsFunc(name, func(r rune) bool { return r < 0x21 || r == 0x7f }) {
		return fmt.Errorf("%w: a client name is 1 to 128 printable characters without spaces", ErrBadClient)
	}
	return nil
}

func parsePublicKey(pemBytes []byte) (crypto.PublicKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("%w: the public key is not a PEM PUBLIC KEY block", ErrBadClient)
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: the public key cannot be parsed: %v", ErrBadClient, err)
	}
	return pub, nil
}

const tokenAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randomToken returns n characters drawn uniformly from tokenAlphabet.
func randomToken(n int) string {
	out := make([]byte, 0, n)
	var buf [64]byte
	for len(out) < n {
		_, _ = rand.Read(buf[:])
		for _, b := range buf {
			if int(b) < 4*len(tokenAlphabet) && len(out) < n { // 248: no modulo bias
				out = append(out, tokenAlphabet[int(b)%len(tokenAlphabet)])
			}
		}
	}
	return string(out)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func uuid() string {
	b := randomBytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// RegistryKeyName is the keystore key that seals the client registry: an
// HMAC key whose signature of a fixed label is the registry's sealing key.
const RegistryKeyName = "keyfence-gateway-clients"

// registryLabel is what the registry key signs to derive the sealing key.
const registryLabel = "keyfence gateway client registry v1"

const registryFormat = "keyfence-gateway-clients"

// Clients is the registry of client credentials: kept in memory, looked
// up on every request, and written to a file in which each client's
// secrets are sealed (XChaCha20-Poly1305) under a key that only the
// keystore can derive, and each record's fields (venue, credential, API
// key, public key) are bound to it, so that an edited record is refused.
// A removed client is refused from the next request on. Clients is safe
// for concurrent use.
type Clients struct {
	path string
	aead cipher.AEAD

	mu     sync.RWMutex
	byName map[string]*Client
	byKey  map[string]*Client // venue + "\x00" + api key
	stamp  fileStamp          // of the file last read or written
}

type fileStamp struct {
	size    int64
	modTime int64
	info    os.FileInfo // for os.SameFile: a file replaced by a rename is another file
}

func stampOf(st os.FileInfo) fileStamp {
	return fileStamp{size: st.Size(), modTime: st.ModTime().UnixNano(), info: st}
}

func (s fileStamp) same(st os.FileInfo) bool {
	return s.info != nil && os.SameFile(s.info, st) && st.Size() == s.size && st.ModTime().UnixNano() == s.modTime
}

// OpenClients opens the registry at path (an absent file is an empty
// registry, created on the first Add), sealed under the HMAC key keyName
// of s (RegistryKeyName in a keystore).
func OpenClients(ctx context.Context, path string, s signer.Signer, keyName string) (*Clients, error) {
	k, err := s.Sign(ctx, keyName, signer.HMACSHA256, []byte(registryLabel))
	if err != nil {
		return nil, fmt.Errorf("gateway: deriving the client registry key from %q: %w", keyName, err)
	}
	aead, err := chacha20poly1305.NewX(k)
	signer.Wipe(k)
	if err != nil {
		return nil, err
	}
	c := &Clients{path: path, aead: aead, byName: map[string]*Client{}, byKey: map[string]*Client{}}
	if err := c.load(); err != nil {
		return nil, err
	}
	return c, nil
}

// Path returns the registry file.
func (c *Clients) Path() string { return c.path }

// Lookup returns the client of venue with apiKey.
func (c *Clients) Lookup(venue, apiKey string) (*Client, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	cl, ok := c.byKey[venue+"\x00"+apiKey]
	return cl, ok
}

// List returns the clients, sorted by name.
func (c *Clients) List() []ClientInfo {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]ClientInfo, 0, len(c.byName))
	for _, cl := range c.byName {
		out = append(out, cl.Info())
	}
	slices.SortFunc(out, func(a, b ClientInfo) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Add registers a client and writes the registry.
func (c *Clients) Add(cl *Client) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byName[cl.Name]; ok {
		return fmt.Errorf("%w: %s; remove it first or choose another name", ErrClientExists, cl.Name)
	}
	if _, ok := c.byKey[cl.Venue+"\x00"+cl.APIKey]; ok {
		return fmt.Errorf("%w: API key of %s is taken", ErrClientExists, cl.Name)
	}
	next := maps2(c.byName)
	next[cl.Name] = cl
	if err := c.write(next); err != nil {
		return err
	}
	c.install(next)
	return nil
}

// Remove revokes a client and writes the registry. Its requests are
// refused from then on.
func (c *Clients) Remove(name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byName[name]; !ok {
		return fmt.Errorf("%w: %s", ErrNoClient, name)
	}
	next := maps2(c.byName)
	delete(next, name)
	if err := c.write(next); err != nil {
		return err
	}
	c.install(next)
	return nil
}

// Reload re-reads the registry when its file changed since it was last
// read or written (clients added or removed by another process). A
// registry that cannot be read or was altered empties the registry and
// returns the error: no client passes until it is restored.
func (c *Clients) Reload() error {
	st, err := os.Stat(c.path)
	c.mu.RLock()
	same := err == nil && c.stamp.same(st)
	if errors.Is(err, fs.ErrNotExist) && c.stamp.info == nil && c.stamp.size == 0 {
		same = true // still no file
	}
	c.mu.RUnlock()
	if same {
		return nil
	}
	if err := c.load(); err != nil {
		c.mu.Lock()
		c.install(map[string]*Client{})
		c.stamp = fileStamp{size: -1}
		c.mu.Unlock()
		return err
	}
	return nil
}

func maps2(m map[string]*Client) map[string]*Client {
	out := make(map[string]*Client, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (c *Clients) install(byName map[string]*Client) {
	c.byName = byName
	c.byKey = make(map[string]*Client, len(byName))
	for _, cl := range byName {
		c.byKey[cl.Venue+"\x00"+cl.APIKey] = cl
	}
}

// registryJSON is the registry file.
type registryJSON struct {
	Format  string       `json:"format"`
	Version int          `json:"version"`
	Clients []clientJSON `json:"clients"`
}

// clientJSON is one client in the file: its fields in the clear, its
// secrets sealed, the fields bound to the seal as associated data.
type clientJSON struct {
	Name       string `json:"name"`
	Venue      string `json:"venue"`
	Credential string `json:"credential"`
	APIKey     string `json:"api_key"`
	KeyType    string `json:"key_type"`
	KeyVersion string `json:"key_version,omitempty"`
	PublicKey  string `json:"public_key,omitempty"` // base64 PKIX DER
	Nonce      string `json:"nonce"`
	Sealed     string `json:"sealed"`
}

// sealedJSON is what is sealed of a client.
type sealedJSON struct {
	Secret     []byte `json:"secret,omitempty"`
	Passphrase []byte `json:"passphrase,omitempty"`
}

func (r *clientJSON) ad() []byte {
	var b bytes.Buffer
	for _, f := range []string{registryFormat, r.Name, r.Venue, r.Credential, r.APIKey, r.KeyType, r.KeyVersion, r.PublicKey} {
		fmt.Fprintf(&b, "%d:%s;", len(f), f)
	}
	return b.Bytes()
}

func (c *Clients) seal(cl *Client) (clientJSON, error) {
	r := clientJSON{Name: cl.Name, Venue: cl.Venue, Credential: cl.Credential, APIKey: cl.APIKey,
		KeyType: string(cl.KeyType), KeyVersion: cl.KeyVersion}
	if cl.PublicKey != nil {
		der, err := x509.MarshalPKIXPublicKey(cl.PublicKey)
		if err != nil {
			return r, fmt.Errorf("%w: %v", ErrBadClient, err)
		}
		r.PublicKey = base64.StdEncoding.EncodeToString(der)
	}
	plain, err := json.Marshal(sealedJSON{Secret: cl.secret, Passphrase: cl.passphrase})
	if err != nil {
		return r, err
	}
	nonce := randomBytes(chacha20poly1305.NonceSizeX)
	sealed := c.aead.Seal(nil, nonce, plain, r.ad())
	signer.Wipe(plain)
	r.Nonce, r.Sealed = base64.StdEncoding.EncodeToString(nonce), base64.StdEncoding.EncodeToString(sealed)
	return r, nil
}

func (c *Clients) open(r *clientJSON) (*Client, error) {
	bad := func(why string) error {
		return fmt.Errorf("%w: %s: client %q %s; restore the file or issue the client again", ErrRegistry, c.path, r.Name, why)
	}
	nonce, err1 := base64.StdEncoding.DecodeString(r.Nonce)
	sealed, err2 := base64.StdEncoding.DecodeString(r.Sealed)
	if err1 != nil || err2 != nil || len(nonce) != chacha20poly1305.NonceSizeX {
		return nil, bad("is malformed")
	}
	plain, err := c.aead.Open(nil, nonce, sealed, r.ad())
	if err != nil {
		return nil, bad("was altered or sealed under another keystore")
	}
	defer signer.Wipe(plain)
	var s sealedJSON
	if err := json.Unmarshal(plain, &s); err != nil {
		return nil, bad("is malformed")
	}
	cl := &Client{Name: r.Name, Venue: r.Venue, Credential: r.Credential, APIKey: r.APIKey,
		KeyType: signer.KeyType(r.KeyType), KeyVersion: r.KeyVersion, secret: s.Secret, passphrase: s.Passphrase}
	if r.PublicKey != "" {
		der, err := base64.StdEncoding.DecodeString(r.PublicKey)
		if err != nil {
			return nil, bad("has a malformed public key")
		}
		if cl.PublicKey, err = x509.ParsePKIXPublicKey(der); err != nil {
			return nil, bad("has a malformed public key")
		}
	}
	return cl, nil
}

func (c *Clients) load() error {
	data, err := os.ReadFile(c.path)
	if errors.Is(err, fs.ErrNotExist) {
		c.mu.Lock()
		c.install(map[string]*Client{})
		c.stamp = fileStamp{}
		c.mu.Unlock()
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrRegistry, err)
	}
	st, err := os.Stat(c.path)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrRegistry, err)
	}
	var f registryJSON
	if err := json.Unmarshal(data, &f); err != nil || f.Format != registryFormat || f.Version != 1 {
		return fmt.Errorf("%w: %s is not a version 1 client registry", ErrRegistry, c.path)
	}
	byName := make(map[string]*Client, len(f.Clients))
	for i := range f.Clients {
		cl, err := c.open(&f.Clients[i])
		if err != nil {
			return err
		}
		if _, dup := byName[cl.Name]; dup {
			return fmt.Errorf("%w: %s lists client %q twice", ErrRegistry, c.path, cl.Name)
		}
		byName[cl.Name] = cl
	}
	c.mu.Lock()
	c.install(byName)
	c.stamp = stampOf(st)
	c.mu.Unlock()
	return nil
}

// write replaces the registry file atomically with byName's clients.
func (c *Clients) write(byName map[string]*Client) error {
	f := registryJSON{Format: registryFormat, Version: 1, Clients: []clientJSON{}}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		r, err := c.seal(byName[n])
		if err != nil {
			return err
		}
		f.Clients = append(f.Clients, r)
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(c.path, append(data, '\n')); err != nil {
		return fmt.Errorf("%w: writing %s: %w", ErrRegistry, c.path, err)
	}
	if st, err := os.Stat(c.path); err == nil {
		c.stamp = stampOf(st)
	}
	return nil
}

// writeFileAtomic writes data to a temporary file beside path (mode
// 0600), syncs it, renames it over path and syncs the directory.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			_ = tmp.Close()
			_ = os.Remove(name)
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(name, path); err != nil {
		return err
	}
	ok = true
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
