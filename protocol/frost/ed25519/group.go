package ed25519

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
	"github.com/bytemare/dkg"
	"github.com/bytemare/ecc"

	"github.com/mpcsigner/mpcsigner/protocol"
)

const (
	// PublicKeySize is the size of an Ed25519 public key (RFC 8032 encoding).
	PublicKeySize = 32
	// SignatureSize is the size of an Ed25519 signature, R || S.
	SignatureSize = 64

	elementSize = 32 // an encoded edwards25519 point
	scalarSize  = 32 // a little-endian scalar below the group order

	// maxParties bounds n (and so t) for keygen runs and shares.
	maxParties = 256
)

// The bytemare identifiers of the group of FROST(Ed25519, SHA-512), for keygen (bytemare/dkg)
// and the share's bytemare/ecc form; both name the same group.
const (
	group    = ecc.Edwards25519Sha512
	dkgSuite = dkg.Edwards25519Sha512
)

// decodeElement decodes a point as RFC 9591 requires of DeserializeElement for this
// ciphersuite: the canonical RFC 8032 encoding of a point of the prime-order subgroup, not
// the identity. Its errors never quote the input. (The checks run in variable time on
// filippo.io/edwards25519, the curve implementation under bytemare/ecc: points are public.)
func decodeElement(b []byte) (*ecc.Element, error) {
	if _, err := decodePoint(b); err != nil {
		return nil, err
	}
	e := group.NewElement()
	if err := e.Decode(b); err != nil {
		return nil, errors.New("not the encoding of a point") // unreachable: decodePoint accepted it
	}
	return e, nil
}

// point is a point as signing uses it: decoded, with the encoding it was decoded from (which
// is its serialization, as only canonical encodings decode).
type point struct {
	p   *edwards25519.Point
	enc [elementSize]byte
}

// decodeSignPoint is decodeElement for signing, which computes on filippo.io/edwards25519.
func decodeSignPoint(b []byte) (*point, error) {
	p, err := decodePoint(b)
	if err != nil {
		return nil, err
	}
	q := &point{p: p}
	copy(q.enc[:], b)
	return q, nil
}

// Encode returns the point's serialization.
func (q *point) Encode() []byte { return q.enc[:] }

// Equal reports whether q is the point e serializes.
func (q *point) Equal(e serialized) bool { return bytes.Equal(q.enc[:], e.Encode()) }

// decodePoint is decodeElement's check, returning the point in filippo.io/edwards25519's form.
func decodePoint(b []byte) (*edwards25519.Point, error) {
	p, err := decodeCurvePoint(b)
	if err != nil {
		return nil, err
	}
	if !inPrimeOrderSubgroup(p) {
		return nil, errors.New("point outside the prime-order subgroup")
	}
	return p, nil
}

// decodeCurvePoint is decodePoint without the subgroup check (the costly part), for callers
// that establish subgroup membership otherwise.
func decodeCurvePoint(b []byte) (*edwards25519.Point, error) {
	if len(b) != elementSize {
		return nil, fmt.Errorf("point of %d bytes (want %d)", len(b), elementSize)
	}
	p, err := new(edwards25519.Point).SetBytes(b)
	if err != nil {
		return nil, errors.New("not the encoding of a point")
	}
	if !canonicalPoint(b, p) {
		return nil, errors.New("non-canonical point encoding")
	}
	if p.Equal(edwards25519.NewIdentityPoint()) == 1 {
		return nil, errors.New("the identity point")
	}
	return p, nil
}

// canonicalPoint reports whether b, which decodes to p, is p's RFC 8032 encoding. Of the
// encodings RFC 8032 (section 5.1.3) refuses, filippo.io/edwards25519 accepts two kinds: a y
// not below the field's order, and the sign bit set for x = 0. Checking for both is cheaper
// than encoding p again, which costs a field inversion.
func canonicalPoint(b []byte, p *edwards25519.Point) bool {
	var y [elementSize]byte
	copy(y[:], b)
	y[elementSize-1] &= 0x7f
	fe, err := new(field.Element).SetBytes(y[:]) // reduces y modulo the field's order
	if err != nil || !bytes.Equal(fe.Bytes(), y[:]) {
		return false
	}
	x, _, _, _ := p.ExtendedCoordinates()
	return b[elementSize-1]&0x80 == 0 || x.Equal(new(field.Element).Zero()) == 0
}

// decodeScalar decodes a canonical little-endian scalar below the group order; nonZero also
// refuses 0. Its errors never quote the input.
func decodeScalar(b []byte, nonZero bool) (*ecc.Scalar, error) {
	if len(b) != scalarSize {
		return nil, fmt.Errorf("scalar of %d bytes (want %d)", len(b), scalarSize)
	}
	s := group.NewScalar()
	if err := s.Decode(b); err != nil {
		return nil, errors.New("scalar not below the group order")
	}
	if nonZero && s.IsZero() {
		return nil, errors.New("zero scalar")
	}
	return s, nil
}

// identifier returns the FROST identifier of party p among parties (ascending): its 1-based
// position, so that identifiers run from 1 to n as bytemare requires. When the parties are
// 1..n, as in every keygen the enclave runs, the identifier is the party number.
func identifier(parties []protocol.PartyID, p protocol.PartyID) uint16 {
	i, ok := slices.BinarySearch(parties, p)
	if !ok {
		panic(fmt.Sprintf("ed25519: %s is not among %v", p, parties)) // callers check membership first
	}
	return uint16(i + 1)
}

// lagrangeAt returns the Lagrange coefficients λ_i(x) for the distinct, non-zero points xs:
// f(x) = Σ_i λ_i(x)·f(xs[i]) for every polynomial f of degree below len(xs).
func lagrangeAt(xs []uint16, x uint16) []*edwards25519.Scalar {
	at := smallScalar(x)
	out := make([]*edwards25519.Scalar, len(xs))
	for i, xi := range xs {
		num, den := smallScalar(1), smallScalar(1)
		si := smallScalar(xi)
		for j, xj := range xs {
			if j == i {
				continue
			}
			sj := smallScalar(xj)
			num.Multiply(num, new(edwards25519.Scalar).Subtract(sj, at))
			den.Multiply(den, new(edwards25519.Scalar).Subtract(sj, si))
		}
		out[i] = num.Multiply(num, den.Invert(den))
	}
	return out
}
