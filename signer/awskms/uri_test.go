package awskms

import (
	"errors"
	"strings"
	"testing"
)

func TestParseURI(t *testing.T) {
	for _, s := range []string{
		"awskms://eu-west-2/1234abcd-12ab-34cd-56ef-1234567890ab",
		"awskms://eu-west-2/alias/binance-main",
		"awskms://us-east-1/arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		"awskms://us-east-1/arn:aws:kms:us-east-1:111122223333:alias/binance",
	} {
		u, err := ParseURI(s)
		if err != nil {
			t.Fatalf("ParseURI(%q): %v", s, err)
		}
		if u.String() != s {
			t.Fatalf("String() = %q, want %q", u.String(), s)
		}
	}
	for _, s := range []string{
		"", "awskms:", "awskms://", "awskms://eu-west-2", "awskms://eu-west-2/", "awskms:///key",
		"kms://eu-west-2/key", "awskms://EU-WEST-2/key", "awskms://eu-west-2/a b", "awskms://eu-west-2/k?x",
		"awskms://eu-west-2/k\x00", "awskms://eu-west-1/arn:aws:kms:us-east-1:111122223333:key/k",
		"awskms://eu-west-2/arn:aws:s3:eu-west-2:111122223333:key/k", "awskms://eu-west-2/" + strings.Repeat("k", 3000),
	} {
		if _, err := ParseURI(s); !errors.Is(err, ErrBadURI) {
			t.Errorf("ParseURI(%q) = %v, want ErrBadURI", s, err)
		}
	}
}

func FuzzParseURI(f *testing.F) {
	f.Add("awskms://eu-west-2/alias/binance-main")
	f.Add("awskms://us-east-1/arn:aws:kms:us-east-1:111122223333:key/1234")
	f.Add("awskms://eu-west-2/k?x")
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURI(s)
		if err != nil {
			if !errors.Is(err, ErrBadURI) {
				t.Fatalf("error %v does not match ErrBadURI", err)
			}
			return
		}
		again, err := ParseURI(u.String())
		if err != nil || again != u {
			t.Fatalf("round trip of %q: %+v, %v", s, again, err)
		}
	})
}
