// Package pbwire splits protobuf messages into their fields, strictly, for the chains whose
// transactions are protobuf (Cosmos SDK, TRON) and whose nodes sign or hash bytes they
// re-encode: it refuses malformed wire data, groups, and non-minimal tags, varints and
// lengths, so that one message has one byte string. Every error wraps chains.ErrInvalid and
// names the message and the field.
//
// It knows the wire format only: which fields a message has, their wire types, whether they
// may repeat and what canonical order means are the chain packages' schemas. It must never
// hold a key, do I/O, or hold anything chain-specific.
package pbwire

import (
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/mpcsigner/mpcsigner/chains"
)

// Field is one field as read off the wire: its number, its wire type and its value. Varint
// is set for the varint wire type and Bytes (aliasing the input) for the length-delimited
// one; fixed-width values are only framed, since none of the messages read needs one.
type Field struct {
	Num    protowire.Number
	Type   protowire.Type
	Varint uint64
	Bytes  []byte
}

// ReadFields splits the message b, named what in errors, into its fields in wire order.
func ReadFields(what string, b []byte) ([]Field, error) {
	var fields []Field
	for len(b) > 0 {
		f, n, err := readField(what, b)
		if err != nil {
			return nil, err
		}
		b = b[n:]
		fields = append(fields, f)
	}
	return fields, nil
}

// readField reads the field at the start of b and returns it with its length on the wire.
// Non-minimal encodings are refused although protobuf parsers accept them: no encoder writes
// them, and a node that parses and re-encodes the message would hash other bytes.
func readField(what string, b []byte) (Field, int, error) {
	num, typ, tagLen := protowire.ConsumeTag(b)
	if tagLen < 0 {
		return Field{}, 0, chains.Invalid("%s: malformed field tag: %v", what, protowire.ParseError(tagLen))
	}
	if tagLen != protowire.SizeTag(num) {
		return Field{}, 0, chains.Invalid("%s: field %d has a non-minimal tag", what, num)
	}
	b = b[tagLen:]
	f := Field{Num: num, Type: typ}
	var n int
	switch typ {
	case protowire.VarintType:
		f.Varint, n = protowire.ConsumeVarint(b)
		if n >= 0 && n != protowire.SizeVarint(f.Varint) {
			return Field{}, 0, chains.Invalid("%s: field %d has a non-minimal varint", what, num)
		}
	case protowire.BytesType:
		f.Bytes, n = protowire.ConsumeBytes(b)
		if n >= 0 && n != protowire.SizeBytes(len(f.Bytes)) {
			return Field{}, 0, chains.Invalid("%s: field %d has a non-minimal length", what, num)
		}
	case protowire.Fixed32Type:
		_, n = protowire.ConsumeFixed32(b)
	case protowire.Fixed64Type:
		_, n = protowire.ConsumeFixed64(b)
	default:
		return Field{}, 0, chains.Invalid("%s: field %d has wire type %d (a group): groups are deprecated and no message read here has one", what, num, typ)
	}
	if n < 0 {
		return Field{}, 0, chains.Invalid("%s: field %d: %v", what, num, protowire.ParseError(n))
	}
	return f, tagLen + n, nil
}
