package stellar

import (
	"encoding/binary"

	"github.com/mpcsigner/mpcsigner/chains"
)

// maxDepth caps how deeply the recursive XDR types (SCVal, ClaimPredicate, authorized
// invocations, delegate signatures) may nest, so that the walk's recursion is bounded. It is
// this package's limit, well above what transactions need.
const maxDepth = 64

// reader walks XDR (RFC 4506) strictly: every item is a multiple of four bytes, padding is
// zero, booleans and optional flags are 0 or 1, variable-length items respect their declared
// maximum. Every error names the field being read and wraps chains.ErrInvalid.
type reader struct {
	b     []byte
	pos   int
	depth int
}

func (r *reader) left() int { return len(r.b) - r.pos }

func (r *reader) take(n int, what string) ([]byte, error) {
	if n > r.left() {
		return nil, chains.Invalid("stellar: %s: %d bytes needed at offset %d, %d left", what, n, r.pos, r.left())
	}
	out := r.b[r.pos : r.pos+n]
	r.pos += n
	return out, nil
}

// skip reads and discards n bytes: fixed-size items this package does not interpret (a
// uint64, a Hash, an int64 amount, ...).
func (r *reader) skip(n int, what string) error {
	_, err := r.take(n, what)
	return err
}

func (r *reader) u32(what string) (uint32, error) {
	b, err := r.take(4, what)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint32(b), nil
}

func (r *reader) u64(what string) (uint64, error) {
	b, err := r.take(8, what)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint64(b), nil
}

// enum reads a discriminant or an enum value and refuses one of n or above.
func (r *reader) enum(what string, n uint32) (uint32, error) {
	v, err := r.u32(what)
	if err != nil {
		return 0, err
	}
	if v >= n {
		return 0, chains.Invalid("stellar: %s: %d is not a known value (0 to %d)", what, int32(v), n-1)
	}
	return v, nil
}

// optional reads the flag of an optional item (XDR's T*).
func (r *reader) optional(what string) (bool, error) {
	v, err := r.enum(what+" (optional flag)", 2)
	return v == 1, err
}

// opaque reads a variable-length opaque or string of at most max bytes (0: no maximum but the
// input's size) and its zero padding.
func (r *reader) opaque(what string, max uint32) ([]byte, error) {
	n, err := r.u32(what + " length")
	if err != nil {
		return nil, err
	}
	if max > 0 && n > max {
		return nil, chains.Invalid("stellar: %s: %d bytes, at most %d allowed", what, n, max)
	}
	if uint64(n) > uint64(r.left()) {
		return nil, chains.Invalid("stellar: %s: %d bytes, %d left", what, n, r.left())
	}
	b, _ := r.take(int(n), what) // checked above
	pad, err := r.take(int(-n&3), what+" padding")
	if err != nil {
		return nil, err
	}
	for _, p := range pad {
		if p != 0 {
			return nil, chains.Invalid("stellar: %s: padding is not zero", what)
		}
	}
	return b, nil
}

// array reads the length of a variable-length array of at most max elements (0: no maximum
// but the input's size, each element taking four bytes or more).
func (r *reader) array(what string, max uint32) (int, error) {
	n, err := r.u32(what + " length")
	if err != nil {
		return 0, err
	}
	if max > 0 && n > max {
		return 0, chains.Invalid("stellar: %s: %d elements, at most %d allowed", what, n, max)
	}
	if uint64(n)*4 > uint64(r.left()) {
		return 0, chains.Invalid("stellar: %s: %d elements, but %d bytes left", what, n, r.left())
	}
	return int(n), nil
}

// enter marks one more level of a recursive type; leave undoes it.
func (r *reader) enter(what string) error {
	if r.depth >= maxDepth {
		return chains.Invalid("stellar: %s: nested more than %d deep", what, maxDepth)
	}
	r.depth++
	return nil
}

func (r *reader) leave() { r.depth-- }

// each reads an array (see array) and calls f for each element with its index.
func (r *reader) each(what string, max uint32, f func(i int) error) error {
	n, err := r.array(what, max)
	if err != nil {
		return err
	}
	for i := range n {
		if err := f(i); err != nil {
			return err
		}
	}
	return nil
}
