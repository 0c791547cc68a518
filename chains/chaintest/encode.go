package chaintest

import (
	"encoding/binary"

	"google.golang.org/protobuf/encoding/protowire"
)

// The writers below build the inputs chain tests feed their decoders, field by field. They
// never call the decoders under test (chains/internal/bcs, chains/internal/pbwire and the
// chains' own), so that a test does not check a decoder against itself.

// Cat concatenates byte strings, e.g. the fields of a message.
func Cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// PBBytes is the protobuf field num of the length-delimited wire type (bytes, a string or an
// embedded message) holding v.
func PBBytes(num protowire.Number, v []byte) []byte {
	b := protowire.AppendTag(nil, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

// PBVarint is the protobuf field num of the varint wire type holding v.
func PBVarint(num protowire.Number, v uint64) []byte {
	b := protowire.AppendTag(nil, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

// BCS writes Binary Canonical Serialization (github.com/diem/bcs). Its methods append and
// return the writer, so that a value is written as one chain of calls.
type BCS []byte

// Raw appends b as it is: fixed-size values such as addresses, and deliberately malformed
// bytes.
func (w *BCS) Raw(b ...byte) *BCS { *w = append(*w, b...); return w }

// ULEB appends v in ULEB128, the encoding of lengths and enum variant indexes.
func (w *BCS) ULEB(v uint32) *BCS {
	for v >= 0x80 {
		*w = append(*w, byte(v)|0x80)
		v >>= 7
	}
	return w.Raw(byte(v))
}

// U64 appends a little-endian u64.
func (w *BCS) U64(v uint64) *BCS { *w = binary.LittleEndian.AppendUint64(*w, v); return w }

// Bytes appends a length-prefixed byte string.
func (w *BCS) Bytes(b []byte) *BCS { return w.ULEB(uint32(len(b))).Raw(b...) }

// Str appends a length-prefixed string.
func (w *BCS) Str(s string) *BCS { return w.Bytes([]byte(s)) }
