package exchange

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// EnsureJSONClientID returns body, a JSON object, with its client order id
// field set: a missing field gets newID's id, written first; a present one
// must be a string that ValidClientID accepts (else an error wrapping
// ErrClientID). A body that is not a JSON object is returned as it is, for
// the intent parser to refuse.
func EnsureJSONClientID(body []byte, field string, newID func() (string, error)) ([]byte, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return body, nil
	}
	if raw, ok := obj[field]; ok {
		return body, checkJSONClientID(field, raw)
	}
	id, err := newID()
	if err != nil {
		return nil, err
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n") // starts with '{'
	rest := trimmed[1:]
	sep := ","
	if r := bytes.TrimLeft(rest, " \t\r\n"); len(r) > 0 && r[0] == '}' {
		sep = ""
	}
	key, _ := json.Marshal(field)
	val, _ := json.Marshal(id)
	out := make([]byte, 0, len(body)+len(key)+len(val)+3)
	out = append(out, '{')
	out = append(out, key...)
	out = append(out, ':')
	out = append(out, val...)
	out = append(out, sep...)
	return append(out, rest...), nil
}

// CheckJSONClientIDs checks that every object of a JSON array field of
// body (a batch's orders) carries a valid client order id field; an error
// wraps ErrClientID.
func CheckJSONClientIDs(body []byte, list, field string) error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil // the intent parser refuses it
	}
	var items []map[string]json.RawMessage
	if err := json.Unmarshal(obj[list], &items); err != nil {
		return nil
	}
	for i, o := range items {
		raw, ok := o[field]
		if !ok {
			return fmt.Errorf("%w: order %d of %s has no %s; set one on every order", ErrClientID, i+1, list, field)
		}
		if err := checkJSONClientID(field, raw); err != nil {
			return err
		}
	}
	return nil
}

func checkJSONClientID(field string, raw json.RawMessage) error {
	var id string
	if err := json.Unmarshal(raw, &id); err != nil {
		return fmt.Errorf("%w: %s is not a string", ErrClientID, field)
	}
	if err := CheckClientID(id); err != nil {
		return fmt.Errorf("%s: %w", field, err)
	}
	return nil
}
