package tron

import (
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/mpcsigner/mpcsigner/chains"
)

// field is one protobuf field as read off the wire: its number, wire type and value (a
// varint, or the content of a length-delimited field; fixed-width values are only framed).
type field struct {
	num    protowire.Number
	typ    protowire.Type
	varint uint64
	bytes  []byte
}

// readFields splits the protobuf message b into its fields, refusing malformed wire data,
// groups (deprecated, and in none of TRON's messages) and non-minimal varints, which no
// protobuf library writes: a node re-encoding the message would hash other bytes.
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
		case protowire.Fixed32Type:
			_, n = protowire.ConsumeFixed32(b)
		case protowire.Fixed64Type:
			_, n = protowire.ConsumeFixed64(b)
		default:
			return nil, chains.Invalid("%s: field %d has wire type %d (a group), which TRON does not use", what, num, typ)
		}
		if n < 0 {
			return nil, chains.Invalid("%s: field %d: %v", what, num, protowire.ParseError(n))
		}
		b = b[n:]
		fields = append(fields, f)
	}
	return fields, nil
}

// kind is how a field of a known message is encoded, which decides what canonical means.
type kind int

const (
	scalarVarint    kind = iota + 1 // proto3 integer or enum: left out when zero
	scalarBytes                     // proto3 bytes or string: left out when empty
	message                         // singular message: written even when empty
	repeatedMessage                 // written once per element, consecutively
	unsupported                     // in the schema, but not something this package signs
)

// fieldSpec names and types one field of a message.
type fieldSpec struct {
	name string
	kind kind
}

// wireType is the wire type the field must have.
func (s fieldSpec) wireType() protowire.Type {
	if s.kind == scalarVarint {
		return protowire.VarintType
	}
	return protowire.BytesType
}

// schema is the fields of one message, by number.
type schema map[protowire.Number]fieldSpec

// check refuses fields that are unknown or unsupported, of the wrong wire type, repeated
// though singular, out of number order, or zero-valued scalars: everything that a node's
// protobuf library would write differently when it encodes the message again.
func (sc schema) check(what string, fields []field) error {
	var prev protowire.Number
	for _, f := range fields {
		spec, ok := sc[f.num]
		switch {
		case !ok:
			return chains.Invalid("%s: unknown field %d", what, f.num)
		case spec.kind == unsupported:
			return chains.Invalid("%s: %s (field %d) is not supported", what, spec.name, f.num)
		case f.typ != spec.wireType():
			return chains.Invalid("%s: %s has wire type %d, want %d", what, spec.name, f.typ, spec.wireType())
		case f.num == prev && spec.kind != repeatedMessage:
			return chains.Invalid("%s: %s appears twice", what, spec.name)
		case f.num < prev:
			return chains.Invalid("%s: %s (field %d) comes after field %d: fields must be in number order", what, spec.name, f.num, prev)
		case spec.kind == scalarVarint && f.varint == 0, spec.kind == scalarBytes && len(f.bytes) == 0:
			return chains.Invalid("%s: %s is written with its zero value, which protobuf leaves out", what, spec.name)
		}
		prev = f.num
	}
	return nil
}
