package kucoin

import (
	"encoding/json"
	"errors"
	"unicode/utf16"
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
	for i := range o {
		if o[i].key == key {
			return o[i].value, true
		}
	}
	return nil, false
}

// maxDepth bounds the nesting of values the scanner accepts.
const maxDepth = 32

var (
	errNotJSON   = errors.New("the body is not valid JSON")
	errNotObject = errors.New("the body is not a JSON object")
)

// parseObject reads a JSON object one level deep (RFC 8259, validated in
// full) and refuses what two JSON readers could understand differently: a
// key given twice, after unescaping (one reader keeps the first value,
// another the last), invalid UTF-8 or a lone surrogate escape in a key
// (one reader replaces it, another refuses), and data after the object.
// Member values stay undecoded; nested objects are parsed with
// parseObject again by whoever reads them.
func parseObject(b []byte) (object, error) {
	if !utf8.Valid(b) {
		return nil, errors.New("the body is not valid UTF-8")
	}
	s := scanner{b: b}
	s.space()
	if s.i >= len(b) || b[s.i] != '{' {
		if s.value(0) == nil && s.end() {
			return nil, errNotObject
		}
		return nil, errNotJSON
	}
	s.i++
	var out object
	s.space()
	if s.peek() == '}' {
		s.i++
	} else {
		for {
			s.space()
			key, err := s.key()
			if err != nil {
				return nil, err
			}
			if _, dup := out.get(key); dup {
				return nil, errors.New("key " + quote(key) + " is given more than once")
			}
			s.space()
			if s.peek() != ':' {
				return nil, errNotJSON
			}
			s.i++
			s.space()
			start := s.i
			if err := s.value(1); err != nil {
				return nil, err
			}
			out = append(out, field{key, json.RawMessage(b[start:s.i])})
			s.space()
			c := s.peek()
			s.i++
			if c == '}' {
				break
			}
			if c != ',' {
				return nil, errNotJSON
			}
		}
	}
	if !s.end() {
		return nil, errors.New("the body has data after the JSON object")
	}
	return out, nil
}

// parseArray splits a JSON array into its undecoded elements.
func parseArray(b []byte) ([]json.RawMessage, error) {
	s := scanner{b: b}
	s.space()
	if s.peek() != '[' {
		return nil, errors.New("not a JSON array")
	}
	s.i++
	var out []json.RawMessage
	s.space()
	if s.peek() == ']' {
		s.i++
	} else {
		for {
			s.space()
			start := s.i
			if err := s.value(1); err != nil {
				return nil, errors.New("not valid JSON")
			}
			out = append(out, json.RawMessage(b[start:s.i]))
			s.space()
			c := s.peek()
			s.i++
			if c == ']' {
				break
			}
			if c != ',' {
				return nil, errors.New("not valid JSON")
			}
		}
	}
	if !s.end() {
		return nil, errors.New("not valid JSON")
	}
	return out, nil
}

// scanner validates JSON text in place.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// end reports whether only white space is left.
func (s *scanner) end() bool {
	s.space()
	return s.i == len(s.b)
}

// value skips one JSON value, validating it.
func (s *scanner) value(depth int) error {
	if depth > maxDepth {
		return errors.New("the body is nested too deeply")
	}
	switch c := s.peek(); {
	case c == '"':
		_, err := s.str(false)
		return err
	case c == '{', c == '[':
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		s.i++
		s.space()
		if s.peek() == closer {
			s.i++
			return nil
		}
		for {
			s.space()
			if c == '{' {
				if _, err := s.str(false); err != nil {
					return err
				}
				s.space()
				if s.peek() != ':' {
					return errNotJSON
				}
				s.i++
				s.space()
			}
			if err := s.value(depth + 1); err != nil {
				return err
			}
			s.space()
			n := s.peek()
			s.i++
			if n == closer {
				return nil
			}
			if n != ',' {
				return errNotJSON
			}
		}
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		return s.number()
	}
	return errNotJSON
}

func (s *scanner) literal(lit string) error {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return errNotJSON
	}
	s.i += len(lit)
	return nil
}

func (s *scanner) digits() int {
	n := 0
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
		n++
	}
	return n
}

func (s *scanner) number() error {
	if s.peek() == '-' {
		s.i++
	}
	switch c := s.peek(); {
	case c == '0':
		s.i++
	case '1' <= c && c <= '9':
		s.digits()
	default:
		return errNotJSON
	}
	if s.peek() == '.' {
		s.i++
		if s.digits() == 0 {
			return errNotJSON
		}
	}
	if c := s.peek(); c == 'e' || c == 'E' {
		s.i++
		if c := s.peek(); c == '+' || c == '-' {
			s.i++
		}
		if s.digits() == 0 {
			return errNotJSON
		}
	}
	return nil
}

// key reads an object key, unescaped.
func (s *scanner) key() (string, error) {
	if s.peek() != '"' {
		return "", errNotJSON
	}
	return s.str(true)
}

// str validates a string at s.i and, when decode is set, returns it
// unescaped. A lone surrogate escape is refused when decoding: readers
// disagree on it.
func (s *scanner) str(decode bool) (string, error) {
	s.i++ // opening quote
	start, plain := s.i, true
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			raw := s.b[start:s.i]
			s.i++
			if !decode {
				return "", nil
			}
			if plain {
				return string(raw), nil
			}
			return unescape(raw)
		case c < 0x20:
			return "", errNotJSON
		case c == '\\':
			plain = false
			s.i++
			switch s.peek() {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i++
			case 'u':
				if len(s.b)-s.i < 5 || !isHex4(s.b[s.i+1:s.i+5]) {
					return "", errNotJSON
				}
				s.i += 5
			default:
				return "", errNotJSON
			}
		default:
			s.i++
		}
	}
	return "", errNotJSON
}

func isHex4(b []byte) bool {
	for _, c := range b[:4] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		r <<= 4
		switch {
		case c <= '9':
			r |= rune(c - '0')
		case c >= 'a':
			r |= rune(c - 'a' + 10)
		default:
			r |= rune(c - 'A' + 10)
		}
	}
	return r
}

// unescape decodes the inside of a validated JSON string.
func unescape(raw []byte) (string, error) {
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		switch raw[i] {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r := hex4(raw[i+1:])
			i += 4
			if utf16.IsSurrogate(r) {
				if i+6 >= len(raw) || raw[i+1] != '\\' || raw[i+2] != 'u' {
					return "", errors.New("a key holds a lone surrogate escape")
				}
				r = utf16.DecodeRune(r, hex4(raw[i+3:]))
				if r == utf8.RuneError {
					return "", errors.New("a key holds a lone surrogate escape")
				}
				i += 6
			}
			out = utf8.AppendRune(out, r)
		default: // '"', '\\', '/'
			out = append(out, raw[i])
		}
	}
	return string(out), nil
}

// quote quotes s for an error message, shortened.
func quote(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	b, _ := json.Marshal(s)
	return string(b)
}
