package pkcs11

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseURI(t *testing.T) {
	tests := []struct {
		in   string
		want URI
	}{
		{"pkcs11:", URI{}},
		{"PKCS11:token=keyfence", URI{Token: "keyfence"}},
		{"pkcs11:token=keyfence;object=binance-main;type=secret-key",
			URI{Token: "keyfence", Object: "binance-main", Type: TypeSecretKey}},
		{"pkcs11:object=my%20key;id=%01%02%aB;type=private",
			URI{Object: "my key", ID: []byte{1, 2, 0xab}, Type: TypePrivate}},
		{"pkcs11:token=A%3Bb%3Fc%25;manufacturer=SoftHSM%20project;model=SoftHSM%20v2;serial=3ab1",
			URI{Token: "A;b?c%", Manufacturer: "SoftHSM project", Model: "SoftHSM v2", Serial: "3ab1"}},
		{"pkcs11:object=a:b@c=d,e+f(g)!*'$[x]", URI{Object: "a:b@c=d,e+f(g)!*'$[x]"}},
		{"pkcs11:token=t?module-path=/usr/lib/softhsm/libsofthsm2.so&module-name=softhsm2&pin-source=file:/run/pin",
			URI{Token: "t", ModulePath: "/usr/lib/softhsm/libsofthsm2.so", ModuleName: "softhsm2", PINSource: "file:/run/pin"}},
		{"pkcs11:id=", URI{ID: []byte{}}},
		{"pkcs11:object=%C3%A9t%C3%A9", URI{Object: "été"}},
		{"pkcs11:token=t?", URI{Token: "t"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseURI(tt.in)
			if err != nil {
				t.Fatalf("ParseURI: %v", err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Fatalf("ParseURI = %#v, want %#v", *got, tt.want)
			}
			again, err := ParseURI(got.String())
			if err != nil {
				t.Fatalf("ParseURI(String()) of %q: %v", got.String(), err)
			}
			if !reflect.DeepEqual(again, got) {
				t.Fatalf("round trip of %q = %#v, want %#v", got.String(), again, got)
			}
		})
	}
}

func TestURIString(t *testing.T) {
	u := URI{
		Token: "keyfence", Object: "kraken main/β", ID: []byte{0x00, 0xff, 'a'}, Type: TypeSecretKey,
		ModulePath: "/usr/lib/softhsm/libsofthsm2.so", PINSource: "file:/run/keyfence pin",
	}
	const want = "pkcs11:token=keyfence;object=kraken%20main%2F%CE%B2;id=%00%FF%61;type=secret-key" +
		"?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/keyfence%20pin"
	if got := u.String(); got != want {
		t.Fatalf("String = %s\nwant     %s", got, want)
	}
}

func TestParseURIErrors(t *testing.T) {
	const canary = "canary-pin-value-91aa"
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"scheme", "pkcs12:token=a", ErrURI},
		{"short", "pkcs1", ErrURI},
		{"no value", "pkcs11:token", ErrURI},
		{"empty name", "pkcs11:=a", ErrURI},
		{"bad name", "pkcs11:tok%65n=a", ErrURI},
		{"duplicate", "pkcs11:token=a;token=b", ErrURI},
		{"unknown path attribute", "pkcs11:slot-id=1", ErrURI},
		{"vendor attribute", "pkcs11:x-vendor=1", ErrURI},
		{"unknown query attribute", "pkcs11:?foo=bar", ErrURI},
		{"bad type", "pkcs11:type=key", ErrURI},
		{"truncated escape", "pkcs11:object=a%4", ErrURI},
		{"bad escape", "pkcs11:object=a%zz", ErrURI},
		{"raw space", "pkcs11:object=a b", ErrURI},
		{"slash in path", "pkcs11:object=a/b", ErrURI},
		{"not UTF-8", "pkcs11:object=%ff", ErrURI},
		{"empty attribute", "pkcs11:token=a;;object=b", ErrURI},
		{"pin-value", "pkcs11:token=a?pin-value=" + canary, ErrPINInURI},
		{"pin-value twice", "pkcs11:token=a?pin-source=x&pin-value=" + canary, ErrPINInURI},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := ParseURI(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ParseURI(%q) = %v, %v; want %v", tt.in, u, err, tt.want)
			}
			if strings.Contains(err.Error(), canary) {
				t.Fatal("the error shows the PIN")
			}
		})
	}
}

func FuzzParseURI(f *testing.F) {
	for _, s := range []string{
		"pkcs11:",
		"pkcs11:token=keyfence;object=binance-main;type=secret-key",
		"pkcs11:object=my%20key;id=%01%02;type=private?module-path=/usr/lib/x.so",
		"pkcs11:token=a?pin-value=1234",
		"pkcs11:id=",
		"pkcs11:object=%",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURI(s)
		if err != nil {
			if u != nil {
				t.Fatal("ParseURI returned a URI and an error")
			}
			return
		}
		out := u.String()
		again, err := ParseURI(out)
		if err != nil {
			t.Fatalf("ParseURI(%q) failed on the String of a parsed URI: %v", out, err)
		}
		if !reflect.DeepEqual(u, again) {
			t.Fatalf("round trip changed the URI: %#v != %#v", u, again)
		}
		if again.String() != out {
			t.Fatalf("String is not stable: %q != %q", again.String(), out)
		}
	})
}
