package sui

import (
	"bytes"
	"encoding/binary"
	"math"
	"unicode/utf8"

	"github.com/mpcsigner/mpcsigner/chains"
)

// maxSequenceLength is BCS's cap on a length prefix (2^31 - 1).
const maxSequenceLength = math.MaxInt32

// reader reads BCS (https://github.com/diem/bcs) strictly: canonical ULEB128, booleans and
// option tags that are 0 or 1, valid UTF-8, no reading past the end. Every error names the
// field being read and wraps chains.ErrInvalid. (chains/aptos has the same reader: chain
// packages import no other chain package.)
type reader struct {
	b   []byte
	pos int
}

func (r *reader) left() int { return len(r.b) - r.pos }

func (r *reader) take(n int, what string) ([]byte, error) {
	if n > r.left() {
		return nil, chains.Invalid("sui: %s: %d bytes needed at offset %d, %d left", what, n, r.pos, r.left())
	}
	out := r.b[r.pos : r.pos+n]
	r.pos += n
	return out, nil
}

func (r *reader) u8(what string) (uint8, error) {
	b, err := r.take(1, what)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

func (r *reader) u64(what string) (uint64, error) {
	b, err := r.take(8, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

func (r *reader) address(what string) ([AddressSize]byte, error) {
	b, err := r.take(AddressSize, what)
	if err != nil {
		return [AddressSize]byte{}, err
	}
	return [AddressSize]byte(b), nil
}

// uleb128 reads a canonical ULEB128 u32: BCS refuses a zero final byte after the first (two
// encodings of one value) and values over 32 bits.
func (r *reader) uleb128(what string) (uint32, error) {
	var v uint64
	for i := range 5 {
		b, err := r.u8(what)
		if err != nil {
			return 0, err
		}
		v |= uint64(b&0x7f) << (7 * i)
		if b&0x80 != 0 {
			continue
		}
		switch {
		case i > 0 && b == 0:
			return 0, chains.Invalid("sui: %s: ULEB128 is not in its shortest form", what)
		case v > math.MaxUint32:
			return 0, chains.Invalid("sui: %s: ULEB128 overflows 32 bits", what)
		}
		return uint32(v), nil
	}
	return 0, chains.Invalid("sui: %s: ULEB128 longer than five bytes", what)
}

// length reads a sequence length and checks that the input can hold that many elements of
// at least minSize bytes, so that nothing is allocated for data that is not there.
func (r *reader) length(what string, minSize int) (int, error) {
	n, err := r.uleb128(what)
	if err != nil {
		return 0, err
	}
	if n > maxSequenceLength || int(n)*minSize > r.left() {
		return 0, chains.Invalid("sui: %s: %d elements of %d bytes or more, but %d bytes left", what, n, minSize, r.left())
	}
	return int(n), nil
}

func (r *reader) bytes(what string) ([]byte, error) {
	n, err := r.length(what, 1)
	if err != nil {
		return nil, err
	}
	b, _ := r.take(n, what) // length checked the size
	return bytes.Clone(b), nil
}

func (r *reader) string(what string) (string, error) {
	b, err := r.bytes(what)
	if err != nil {
		return "", err
	}
	if !utf8.Valid(b) {
		return "", chains.Invalid("sui: %s: not UTF-8", what)
	}
	return string(b), nil
}

// flag reads a BCS bool or option tag: one byte, 0 or 1.
func (r *reader) flag(what string) (bool, error) {
	b, err := r.u8(what)
	if err != nil {
		return false, err
	}
	if b > 1 {
		return false, chains.Invalid("sui: %s: %d is not 0 or 1", what, b)
	}
	return b == 1, nil
}

// variant reads an enum's ULEB128 variant index.
func (r *reader) variant(what string) (uint32, error) {
	return r.uleb128(what + " variant")
}
