package backup

import (
	"encoding/hex"
	"encoding/json"
	"reflect"
)

// Hex is a byte string that JSON carries as lowercase hexadecimal, the one form Marshal
// writes; decoding refuses any other (uppercase included), so that every byte of a bundle
// matters. Its decoding errors never quote the input, which may be secret (a chain code).
type Hex []byte

// MarshalJSON implements json.Marshaler.
func (h Hex) MarshalJSON() ([]byte, error) {
	out := make([]byte, 0, 2*len(h)+2)
	out = append(out, '"')
	out = hex.AppendEncode(out, h)
	return append(out, '"'), nil
}

// UnmarshalJSON implements json.Unmarshaler. Its errors are *json.UnmarshalTypeError, which
// encoding/json completes with the name of the field.
func (h *Hex) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return hexError("not a string")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return hexError("a character other than 0-9 and a-f")
		}
	}
	if len(s)%2 != 0 {
		return hexError("an odd number of digits")
	}
	out, err := hex.DecodeString(s)
	if err != nil {
		return hexError("not hexadecimal") // unreachable: checked above
	}
	*h = out
	return nil
}

var hexType = reflect.TypeFor[Hex]()

func hexError(what string) error { return &json.UnmarshalTypeError{Value: what, Type: hexType} }
