package awskms

import (
	"errors"
	"fmt"
	"strings"
)

// Scheme is the scheme of the URIs that name KMS keys.
const Scheme = "awskms"

const maxKeyIDLen = 2048

// ErrBadURI: a string is not an awskms:// URI this package can use.
var ErrBadURI = errors.New("awskms: bad key URI: use awskms://REGION/KEY-ID (a key ID, alias/NAME or key ARN)")

// URI names one KMS key: awskms://REGION/KEY-ID, where KEY-ID is a key ID
// ("1234abcd-12ab-34cd-56ef-1234567890ab"), an alias ("alias/binance") or
// a key or alias ARN ("arn:aws:kms:eu-west-2:111122223333:key/..."), whose
// region must be REGION.
type URI struct {
	Region string
	KeyID  string
}

// ParseURI parses an awskms:// URI. Errors never quote the input beyond its
// scheme.
func ParseURI(s string) (URI, error) {
	rest, ok := strings.CutPrefix(s, Scheme+"://")
	if !ok {
		return URI{}, fmt.Errorf("%w: it must start with %q", ErrBadURI, Scheme+"://")
	}
	region, id, ok := strings.Cut(rest, "/")
	if !ok || region == "" || id == "" {
		return URI{}, fmt.Errorf("%w: the region or the key is missing", ErrBadURI)
	}
	if strings.Trim(region, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
		return URI{}, fmt.Errorf("%w: the region must be lowercase letters, digits and '-'", ErrBadURI)
	}
	if len(id) > maxKeyIDLen {
		return URI{}, fmt.Errorf("%w: the key is longer than %d bytes", ErrBadURI, maxKeyIDLen)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= 0x20 || c >= 0x7f || c == '?' || c == '#' {
			return URI{}, fmt.Errorf("%w: the key has a space, control or non-ASCII character", ErrBadURI)
		}
	}
	if strings.HasPrefix(id, "arn:") {
		parts := strings.SplitN(id, ":", 6)
		if len(parts) != 6 || parts[2] != "kms" || parts[5] == "" {
			return URI{}, fmt.Errorf("%w: the ARN is not a KMS key or alias ARN", ErrBadURI)
		}
		if parts[3] != region {
			return URI{}, fmt.Errorf("%w: the ARN's region %s is not the URI's region %s", ErrBadURI, parts[3], region)
		}
	}
	return URI{Region: region, KeyID: id}, nil
}

// String returns the URI in the form ParseURI reads.
func (u URI) String() string { return Scheme + "://" + u.Region + "/" + u.KeyID }
