package signer_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/keyfence/keyfence/signer"
)

const secretCanary = "keyfence-test-canary-7f3a9c"

// assertNoCanary fails if out holds the canary in any common encoding.
func assertNoCanary(t *testing.T, what, out string) {
	t.Helper()
	b := []byte(secretCanary)
	for _, form := range []string{
		secretCanary,
		hex.EncodeToString(b),
		strings.ToUpper(hex.EncodeToString(b)),
		base64.StdEncoding.EncodeToString(b),
		base64.RawURLEncoding.EncodeToString(b),
		fmt.Sprint(b), // [107 101 ...]
	} {
		if strings.Contains(out, form) {
			t.Fatalf("%s leaks the secret: %q", what, out)
		}
	}
}

type holder struct {
	Name string
	Key  *signer.Secret
}

type valueHolder struct {
	Name string
	Key  signer.Secret
}

func TestSecretFormat(t *testing.T) {
	s := signer.NewSecret([]byte(secretCanary))
	defer s.Close()
	verbs := []string{
		"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "% x", "%#x", "%d", "%10s",
		"%-12v", "%.3s", "%08q", "%+q", "%#q", "%U", "%c", "%b", "%o", "%e", "%t", "%p",
	}
	values := map[string]any{
		"*Secret":             s,
		"Secret":              *s,
		"struct{*Secret}":     holder{"h", s},
		"&struct{*Secret}":    &holder{"h", s},
		"struct{Secret}":      valueHolder{"h", *s},
		"&struct{Secret}":     &valueHolder{"h", *s},
		"[]*Secret":           []*signer.Secret{s, s},
		"map[string]*Secret":  map[string]*signer.Secret{"k": s},
		"[]any{Secret}":       []any{*s},
		"map[string]Secret":   map[string]signer.Secret{"k": *s},
		"error %v":            fmt.Errorf("bad key %v", s),
		"error %w of %v":      fmt.Errorf("import: %w", fmt.Errorf("key %v: %w", s, signer.ErrInvalidKey)),
		"error %+v of struct": fmt.Errorf("holder %+v", &valueHolder{"h", *s}),
	}
	for name, v := range values {
		for _, verb := range verbs {
			out := fmt.Sprintf(verb, v)
			assertNoCanary(t, name+" "+verb, out)
		}
		assertNoCanary(t, name+" Sprint", fmt.Sprint(v))
		assertNoCanary(t, name+" Sprintln", fmt.Sprintln(v))
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q", "%d"} {
		if got := fmt.Sprintf(verb, s); got != signer.Redacted {
			t.Errorf("Sprintf(%q, secret) = %q, want %q", verb, got, signer.Redacted)
		}
		if got := fmt.Sprintf(verb, *s); got != signer.Redacted {
			t.Errorf("Sprintf(%q, secret value) = %q, want %q", verb, got, signer.Redacted)
		}
	}
	if got := s.String(); got != signer.Redacted {
		t.Errorf("String = %q", got)
	}
	err := fmt.Errorf("import: %w", fmt.Errorf("key %v: %w", s, signer.ErrInvalidKey))
	if !errors.Is(err, signer.ErrInvalidKey) || !strings.Contains(err.Error(), signer.Redacted) {
		t.Errorf("wrapped error = %q", err)
	}
}

func TestSecretNil(t *testing.T) {
	var s *signer.Secret
	for _, verb := range []string{"%v", "%s", "%x", "%#v"} {
		assertNoCanary(t, verb, fmt.Sprintf(verb, s)) // must not panic
	}
	if err := s.Use(func([]byte) error { return nil }); !errors.Is(err, signer.ErrClosed) {
		t.Fatalf("nil Use = %v, want ErrClosed", err)
	}
	if s.Len() != 0 || s.Close() != nil {
		t.Fatal("nil Secret: Len or Close misbehaves")
	}
	var zero signer.Secret
	if err := zero.Use(func([]byte) error { return nil }); !errors.Is(err, signer.ErrClosed) {
		t.Fatalf("zero Use = %v, want ErrClosed", err)
	}
	j, err := json.Marshal(holder{Name: "h"})
	if err != nil || string(j) != `{"Name":"h","Key":null}` {
		t.Fatalf("json of nil secret = %s, %v", j, err)
	}
}

func TestSecretSlog(t *testing.T) {
	s := signer.NewSecret([]byte(secretCanary))
	defer s.Close()
	for _, tc := range []struct {
		name string
		h    func(*bytes.Buffer) slog.Handler
	}{
		{"text", func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) }},
		{"json", func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(tc.h(&buf))
			log.Info("direct", "secret", s)
			log.Info("value", "secret", *s)
			log.Info("any", slog.Any("secret", s))
			log.Info("group", slog.Group("creds", "secret", s, "name", "k"))
			log.Info("struct", "holder", holder{"h", s}, "value", &valueHolder{"h", *s})
			log.With("secret", s).Info("with")
			log.Error("failed", "err", fmt.Errorf("key %v: %w", s, signer.ErrInvalidKey))
			out := buf.String()
			assertNoCanary(t, "slog "+tc.name, out)
			if n := strings.Count(out, signer.Redacted); n < 8 {
				t.Fatalf("slog %s printed [REDACTED] %d times, want at least 8:\n%s", tc.name, n, out)
			}
		})
	}
}

func TestSecretJSON(t *testing.T) {
	s := signer.NewSecret([]byte(secretCanary))
	defer s.Close()
	for _, v := range []any{holder{"h", s}, &valueHolder{"h", *s}, valueHolder{"h", *s}} {
		j, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if want := `{"Name":"h","Key":"[REDACTED]"}`; string(j) != want {
			t.Fatalf("json.Marshal(%T) = %s, want %s", v, j, want)
		}
	}
	m, err := json.Marshal(map[string]any{"k": s, "list": []*signer.Secret{s}})
	if err != nil {
		t.Fatal(err)
	}
	assertNoCanary(t, "json map", string(m))
	text, err := s.MarshalText()
	if err != nil || string(text) != signer.Redacted {
		t.Fatalf("MarshalText = %q, %v", text, err)
	}
}

func TestSecretCloseWipes(t *testing.T) {
	src := []byte(secretCanary)
	s := signer.NewSecret(src)
	signer.Wipe(src)
	if !bytes.Equal(src, make([]byte, len(src))) {
		t.Fatal("Wipe left bytes")
	}
	var held []byte
	if err := s.Use(func(b []byte) error {
		if string(b) != secretCanary {
			t.Fatalf("Use sees %d bytes that are not the secret", len(b))
		}
		held = b // kept only to observe the wipe
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if s.Len() != len(secretCanary) {
		t.Fatalf("Len = %d", s.Len())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(held, make([]byte, len(held))) {
		t.Fatal("Close did not zero the secret bytes")
	}
	called := false
	err := s.Use(func([]byte) error { called = true; return nil })
	if !errors.Is(err, signer.ErrClosed) || called {
		t.Fatalf("Use after Close = %v (called %t), want ErrClosed", err, called)
	}
	if s.Len() != 0 {
		t.Fatalf("Len after Close = %d", s.Len())
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// A copy shares the bytes, so it is closed too.
	c := *s
	if err := c.Use(func([]byte) error { return nil }); !errors.Is(err, signer.ErrClosed) {
		t.Fatalf("copy Use after Close = %v, want ErrClosed", err)
	}
}

func TestSecretUseReturnsError(t *testing.T) {
	s := signer.NewSecret([]byte("k"))
	defer s.Close()
	want := errors.New("inner")
	if err := s.Use(func([]byte) error { return want }); err != want {
		t.Fatalf("Use = %v, want the callback's error", err)
	}
}

// TestSecretCloseWhileUsing runs Close concurrently with Use; run it with
// -race. Every Use sees either the whole secret or ErrClosed.
func TestSecretCloseWhileUsing(t *testing.T) {
	s := signer.NewSecret([]byte(secretCanary))
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range 32 {
		wg.Go(func() {
			<-start
			for range 100 {
				err := s.Use(func(b []byte) error {
					if string(b) != secretCanary {
						return errors.New("Use saw a partly wiped secret")
					}
					return nil
				})
				if errors.Is(err, signer.ErrClosed) {
					return
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	close(start)
	if err := s.Close(); err != nil {
		t.Error(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if s.Len() != 0 {
		t.Fatal("secret not closed")
	}
}
