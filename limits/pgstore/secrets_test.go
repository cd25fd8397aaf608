package pgstore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/keyfence/keyfence/limits"
	"github.com/keyfence/keyfence/limits/pgstore"
)

const canary = "CANARY-pw-5f1d2c"

// showsCanary reports whether err shows the canary password in any form a
// caller may print it.
func showsCanary(err error) bool {
	var forms []string
	for e := err; e != nil; e = errors.Unwrap(e) {
		forms = append(forms, e.Error(), fmt.Sprintf("%+v", e), fmt.Sprintf("%#v", e))
	}
	if b, jerr := json.Marshal(err); jerr == nil {
		forms = append(forms, string(b))
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Error("x", "error", err)
	forms = append(forms, buf.String())
	for _, f := range forms {
		if strings.Contains(f, canary) {
			return true
		}
	}
	return false
}

// TestErrorsHideThePassword: a connection string that does not parse, a
// server that is not there and a wrong password all fail with errors that
// do not show the password; the logger hears nothing of it either.
func TestErrorsHideThePassword(t *testing.T) {
	// A port nothing listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	cases := map[string]string{
		"unparsable": "postgres://keyfence:" + canary + "@127.0.0.1:notaport/keyfence",
		"key=value":  "host=127.0.0.1 port=x password=" + canary,
		"no server":  "postgres://keyfence:" + canary + "@" + closed + "/keyfence?connect_timeout=5",
	}
	if u := os.Getenv(envURL); u != "" {
		pu, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		pu.User = url.UserPassword(pu.User.Username(), canary)
		cases["wrong password"] = pu.String()
	}
	for name, dsn := range cases {
		t.Run(name, func(t *testing.T) {
			var logs bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			s, err := pgstore.Open(ctx, dsn, pgstore.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
			if err == nil {
				s.Close()
				t.Fatal("opened")
			}
			if showsCanary(err) {
				t.Fatalf("the error shows the password: %v", err)
			}
			if strings.Contains(logs.String(), canary) {
				t.Fatalf("the log shows the password: %s", logs.String())
			}
			if name == "unparsable" || name == "key=value" {
				if !errors.Is(err, pgstore.ErrConnString) {
					t.Fatalf("err = %v, want ErrConnString", err)
				}
				return
			}
			var pe *pgstore.Error
			if !errors.As(err, &pe) || !errors.Is(err, limits.ErrUndecidable) {
				t.Fatalf("err = %v, want a *pgstore.Error wrapping ErrUndecidable", err)
			}
		})
	}
}
