// Package bcs reads Binary Canonical Serialization (https://github.com/diem/bcs), the format of
// the Move chains' transactions (Aptos, Sui), strictly: canonical ULEB128, booleans and option
// tags that are 0 or 1, valid UTF-8, sequence lengths the input can hold, no reading past the
// end. Every error wraps chains.ErrInvalid and names the field being read.
//
// It knows BCS only: which fields a transaction has, which enum variants exist and what a
// valid identifier is are the chain packages' rules, not this package's. It must never hold a
// key, do I/O, or hold anything chain-specific.
package bcs

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/mpcsigner/mpcsigner/chains"
)

// maxSequenceLength is BCS's cap on a length prefix (2^31 - 1).
const maxSequenceLength = math.MaxInt32

// Reader reads BCS values off a byte string, front to back.
type Reader struct {
	prefix string
	b      []byte
	pos    int
}

// NewReader returns a Reader of b whose errors start with prefix (the caller's name, e.g.
// "aptos"), so that a refusal says which decoder made it.
func NewReader(prefix string, b []byte) *Reader {
	return &Reader{prefix: prefix, b: b}
}

// invalid is an error about the field what, wrapping chains.ErrInvalid.
func (r *Reader) invalid(what, format string, args ...any) error {
	return chains.Invalid("%s: %s: %s", r.prefix, what, fmt.Sprintf(format, args...))
}

// Left is how many bytes are still unread.
func (r *Reader) Left() int { return len(r.b) - r.pos }

// End refuses bytes left after the value named what, which a canonical encoding never has.
func (r *Reader) End(what string) error {
	if r.Left() != 0 {
		return chains.Invalid("%s: %d trailing bytes after %s", r.prefix, r.Left(), what)
	}
	return nil
}

// Take reads the next n bytes. The slice aliases the input.
func (r *Reader) Take(n int, what string) ([]byte, error) {
	if n > r.Left() {
		return nil, r.invalid(what, "%d bytes needed at offset %d, %d left", n, r.pos, r.Left())
	}
	out := r.b[r.pos : r.pos+n]
	r.pos += n
	return out, nil
}

// U8 reads a u8.
func (r *Reader) U8(what string) (uint8, error) {
	b, err := r.Take(1, what)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

// U64 reads a little-endian u64.
func (r *Reader) U64(what string) (uint64, error) {
	b, err := r.Take(8, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

// Bytes32 reads a fixed 32-byte array (an account address or object id), which BCS writes
// without a length.
func (r *Reader) Bytes32(what string) ([32]byte, error) {
	b, err := r.Take(32, what)
	if err != nil {
		return [32]byte{}, err
	}
	return [32]byte(b), nil
}

// ULEB128 reads a canonical ULEB128 u32: BCS refuses a zero final byte after the first (two
// encodings of one value) and values over 32 bits.
func (r *Reader) ULEB128(what string) (uint32, error) {
	var v uint64
	for i := range 5 {
		b, err := r.U8(what)
		if err != nil {
			return 0, err
		}
		v |= uint64(b&0x7f) << (7 * i)
		if b&0x80 != 0 {
			continue
		}
		switch {
		case i > 0 && b == 0:
			return 0, r.invalid(what, "ULEB128 is not in its shortest form")
		case v > math.MaxUint32:
			return 0, r.invalid(what, "ULEB128 overflows 32 bits")
		}
		return uint32(v), nil
	}
	return 0, r.invalid(what, "ULEB128 longer than five bytes")
}

// Length reads a sequence length and checks that the input can hold that many elements of
// at least minSize bytes, so that nothing is allocated for data that is not there.
func (r *Reader) Length(what string, minSize int) (int, error) {
	n, err := r.ULEB128(what)
	if err != nil {
		return 0, err
	}
	if n > maxSequenceLength || int(n)*minSize > r.Left() {
		return 0, r.invalid(what, "%d elements of %d bytes or more, but %d bytes left", n, minSize, r.Left())
	}
	return int(n), nil
}

// Sequence reads a sequence whose elements are at least minSize bytes: its length, then each
// element with read, which is given the element's name, what[i]. It returns the length.
func (r *Reader) Sequence(what string, minSize int, read func(what string) error) (int, error) {
	n, err := r.Length(what, minSize)
	if err != nil {
		return 0, err
	}
	for i := range n {
		if err := read(fmt.Sprintf("%s[%d]", what, i)); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// Bytes reads a length-prefixed byte string, copied out of the input.
func (r *Reader) Bytes(what string) ([]byte, error) {
	n, err := r.Length(what, 1)
	if err != nil {
		return nil, err
	}
	b, _ := r.Take(n, what) // Length checked the size
	return bytes.Clone(b), nil
}

// Text reads a length-prefixed string, which BCS requires to be UTF-8.
func (r *Reader) Text(what string) (string, error) {
	b, err := r.Bytes(what)
	if err != nil {
		return "", err
	}
	if !utf8.Valid(b) {
		return "", r.invalid(what, "not UTF-8")
	}
	return string(b), nil
}

// Flag reads a bool or an option tag: one byte, 0 or 1.
func (r *Reader) Flag(what string) (bool, error) {
	b, err := r.U8(what)
	if err != nil {
		return false, err
	}
	if b > 1 {
		return false, r.invalid(what, "%d is not 0 or 1", b)
	}
	return b == 1, nil
}

// Variant reads an enum's ULEB128 variant index.
func (r *Reader) Variant(what string) (uint32, error) {
	return r.ULEB128(what + " variant")
}
