package tron

import (
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/mpcsigner/mpcsigner/chains"
	"github.com/mpcsigner/mpcsigner/chains/internal/pbwire"
)

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
func (sc schema) check(what string, fields []pbwire.Field) error {
	var prev protowire.Number
	for _, f := range fields {
		spec, ok := sc[f.Num]
		switch {
		case !ok:
			return chains.Invalid("%s: unknown field %d", what, f.Num)
		case spec.kind == unsupported:
			return chains.Invalid("%s: %s (field %d) is not supported", what, spec.name, f.Num)
		case f.Type != spec.wireType():
			return chains.Invalid("%s: %s has wire type %d, want %d", what, spec.name, f.Type, spec.wireType())
		case f.Num == prev && spec.kind != repeatedMessage:
			return chains.Invalid("%s: %s appears twice", what, spec.name)
		case f.Num < prev:
			return chains.Invalid("%s: %s (field %d) comes after field %d: fields must be in number order", what, spec.name, f.Num, prev)
		case spec.kind == scalarVarint && f.Varint == 0, spec.kind == scalarBytes && len(f.Bytes) == 0:
			return chains.Invalid("%s: %s is written with its zero value, which protobuf leaves out", what, spec.name)
		}
		prev = f.Num
	}
	return nil
}
