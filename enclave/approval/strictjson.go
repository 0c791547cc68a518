package approval

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
)

// maxJSONDepth is deeper than any object of this package (a statement's params are at depth 2).
const maxJSONDepth = 4

// decodeStrict decodes one JSON object into v, whose top-level keys must be exactly among fields
// (encoding/json alone would match keys case-insensitively and let a duplicate key silently
// overwrite an earlier one: what an approver saw and what an enclave decodes could differ).
func decodeStrict(b []byte, limit int, fields []string, v any) error {
	if len(b) > limit {
		return fmt.Errorf("%d bytes exceeds the limit of %d: %w", len(b), limit, ErrMalformed)
	}
	if err := checkKeys(b, fields); err != nil {
		return fmt.Errorf("%v: %w", err, ErrMalformed)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%v: %w", err, ErrMalformed)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("trailing data after the object: %w", ErrMalformed)
	}
	return nil
}

// checkKeys walks b's tokens: it must be one object whose keys are in fields, with no key
// repeated in any object and nothing nested deeper than maxJSONDepth.
func checkKeys(b []byte, fields []string) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("not JSON: %v", err)
	}
	if tok != json.Delim('{') {
		return errors.New("not a JSON object")
	}
	return walkObject(dec, 1, fields)
}

// walkObject reads the members of an object whose '{' was just read. At the top level
// (allowed != nil) each key must be one of allowed.
func walkObject(dec *json.Decoder, depth int, allowed []string) error {
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, ok := tok.(string)
		if !ok {
			return fmt.Errorf("object key %v is not a string", tok)
		}
		if allowed != nil && !slices.Contains(allowed, key) {
			return fmt.Errorf("unknown field %q (fields are %v, exactly so spelled)", truncate(key), allowed)
		}
		if seen[key] {
			return fmt.Errorf("key %q appears twice in one object", truncate(key))
		}
		seen[key] = true
		if err := walkValue(dec, depth); err != nil {
			return err
		}
	}
	_, err := dec.Token() // the closing '}'
	return err
}

// walkValue reads one value, descending into objects and arrays.
func walkValue(dec *json.Decoder, depth int) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	if depth+1 > maxJSONDepth {
		return fmt.Errorf("nested deeper than %d levels", maxJSONDepth)
	}
	if d == '{' {
		return walkObject(dec, depth+1, nil)
	}
	for dec.More() {
		if err := walkValue(dec, depth+1); err != nil {
			return err
		}
	}
	_, err = dec.Token() // the closing ']'
	return err
}

// truncate shortens untrusted text quoted in an error.
func truncate(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
