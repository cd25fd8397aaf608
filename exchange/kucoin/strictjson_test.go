package kucoin

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

// oracle reads a top-level object's keys and raw values with
// encoding/json, reporting duplicates.
func oracle(b []byte) (keys []string, dup bool, ok bool) {
	if !utf8.Valid(b) || !json.Valid(b) {
		return nil, false, false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if d, isDelim := tok.(json.Delim); err != nil || !isDelim || d != '{' {
		return nil, false, false
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false, false
		}
		k := tok.(string)
		dup = dup || seen[k]
		seen[k] = true
		keys = append(keys, k)
		var v json.RawMessage
		if dec.Decode(&v) != nil {
			return nil, false, false
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, false, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false, false
	}
	return keys, dup, true
}

// FuzzParseObject checks the strict scanner against encoding/json: it
// accepts exactly the valid, duplicate-free objects (bar keys with lone
// surrogate escapes, which it refuses), with the same keys and values.
func FuzzParseObject(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"a":1}`, ` {"a" : "x\"y" , "b":[1,{"c":null}],"d":-0.5e+3} `, `{"a":1,"a":2}`, `{"\u0061":1,"a":2}`,
		`{"a":"\ud83d\ude00"}`, `{"\ud83d":1}`, `{"a":tru}`, `{"a":01}`, `{"a":1}x`, `[1]`, `"s"`, `{"a":"\u00"}`,
		`{"a":{"b":{"c":[[[]]]}}}`, "{\"a\":\"\t\"}", `{"a":1,}`, `{,}`, `{"a"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		keys, dup, ok := oracle(b)
		obj, err := parseObject(b)
		if err == nil {
			if !ok || dup || len(keys) != len(obj) {
				t.Fatalf("accepted %q; encoding/json: ok %v dup %v keys %q", b, ok, dup, keys)
			}
			for i := range obj {
				if obj[i].key != keys[i] || !json.Valid(obj[i].value) {
					t.Fatalf("%q: member %d is %q=%s, encoding/json says %q", b, i, obj[i].key, obj[i].value, keys[i])
				}
			}
			return
		}
		if ok && !dup && !strings.Contains(err.Error(), "surrogate") && !strings.Contains(err.Error(), "nested") {
			t.Fatalf("refused valid object %q: %v", b, err)
		}
	})
}
