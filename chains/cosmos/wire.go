package cosmos

import (
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/mpcsigner/mpcsigner/chains"
)

// field is one protobuf field as read off the wire: its number, its wire type and its value
// (a varint, or the content of a length-delimited field).
type field struct {
	num    protowire.Number
	typ    protowire.Type
	varint uint64
	bytes  []byte
}

// readFields splits the protobuf message b into its fields. It refuses malformed wire data,
// groups and the fixed-width wire types (none of the messages read here has such fields), and
// non-minimal varints: no encoder writes them, and refusing them keeps one message to one
// byte string, which matters where the bytes themselves are signed.
func readFields(what string, b []byte) ([]field, error) {
	var fields []field
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, chains.Invalid("%s: malformed field tag: %v", what, protowire.ParseError(n))
		}
		if n != protowire.SizeTag(num) {
			return nil, chains.Invalid("%s: field %d has a non-minimal tag", what, num)
		}
		b = b[n:]
		f := field{num: num, typ: typ}
		switch typ {
		case protowire.VarintType:
			f.varint, n = protowire.ConsumeVarint(b)
			if n >= 0 && n != protowire.SizeVarint(f.varint) {
				return nil, chains.Invalid("%s: field %d has a non-minimal varint", what, num)
			}
		case protowire.BytesType:
			f.bytes, n = protowire.ConsumeBytes(b)
			if n >= 0 && n != protowire.SizeBytes(len(f.bytes)) {
				return nil, chains.Invalid("%s: field %d has a non-minimal length", what, num)
			}
		default:
			return nil, chains.Invalid("%s: field %d has wire type %d, which this message does not use", what, num, typ)
		}
		if n < 0 {
			return nil, chains.Invalid("%s: field %d: %v", what, num, protowire.ParseError(n))
		}
		b = b[n:]
		fields = append(fields, f)
	}
	return fields, nil
}

// singular tracks the non-repeated fields of one message, so that a second copy (which
// protobuf would silently merge or overwrite) is refused.
type singular map[protowire.Number]bool

// take checks that f has wire type want and, unless repeated, that it is the first copy.
func (s singular) take(what string, f field, want protowire.Type, repeated bool) error {
	if f.typ != want {
		return chains.Invalid("%s: field %d has wire type %d, want %d", what, f.num, f.typ, want)
	}
	if repeated {
		return nil
	}
	if s[f.num] {
		return chains.Invalid("%s: field %d appears twice", what, f.num)
	}
	s[f.num] = true
	return nil
}

// text returns a string field's content, refusing invalid UTF-8 as proto3 does.
func text(what string, f field) (string, error) {
	if !utf8.Valid(f.bytes) {
		return "", chains.Invalid("%s: field %d is not valid UTF-8", what, f.num)
	}
	return string(f.bytes), nil
}
