package keystore

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/keyfence/keyfence/internal/lockedfile"
	"github.com/keyfence/keyfence/signer"
)

// Keystore is an open keystore file: its metadata and master key in memory,
// its secrets still sealed until a Signer first uses them. It is safe for
// concurrent use. Changes are written to the file before they show in
// memory. Each change locks the file, re-reads it and applies itself to
// what is on disk, so several processes may change one file.
type Keystore struct {
	path   string                  // as the caller named it, for messages
	target string                  // path with symbolic links resolved: the file that writes replace
	hook   func(step string) error // failure injection for tests

	writeMu sync.Mutex // serialises changes to the file; held by Close

	mu      sync.RWMutex // guards the fields below; held briefly
	hdr     *header
	keys    *keys
	entries []*entry // in file order
	byName  map[string]*entry
	cache   *signer.Memory // unsealed keys, by entry id
	closed  bool

	nextID  atomic.Uint64
	unseals atomic.Int64 // number of entries decrypted, for tests
}

// Option configures Create and ChangePassphrase.
type Option func(*config)

type config struct {
	kdf *KDFParams
}

// WithKDFParams sets the Argon2id parameters of the passphrase KDF. The
// default is DefaultKDFParams; tests use small parameters to run fast.
func WithKDFParams(p KDFParams) Option {
	return func(c *config) { c.kdf = &p }
}

// Create creates a new, empty keystore at path, sealed with passphrase. It
// fails with ErrExists if a file is already there. Create blocks for one
// run of Argon2id.
func Create(ctx context.Context, path string, passphrase []byte, opts ...Option) (*Keystore, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(passphrase) == 0 {
		return nil, ErrEmptyPassphrase
	}
	kdf, master, err := prepareCreate(path, opts)
	if err != nil {
		return nil, err
	}
	h, err := newHeader(master, passphrase, kdf)
	if err != nil {
		wipe(master)
		return nil, err
	}
	h.gen = 1
	k, err := deriveKeys(master)
	if err != nil {
		wipe(master)
		return nil, err
	}
	if _, err := writeAtomic(path, encode(h, nil, k), true, nil); err != nil {
		k.wipe()
		return nil, err
	}
	return newKeystore(path, h, k, nil), nil
}

// Open opens the keystore at path. It refuses a file that group or others
// can access (ErrInsecurePermissions), parses and checks it (ErrCorrupt,
// ErrUnsupportedVersion), derives the key-encryption key from passphrase
// with Argon2id and unwraps the master key (ErrWrongPassphrase), then
// verifies the MAC over the whole file (ErrTampered, naming the entry at
// fault when it can). It does not decrypt any secret: a Signer does that
// on first use of each key.
func Open(ctx context.Context, path string, passphrase []byte) (*Keystore, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	data, err := readPrivate(path)
	if err != nil {
		return nil, err
	}
	ks, err := openData(ctx, path, data, passphrase)
	if err != nil {
		return nil, err
	}
	// Writes replace the file a symbolic link points to, not the link.
	if target, err := filepath.EvalSymlinks(path); err == nil {
		ks.target = target
	}
	return ks, nil
}

func openData(ctx context.Context, path string, data, passphrase []byte) (*Keystore, error) {
	c, err := decode(path, data)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	master, err := c.hdr.unwrap(passphrase)
	if errors.Is(err, ErrKMSWrapped) {
		return nil, fmt.Errorf("%w: %s is wrapped by %s", err, path, c.hdr.kms.uri)
	}
	if err != nil {
		return nil, fmt.Errorf("%w for %s: try again with the right passphrase", ErrWrongPassphrase, path)
	}
	k, err := deriveKeys(master)
	if err != nil {
		wipe(master)
		return nil, err
	}
	if !hmac.Equal(k.fileMAC(c.body), c.mac) {
		name := locateTamper(k, c.entries)
		k.wipe()
		return nil, &TamperError{Path: path, Entry: name}
	}
	return newKeystore(path, c.hdr, k, c.entries), nil
}

// locateTamper names the first entry whose seal fails, or returns "" when
// every entry is intact and the damage is elsewhere. It decrypts each
// entry only to check it, and wipes the plaintext at once; it runs only
// after the file MAC has failed.
func locateTamper(k *keys, entries []*entry) string {
	for _, e := range entries {
		pt, _, _, ok := openEntry(k, e)
		wipe(pt)
		if !ok {
			return e.Name
		}
	}
	return ""
}

func newKeystore(path string, h *header, k *keys, entries []*entry) *Keystore {
	ks := &Keystore{path: path, target: path, hdr: h, keys: k, entries: entries,
		byName: make(map[string]*entry, len(entries)), cache: signer.NewMemory()}
	for _, e := range entries {
		e.seq = ks.nextID.Add(1)
		ks.byName[e.Name] = e
	}
	return ks
}

// Path returns the path of the keystore file.
func (k *Keystore) Path() string { return k.path }

// KDFParams returns the Argon2id parameters recorded in the file.
func (k *Keystore) KDFParams() KDFParams {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.hdr == nil {
		return KDFParams{}
	}
	return k.hdr.kdf
}

// Entries returns the metadata of every entry, sorted by name, and none
// after Close.
func (k *Keystore) Entries() []Entry {
	k.mu.RLock()
	out := make([]Entry, 0, len(k.entries))
	for _, e := range k.entries {
		out = append(out, e.Entry)
	}
	k.mu.RUnlock()
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Add seals secret (and the API passphrase, or nil) under a new entry and
// writes the file. See Tx.Add.
func (k *Keystore) Add(ctx context.Context, e Entry, secret, passphrase []byte) error {
	return k.Update(ctx, func(tx *Tx) error { return tx.Add(e, secret, passphrase) })
}

// AddReference records an entry whose secret is an HSM object and writes
// the file. See Tx.AddReference.
func (k *Keystore) AddReference(ctx context.Context, e Entry, passphrase []byte) error {
	return k.Update(ctx, func(tx *Tx) error { return tx.AddReference(e, passphrase) })
}

// Remove deletes the named entry and writes the file. The entry's unsealed
// key, if any, is wiped.
func (k *Keystore) Remove(ctx context.Context, name string) error {
	return k.Update(ctx, func(tx *Tx) error { return tx.Remove(name) })
}

// Update runs fn with a transaction and, if fn returns nil and changed
// anything, writes all its changes to the file at once, atomically. If fn
// or the write fails, neither the file nor the keystore in memory changes.
// Use it to add many entries with one write. fn must not call methods of
// the keystore that change it (they would wait for Update to return).
func (k *Keystore) Update(ctx context.Context, fn func(tx *Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	k.writeMu.Lock()
	defer k.writeMu.Unlock()
	// Under writeMu no other goroutine changes hdr, keys, entries or closed.
	if k.closed {
		return ErrClosed
	}
	lf, err := k.lockAndRefresh(ctx)
	if err != nil {
		return err
	}
	defer lf.Close()
	tx := &Tx{k: k, added: map[string]*entry{}, removed: map[string]bool{}}
	err = fn(tx)
	tx.done = true
	if err != nil {
		return err
	}
	if len(tx.added) == 0 && len(tx.removed) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	next := make([]*entry, 0, len(k.entries)+len(tx.added))
	for _, e := range k.entries {
		if !tx.removed[e.Name] {
			next = append(next, e)
		}
	}
	for _, e := range tx.order {
		if tx.added[e.Name] == e {
			next = append(next, e)
		}
	}
	if err := checkLocked(lf, k.path); err != nil {
		return err
	}
	h := k.nextHeader(k.hdr)
	replaced, werr := writeAtomic(k.target, encode(h, next, k.keys), false, k.hook)
	if !replaced {
		return werr
	}
	k.mu.Lock()
	for name := range tx.removed {
		if e := k.byName[name]; e != nil {
			delete(k.byName, name)
			k.forget(e)
		}
	}
	for _, e := range next {
		if tx.added[e.Name] == e {
			k.byName[e.Name] = e
		}
	}
	k.entries, k.hdr = next, h
	k.mu.Unlock()
	return werr
}

// nextHeader returns h with the generation of the next write.
func (k *Keystore) nextHeader(h *header) *header {
	n := *h
	n.gen = k.hdr.gen + 1
	return &n
}

// Generation returns the generation of the file as this keystore last read
// or wrote it: a number every write increases, covered by the file MAC.
// A limits.FileStore remembers it (CheckGeneration), so that an older copy
// of the keystore, which may hold keys removed since, is refused.
func (k *Keystore) Generation() uint64 {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.hdr == nil {
		return 0
	}
	return k.hdr.gen
}

// ErrRollback: the keystore file holds an older generation than this
// keystore read or wrote before: it was replaced by an older copy, which
// may hold keys that were removed. Errors of this kind are *RollbackError.
var ErrRollback = errors.New("keystore: file is an older copy")

// RollbackError reports a keystore file older than one seen before.
type RollbackError struct {
	Path       string
	Generation uint64 // in the file
	Seen       uint64 // seen before
}

func (e *RollbackError) Error() string {
	return fmt.Sprintf("keystore: %s is at generation %d but generation %d was seen before: it was replaced by an older copy; restore the newest copy and remove again any key that was removed", e.Path, e.Generation, e.Seen)
}

// Is reports whether target is ErrRollback.
func (e *RollbackError) Is(target error) bool { return target == ErrRollback }

// lockAndRefresh takes the lock of the keystore file, waiting for other
// writers, and reloads the keystore from the file under it, so that a
// change applies to what is on disk now (other processes' additions and
// removals included) rather than to what this keystore read earlier.
// Entries that did not change keep what was unsealed of them; entries
// removed on disk are forgotten. A file that is not this keystore (another
// master key) is a *TamperError, an older generation a *RollbackError.
// The caller holds writeMu and closes the returned file to unlock.
func (k *Keystore) lockAndRefresh(ctx context.Context) (*lockedfile.File, error) {
	lf, err := lockedfile.OpenWait(ctx, k.target, os.O_RDONLY)
	if err != nil {
		return nil, fmt.Errorf("keystore: lock %s: %w", k.path, err)
	}
	data, err := readOpen(lf.File, k.path)
	var c *contents
	if err == nil {
		c, err = decode(k.path, data)
	}
	if err == nil && !hmac.Equal(k.keys.fileMAC(c.body), c.mac) {
		err = &TamperError{Path: k.path}
	}
	if err == nil && c.hdr.gen < k.hdr.gen {
		err = &RollbackError{Path: k.path, Generation: c.hdr.gen, Seen: k.hdr.gen}
	}
	if err != nil {
		lf.Close()
		return nil, err
	}
	byName := make(map[string]*entry, len(c.entries))
	next := make([]*entry, 0, len(c.entries))
	for _, e := range c.entries {
		if o := k.byName[e.Name]; o != nil && sameSealed(o, e) {
			e = o
		} else {
			e.seq = k.nextID.Add(1)
		}
		next = append(next, e)
		byName[e.Name] = e
	}
	k.mu.Lock()
	for name, o := range k.byName {
		if byName[name] != o {
			k.forget(o)
		}
	}
	k.hdr, k.entries, k.byName = c.hdr, next, byName
	k.mu.Unlock()
	return lf, nil
}

// ErrReplaced: the keystore file was replaced or deleted while a change
// held its lock, by a process that does not take the lock. The change was
// not written.
var ErrReplaced = errors.New("keystore: file was replaced during a change by a process that does not lock it; retry, and find out what wrote it")

// checkLocked fails with ErrReplaced unless the locked file is still the
// one at its path.
func checkLocked(lf *lockedfile.File, path string) error {
	if err := lf.Check(); err != nil {
		return fmt.Errorf("%w (%s: %v)", ErrReplaced, path, err)
	}
	return nil
}

// sameSealed reports whether two entries hold the same sealed secret under
// the same metadata.
func sameSealed(a, b *entry) bool {
	return a.Name == b.Name && a.Venue == b.Venue && a.APIKey == b.APIKey && a.Type == b.Type &&
		a.Backend == b.Backend && a.URI == b.URI && a.HasPassphrase == b.HasPassphrase &&
		a.nonce == b.nonce && bytes.Equal(a.sealed, b.sealed) && bytes.Equal(a.pub, b.pub)
}

// forget wipes whatever was unsealed of e. The caller holds k.mu.
func (k *Keystore) forget(e *entry) {
	if e.loaded.Load() && e.Backend == BackendKeystore {
		_ = k.cache.Remove(e.id)
	}
	if e.refPass != nil {
		e.refPass.Close()
	}
	if e.refMAC != nil {
		e.refMAC.Close()
	}
}

// ChangePassphrase rewraps the master key under newPassphrase, with a new
// salt and, if given by WithKDFParams, new Argon2id parameters. Entries are
// not re-encrypted: their bytes in the file do not change.
func (k *Keystore) ChangePassphrase(ctx context.Context, newPassphrase []byte, opts ...Option) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(newPassphrase) == 0 {
		return ErrEmptyPassphrase
	}
	k.writeMu.Lock()
	defer k.writeMu.Unlock()
	if k.closed {
		return ErrClosed
	}
	lf, err := k.lockAndRefresh(ctx)
	if err != nil {
		return err
	}
	defer lf.Close()
	c := config{}
	for _, o := range opts {
		o(&c)
	}
	kdf := k.hdr.kdf
	if kdf == (KDFParams{}) {
		kdf = DefaultKDFParams() // a keystore wrapped only by a KMS gets its first passphrase
	}
	if c.kdf != nil {
		kdf = *c.kdf
	}
	if err := kdf.validate(); err != nil {
		return fmt.Errorf("keystore: change passphrase: %s", err)
	}
	h, err := newHeader(k.keys.master, newPassphrase, kdf)
	if err != nil {
		return err
	}
	if err := checkLocked(lf, k.path); err != nil {
		return err
	}
	h = k.nextHeader(h)
	h.kms = k.hdr.kms // a KMS wrap stays beside the passphrase
	replaced, werr := writeAtomic(k.target, encode(h, k.entries, k.keys), false, k.hook)
	if !replaced {
		return werr
	}
	k.mu.Lock()
	k.hdr = h
	k.mu.Unlock()
	return werr
}

// Close wipes the master key and every unsealed secret. Signers made from
// the keystore fail with ErrClosed afterwards. Close is idempotent.
func (k *Keystore) Close() error {
	k.writeMu.Lock()
	defer k.writeMu.Unlock()
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return nil
	}
	k.closed = true
	for _, e := range k.entries {
		if e.refPass != nil {
			e.refPass.Close()
		}
		if e.refMAC != nil {
			e.refMAC.Close()
		}
	}
	k.keys.wipe()
	k.cache.Close()
	k.entries, k.byName = nil, nil
	return nil
}

// String describes the keystore by its path; it never prints keys.
func (k *Keystore) String() string {
	if k == nil {
		return "keystore(nil)"
	}
	return "keystore(" + k.path + ")"
}

// Format prints the keystore as String does, whatever the verb, so that
// no verb can reach the keys inside.
func (k *Keystore) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(k.String())) }

// Tx is a set of changes to a keystore, written at once by Update. It is
// valid only during the call of Update's fn.
type Tx struct {
	k       *Keystore
	added   map[string]*entry
	order   []*entry
	removed map[string]bool
	done    bool
}

// Format prints the transaction without its contents.
func (tx *Tx) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte("keystore.Tx")) }

func (tx *Tx) exists(name string) bool {
	if _, ok := tx.added[name]; ok {
		return true
	}
	_, ok := tx.k.byName[name]
	return ok && !tx.removed[name]
}

// Add seals a secret in a new entry. For an HMAC key, secret is the exact
// bytes the venue keys its HMAC with; for other types, a private key as
// signer.ParsePrivateKey accepts it (the public key is derived and stored).
// passphrase is the API passphrase of the venues that have one (kucoin,
// okx, coinbase-exchange), or nil. e.Backend, e.URI and e.Public
// are set by the keystore. Add copies what it needs; the caller should
// wipe secret and passphrase.
func (tx *Tx) Add(e Entry, secret, passphrase []byte) error {
	fail := func(err error) error { return &EntryError{Op: "add", Name: e.Name, Err: err} }
	if tx.done {
		return fail(errors.New("keystore: transaction is finished"))
	}
	e.Backend, e.Public = BackendKeystore, nil
	if e.URI != "" {
		return fail(fmt.Errorf("%w: a key with a URI is added with AddReference", ErrInvalidEntry))
	}
	if err := tx.checkNew(&e, passphrase); err != nil {
		return fail(err)
	}
	n := &entry{Entry: e}
	if e.Type == signer.KeyHMAC {
		if len(secret) == 0 {
			return fail(fmt.Errorf("%w: empty HMAC secret", ErrInvalidEntry))
		}
	} else {
		priv, err := signer.ParsePrivateKey(e.Type, secret)
		if err != nil {
			return fail(fmt.Errorf("%w: %w", ErrInvalidEntry, err))
		}
		pub := priv.Public()
		if ed, ok := priv.(ed25519.PrivateKey); ok {
			wipe(ed)
		}
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			return fail(fmt.Errorf("%w: cannot encode the public key", ErrInvalidEntry))
		}
		n.pub, n.Public = der, pub
	}
	return tx.seal(n, secret, passphrase, fail)
}

// AddReference records an entry whose secret is held by another backend,
// named by e.URI: an object in an HSM (an RFC 7512 "pkcs11:" URI), a KMS
// key ("awskms://...") or a Vault Transit key ("vault://..."), checked for
// syntax only. A Signer made WithResolver signs with it. passphrase is the API passphrase, sealed
// in the keystore like a secret, or nil.
func (tx *Tx) AddReference(e Entry, passphrase []byte) error {
	fail := func(err error) error { return &EntryError{Op: "add reference", Name: e.Name, Err: err} }
	if tx.done {
		return fail(errors.New("keystore: transaction is finished"))
	}
	e.Backend, e.Public = referenceBackend(e.URI), nil
	if err := tx.checkNew(&e, passphrase); err != nil {
		return fail(err)
	}
	return tx.seal(&entry{Entry: e}, nil, passphrase, fail)
}

func (tx *Tx) checkNew(e *Entry, passphrase []byte) error {
	e.HasPassphrase = len(passphrase) > 0
	if err := validateEntry(e); err != nil {
		return err
	}
	if tx.exists(e.Name) {
		return ErrDuplicate
	}
	return nil
}

func (tx *Tx) seal(n *entry, secret, passphrase []byte, fail func(error) error) error {
	if err := sealEntry(tx.k.keys, n, secret, passphrase); err != nil {
		return fail(err)
	}
	n.seq = tx.k.nextID.Add(1)
	tx.added[n.Name] = n
	tx.order = append(tx.order, n)
	return nil
}

// Remove deletes the named entry.
func (tx *Tx) Remove(name string) error {
	if tx.done {
		return &EntryError{Op: "remove", Name: name, Err: errors.New("keystore: transaction is finished")}
	}
	if _, ok := tx.added[name]; ok {
		delete(tx.added, name)
		return nil
	}
	if _, ok := tx.k.byName[name]; !ok || tx.removed[name] {
		return &EntryError{Op: "remove", Name: name, Err: ErrNotFound}
	}
	tx.removed[name] = true
	return nil
}

// prepareCreate does what every way of creating a keystore starts with: it
// applies opts, checks the KDF parameters, refuses a path that exists and
// draws a new master key, which the caller wipes.
func prepareCreate(path string, opts []Option) (KDFParams, []byte, error) {
	c := config{}
	for _, o := range opts {
		o(&c)
	}
	kdf := DefaultKDFParams()
	if c.kdf != nil {
		kdf = *c.kdf
	}
	if err := kdf.validate(); err != nil {
		return kdf, nil, fmt.Errorf("keystore: create %s: %s", path, err)
	}
	if _, err := os.Lstat(path); err == nil {
		return kdf, nil, fmt.Errorf("%w: %s: choose another path or remove it", ErrExists, path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return kdf, nil, fmt.Errorf("keystore: %w", err)
	}
	master := make([]byte, masterKeySize)
	if _, err := rand.Read(master); err != nil {
		return kdf, nil, err
	}
	return kdf, master, nil
}
