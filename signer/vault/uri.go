package vault

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Scheme is the scheme of the URIs that name Transit keys.
const Scheme = "vault"

// ErrBadURI: a string is not a vault:// URI this package can use.
var ErrBadURI = errors.New("vault: bad key URI: use vault://MOUNT/KEY or vault://MOUNT/KEY@VERSION")

// ErrUnsupportedKey: the Transit key's type is not one keyfence signs
// with, or Vault cannot import this key material.
var ErrUnsupportedKey = errors.New("vault: the Transit key cannot sign for keyfence")

// URI names one Transit key: vault://MOUNT/KEY, where MOUNT is the
// secrets engine's path (it may have several segments, e.g.
// "team/transit") and KEY the key's name; "@N" pins key version N for
// signing (without it, the latest version signs).
type URI struct {
	Mount   string
	Key     string
	Version int // 0: the latest
}

// ParseURI parses a vault:// URI. Errors never quote the input beyond its
// scheme.
func ParseURI(s string) (URI, error) {
	rest, ok := strings.CutPrefix(s, Scheme+"://")
	if !ok {
		return URI{}, fmt.Errorf("%w: it must start with %q", ErrBadURI, Scheme+"://")
	}
	i := strings.LastIndexByte(rest, '/')
	if i <= 0 || i == len(rest)-1 {
		return URI{}, fmt.Errorf("%w: the mount or the key is missing", ErrBadURI)
	}
	u := URI{Mount: rest[:i], Key: rest[i+1:]}
	if k, v, ok := strings.Cut(u.Key, "@"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || strconv.Itoa(n) != v {
			return URI{}, fmt.Errorf("%w: the version after @ must be a positive integer", ErrBadURI)
		}
		u.Key, u.Version = k, n
	}
	if u.Key == "" || len(s) > 1024 {
		return URI{}, fmt.Errorf("%w: the key is empty or the URI too long", ErrBadURI)
	}
	for _, seg := range strings.Split(u.Mount, "/") {
		if !validSegment(seg) {
			return URI{}, fmt.Errorf("%w: a mount segment is empty or has a character other than letters, digits, '-', '_' and '.'", ErrBadURI)
		}
	}
	if !validSegment(u.Key) {
		return URI{}, fmt.Errorf("%w: the key name has a character other than letters, digits, '-', '_' and '.'", ErrBadURI)
	}
	return u, nil
}

func validSegment(s string) bool {
	if s == "" || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// String returns the URI in the form ParseURI reads.
func (u URI) String() string {
	s := Scheme + "://" + u.Mount + "/" + u.Key
	if u.Version != 0 {
		s += "@" + strconv.Itoa(u.Version)
	}
	return s
}
