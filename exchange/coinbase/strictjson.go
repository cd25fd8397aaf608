package coinbase

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// maxJSONDepth bounds the nesting of request bodies the parser accepts.
const maxJSONDepth = 16

// jsonObject is a decoded JSON object whose keys were each seen once.
type jsonObject map[string]any

// parseStrictObject decodes a JSON object and refuses what two JSON
// readers could understand differently: a key given twice at any depth
// (one reader keeps the first, another the last), invalid UTF-8 (one
// reader replaces it, another refuses), trailing data after the object,
// and nesting deeper than maxJSONDepth. Numbers are kept as json.Number.
func parseStrictObject(b []byte) (jsonObject, error) {
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
	obj, err := readObject(dec, 1)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("the body has data after the JSON object")
	}
	return obj, nil
}

func readValue(dec *json.Decoder, depth int) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, errors.New("the body is not valid JSON")
	}
	switch t := tok.(type) {
	case json.Delim:
		if depth >= maxJSONDepth {
			return nil, errors.New("the body nests too deeply")
		}
		switch t {
		case '{':
			return readObject(dec, depth+1)
		case '[':
			var arr []any
			for dec.More() {
				v, err := readValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, errors.New("the body is not valid JSON")
			}
			return arr, nil
		}
		return nil, errors.New("the body is not valid JSON")
	default:
		return t, nil
	}
}

func readObject(dec *json.Decoder, depth int) (jsonObject, error) {
	obj := jsonObject{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, errors.New("the body is not valid JSON")
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errors.New("the body is not valid JSON")
		}
		if _, dup := obj[key]; dup {
			return nil, fmt.Errorf("key %q is given twice", key)
		}
		v, err := readValue(dec, depth)
		if err != nil {
			return nil, err
		}
		obj[key] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, errors.New("the body is not valid JSON")
	}
	return obj, nil
}
