package kucoin

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"unicode/utf8"
)

// field is one member of a JSON object, its value undecoded.
type field struct {
	key   string
	value json.RawMessage
}

// object is a JSON object whose keys were each seen once, in body order.
type object []field

func (o object) get(key string) (json.RawMessage, bool) {
	for _, f := range o {
		if f.key == key {
			return f.value, true
		}
	}
	return nil, false
}

// parseObject decodes a JSON object one level deep and refuses what two
// JSON readers could understand differently: a key given twice (one reader
// keeps the first value, another the last), invalid UTF-8 (one replaces
// it, another refuses) and trailing data after the object. Nested objects
// are parsed with parseObject again by whoever reads them.
func parseObject(b []byte) (object, error) {
	if !utf8.Valid(b) {
		return nil, errors.New("the body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, errors.New("the body is not JSON")
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("the body is not a JSON object")
	}
	var out object
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, errors.New("the body is not valid JSON")
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errors.New("the body is not valid JSON")
		}
		if _, dup := out.get(key); dup {
			return nil, errors.New("key " + quote(key) + " is given more than once")
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, errors.New("the body is not valid JSON")
		}
		out = append(out, field{key, v})
	}
	if _, err := dec.Token(); err != nil {
		return nil, errors.New("the body is not valid JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("the body has data after the JSON object")
	}
	return out, nil
}

// parseArray splits a JSON array into its undecoded elements.
func parseArray(b []byte) ([]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return nil, errors.New("not JSON")
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, errors.New("not a JSON array")
	}
	var out []json.RawMessage
	for dec.More() {
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, errors.New("not valid JSON")
		}
		out = append(out, v)
	}
	if _, err := dec.Token(); err != nil {
		return nil, errors.New("not valid JSON")
	}
	return out, nil
}

// quote quotes s for an error message, shortened.
func quote(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	b, _ := json.Marshal(s)
	return string(b)
}
