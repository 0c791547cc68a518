package eth2

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// maxDepth bounds the nesting of a body. The deepest legitimate path (a block's attester
// slashing's attestation's data's checkpoint's root) is 9 levels.
const maxDepth = 32

// jsonKind is the JSON type of a value.
type jsonKind uint8

const (
	kindNull jsonKind = iota
	kindBool
	kindNumber
	kindString
	kindArray
	kindObject
)

func (k jsonKind) String() string {
	return [...]string{"null", "a boolean", "a number", "a string", "an array", "an object"}[k]
}

// jsonValue is one parsed JSON value. Objects keep their members in order (for error messages
// that follow the body) and have no duplicate keys.
type jsonValue struct {
	kind    jsonKind
	text    string                // string contents, or number literal
	items   []*jsonValue          // array elements
	keys    []string              // object keys, in order
	members map[string]*jsonValue // object members by exact key
}

// parseJSON reads body as exactly one JSON value. It exists (rather than json.Unmarshal into
// structs) because encoding/json matches keys case-insensitively, keeps the last of duplicate
// keys and cannot say which field of a nested object was wrong; a signing request read two
// ways by two parsers is how a signer gets tricked.
//
// encoding/json checks the syntax (one value, then only whitespace); a small tree builder then
// walks the bytes it has vouched for. (json.Decoder.Token would do both in one pass, at ten
// times the cost.)
func parseJSON(body []byte) (*jsonValue, error) {
	if !utf8.Valid(body) {
		// encoding/json would silently replace invalid bytes with U+FFFD.
		return nil, errors.New("body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return nil, syntaxError(err)
	}
	if !onlyWhitespace(body[dec.InputOffset():]) {
		return nil, errors.New("trailing data after the JSON object")
	}
	b := &treeBuilder{data: raw}
	return b.value(0)
}

// syntaxError says what encoding/json's complaint means for the body.
func syntaxError(err error) error {
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("unexpected end of JSON")
	}
	return fmt.Errorf("invalid JSON: %v", err)
}

// onlyWhitespace reports whether b holds nothing but JSON's four whitespace characters.
func onlyWhitespace(b []byte) bool {
	for _, c := range b {
		if !isSpace(c) {
			return false
		}
	}
	return true
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

// treeBuilder turns one syntactically valid JSON value into a jsonValue tree, refusing what
// JSON allows but a signing request must not have: duplicate keys and deep nesting.
type treeBuilder struct {
	data []byte
	pos  int
}

func (b *treeBuilder) skipSpace() {
	for b.pos < len(b.data) && isSpace(b.data[b.pos]) {
		b.pos++
	}
}

// value reads the value at the current position.
func (b *treeBuilder) value(depth int) (*jsonValue, error) {
	b.skipSpace()
	if b.pos >= len(b.data) {
		return nil, errors.New("unexpected end of JSON")
	}
	switch c := b.data[b.pos]; c {
	case '{', '[':
		if depth >= maxDepth {
			return nil, fmt.Errorf("JSON nested deeper than %d levels", maxDepth)
		}
		b.pos++
		if c == '{' {
			return b.object(depth + 1)
		}
		return b.array(depth + 1)
	case '"':
		s, err := b.str()
		return &jsonValue{kind: kindString, text: s}, err
	case 't':
		b.pos += len("true")
		return &jsonValue{kind: kindBool}, nil
	case 'f':
		b.pos += len("false")
		return &jsonValue{kind: kindBool}, nil
	case 'n':
		b.pos += len("null")
		return &jsonValue{kind: kindNull}, nil
	}
	start := b.pos
	for b.pos < len(b.data) && strings.IndexByte("+-0123456789.eE", b.data[b.pos]) >= 0 {
		b.pos++
	}
	if b.pos == start {
		return nil, fmt.Errorf("invalid JSON at byte %d", start)
	}
	return &jsonValue{kind: kindNumber, text: string(b.data[start:b.pos])}, nil
}

// object reads members up to the closing brace (the opening one is consumed), refusing a
// duplicate key.
func (b *treeBuilder) object(depth int) (*jsonValue, error) {
	obj := &jsonValue{kind: kindObject, members: map[string]*jsonValue{}}
	for {
		b.skipSpace()
		if b.expect('}') {
			return obj, nil
		}
		if len(obj.keys) > 0 && !b.expect(',') {
			return nil, fmt.Errorf("invalid JSON at byte %d", b.pos)
		}
		b.skipSpace()
		key, err := b.str()
		if err != nil {
			return nil, err
		}
		if _, dup := obj.members[key]; dup {
			return nil, fmt.Errorf("duplicate key %q", clip(key))
		}
		b.skipSpace()
		if !b.expect(':') {
			return nil, fmt.Errorf("invalid JSON at byte %d", b.pos)
		}
		v, err := b.value(depth)
		if err != nil {
			return nil, err
		}
		obj.keys = append(obj.keys, key)
		obj.members[key] = v
	}
}

// array reads elements up to the closing bracket (the opening one is consumed).
func (b *treeBuilder) array(depth int) (*jsonValue, error) {
	arr := &jsonValue{kind: kindArray}
	for {
		b.skipSpace()
		if b.expect(']') {
			return arr, nil
		}
		if len(arr.items) > 0 && !b.expect(',') {
			return nil, fmt.Errorf("invalid JSON at byte %d", b.pos)
		}
		v, err := b.value(depth)
		if err != nil {
			return nil, err
		}
		arr.items = append(arr.items, v)
	}
}

// expect consumes c if it is next.
func (b *treeBuilder) expect(c byte) bool {
	if b.pos < len(b.data) && b.data[b.pos] == c {
		b.pos++
		return true
	}
	return false
}

// str reads a string literal. Without escapes its bytes are its contents; with them,
// encoding/json decodes the literal.
func (b *treeBuilder) str() (string, error) {
	start := b.pos
	if !b.expect('"') {
		return "", fmt.Errorf("invalid JSON at byte %d: expected a string", start)
	}
	escaped := false
	for b.pos < len(b.data) {
		switch b.data[b.pos] {
		case '\\':
			escaped = true
			b.pos += 2
			continue
		case '"':
			b.pos++
			lit := b.data[start:b.pos]
			if !escaped {
				return string(lit[1 : len(lit)-1]), nil
			}
			var s string
			if err := json.Unmarshal(lit, &s); err != nil {
				return "", fmt.Errorf("invalid JSON string at byte %d: %v", start, err)
			}
			return s, nil
		}
		b.pos++
	}
	return "", errors.New("unexpected end of JSON")
}
