package ethereum

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"unicode/utf8"
)

// jsonRules are the structural limits checkJSON enforces before any decoding.
type jsonRules struct {
	what     string // what the document is, for error messages
	maxBytes int
	maxDepth int
	// maxValues, if positive, caps the number of values (scalars, objects and arrays): the
	// cost of decoding and encoding follows the number of values more than the bytes.
	maxValues int
	// number, if set, is called for every JSON number; its error refuses the document.
	number func(json.Number) error
}

// jsonFrame is one open object or array during checkJSON's walk.
type jsonFrame struct {
	object  bool
	wantKey bool
	keys    map[string]struct{}
}

// checkJSON enforces what encoding/json lets through silently: it refuses oversize input,
// invalid UTF-8 (which encoding/json would replace by U+FFFD), duplicate object keys (where it
// would keep the last, so two parsers could see two different documents), nesting deeper
// than maxDepth, anything after the first value, and numbers the rules refuse.
func checkJSON(b []byte, r jsonRules) error {
	if len(b) > r.maxBytes {
		return invalid(r.what, "%d bytes, more than the limit of %d", len(b), r.maxBytes)
	}
	if !utf8.Valid(b) {
		return invalid(r.what, "not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var stack []jsonFrame
	done := false // the top-level value is complete
	values := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return invalid(r.what, "malformed JSON: %v", err)
		}
		if done {
			return invalid(r.what, "trailing data after the JSON value")
		}
		if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantKey {
			if tok == json.Delim('}') {
				stack = closeFrame(stack)
				done = len(stack) == 0
				continue
			}
			key := tok.(string) // the decoder only yields strings in key position
			if _, dup := stack[n-1].keys[key]; dup {
				return invalid(r.what, "duplicate key %q", key)
			}
			stack[n-1].keys[key] = struct{}{}
			stack[n-1].wantKey = false
			continue
		}
		if tok != json.Delim('}') && tok != json.Delim(']') {
			values++
			if r.maxValues > 0 && values > r.maxValues {
				return invalid(r.what, "more than %d JSON values", r.maxValues)
			}
		}
		switch t := tok.(type) {
		case json.Delim:
			if t == '{' || t == '[' {
				if len(stack) >= r.maxDepth {
					return invalid(r.what, "nested deeper than %d levels", r.maxDepth)
				}
				stack = append(stack, jsonFrame{object: t == '{', wantKey: t == '{', keys: map[string]struct{}{}})
				continue
			}
			stack = closeFrame(stack)
		case json.Number:
			if r.number != nil {
				if err := r.number(t); err != nil {
					return invalidErr(r.what, err)
				}
			}
			stack = valueDone(stack)
		default:
			stack = valueDone(stack)
		}
		done = len(stack) == 0
	}
	switch {
	case len(stack) > 0:
		return invalid(r.what, "malformed JSON: unexpected end of input")
	case !done:
		return invalid(r.what, "empty input")
	}
	return nil
}

// closeFrame pops a finished object or array, which completes a value in its parent.
func closeFrame(stack []jsonFrame) []jsonFrame {
	return valueDone(stack[:len(stack)-1])
}

// valueDone records that a value ended: in an object the next token is a key again.
func valueDone(stack []jsonFrame) []jsonFrame {
	if n := len(stack); n > 0 && stack[n-1].object {
		stack[n-1].wantKey = true
	}
	return stack
}

// field is one member of a JSON object decoded by decodeObject. into is a pointer that
// json.Unmarshal fills, or a func(json.RawMessage) error for members that need their own
// strict decoding.
type field struct {
	name     string
	required bool
	into     any
}

// decodeObject decodes a JSON object member by member, so that keys match exactly
// (encoding/json matches struct fields case-insensitively, which would let "GAS" or "From"
// through), unknown keys are refused by name, null counts as absent, and every error names
// the member at fault as path.name. The input must already have passed checkJSON.
func decodeObject(raw json.RawMessage, path string, fields []field) error {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil || members == nil {
		return invalid(path, "want a JSON object")
	}
	known := make(map[string]bool, len(fields))
	for _, f := range fields {
		known[f.name] = true
	}
	for _, k := range slices.Sorted(maps.Keys(members)) {
		if !known[k] {
			return invalid(join(path, k), "unknown field")
		}
	}
	for _, f := range fields {
		v, ok := members[f.name]
		if !ok || string(v) == "null" {
			if f.required {
				return invalid(join(path, f.name), "missing")
			}
			continue
		}
		if err := decodeMember(v, join(path, f.name), f.into); err != nil {
			return err
		}
	}
	return nil
}

// decodeMember fills one member's target.
func decodeMember(v json.RawMessage, path string, into any) error {
	if fn, ok := into.(func(json.RawMessage, string) error); ok {
		return fn(v, path)
	}
	if err := json.Unmarshal(v, into); err != nil {
		return invalidErr(path, jsonCause(err))
	}
	return nil
}

// jsonCause strips encoding/json's "cannot unmarshal X into Go value of type Y" wrapping
// where the underlying reason is more useful to a client (hexutil puts it in Value).
func jsonCause(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("%s (want %s)", te.Value, typeName(te))
	}
	return err
}

// typeName describes the Go type a JSON value failed to decode into, in client terms.
func typeName(te *json.UnmarshalTypeError) string {
	switch te.Type.String() {
	case "hexutil.Uint64", "*hexutil.Uint64":
		return "a 0x-prefixed hex quantity of at most 64 bits"
	case "*hexutil.Big", "hexutil.Big":
		return "a 0x-prefixed hex quantity of at most 256 bits"
	case "hexutil.Bytes", "*hexutil.Bytes":
		return "0x-prefixed hex bytes"
	case "common.Address", "*common.Address":
		return "a 0x-prefixed 20-byte hex address"
	case "common.Hash", "*common.Hash":
		return "a 0x-prefixed 32-byte hex string"
	}
	return te.Type.String()
}

// join extends an error path with a member name.
func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}
