package taproot

import (
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/internal/ctsecp"
)

// Sizes of the encodings this package uses.
const (
	// PublicKeySize is the size of a BIP340 x-only public key.
	PublicKeySize = 32
	// SignatureSize is the size of a BIP340 signature, R.x || s.
	SignatureSize = 64

	scalarSize = 32 // a scalar mod n, big-endian
	pointSize  = 33 // a compressed SEC1 point, 0x02 or 0x03 || x
)

// This file holds the secp256k1 arithmetic the package does itself, with btcec (not with the
// wrapped library): the BIP341 tweak, the consistency checks of a share, and the BIP340
// verification of every signature before it is reported.

// decodeScalar parses 32 big-endian bytes as a non-zero scalar below the group order. Its
// errors never quote the bytes, which may be secret.
func decodeScalar(b []byte) (*btcec.ModNScalar, error) {
	if len(b) != scalarSize {
		return nil, fmt.Errorf("scalar of %d bytes (want %d)", len(b), scalarSize)
	}
	s := new(btcec.ModNScalar)
	if overflow := s.SetByteSlice(b); overflow {
		s.Zero()
		return nil, errors.New("scalar is not below the group order")
	}
	if s.IsZero() {
		return nil, errors.New("scalar is zero")
	}
	return s, nil
}

// checkScalar reports whether b encodes a scalar decodeScalar accepts.
func checkScalar(b []byte) error {
	s, err := decodeScalar(b)
	if s != nil {
		s.Zero()
	}
	return err
}

// decodePoint parses a 33-byte compressed point: prefix 0x02 or 0x03, x below the field
// prime, on the curve. (The point at infinity has no such encoding.)
func decodePoint(b []byte) (*btcec.JacobianPoint, error) {
	if len(b) != pointSize {
		return nil, fmt.Errorf("point of %d bytes (want %d)", len(b), pointSize)
	}
	if b[0] != 0x02 && b[0] != 0x03 {
		return nil, fmt.Errorf("point with prefix 0x%02x (want 0x02 or 0x03)", b[0])
	}
	pk, err := btcec.ParsePubKey(b)
	if err != nil {
		return nil, errors.New("not the compressed encoding of a point on secp256k1")
	}
	p := new(btcec.JacobianPoint)
	pk.AsJacobian(p)
	return p, nil
}

// liftX returns the point with x-coordinate x and an even y (BIP340's lift_x).
func liftX(x []byte) (*btcec.JacobianPoint, error) {
	if len(x) != PublicKeySize {
		return nil, fmt.Errorf("x-only key of %d bytes (want %d)", len(x), PublicKeySize)
	}
	pk, err := schnorr.ParsePubKey(x)
	if err != nil {
		return nil, errors.New("not the x-coordinate of a point on secp256k1")
	}
	p := new(btcec.JacobianPoint)
	pk.AsJacobian(p)
	return p, nil
}

func isInfinity(p *btcec.JacobianPoint) bool {
	return (p.X.IsZero() && p.Y.IsZero()) || p.Z.IsZero()
}

// affine returns p in affine coordinates (p itself is left as it is). A point that is affine
// already (Z = 1, as decoded points are) is copied without the field inversion, which costs
// about a tenth of a scalar multiplication.
func affine(p *btcec.JacobianPoint) btcec.JacobianPoint {
	var a btcec.JacobianPoint
	a.Set(p)
	if !a.Z.IsOne() {
		a.ToAffine()
	}
	return a
}

// encodePoint returns the compressed encoding of p, which must not be the point at infinity.
func encodePoint(p *btcec.JacobianPoint) []byte {
	a := affine(p)
	return btcec.NewPublicKey(&a.X, &a.Y).SerializeCompressed()
}

// xOnly returns the 32-byte x-coordinate of p.
func xOnly(p *btcec.JacobianPoint) []byte {
	a := affine(p)
	b := a.X.Bytes()
	return b[:]
}

func hasEvenY(p *btcec.JacobianPoint) bool {
	a := affine(p)
	return !a.Y.IsOdd()
}

func pointsEqual(p, q *btcec.JacobianPoint) bool {
	if isInfinity(p) || isInfinity(q) {
		return isInfinity(p) && isInfinity(q)
	}
	a, b := affine(p), affine(q)
	return a.X.Equals(&b.X) && a.Y.Equals(&b.Y)
}

// negatePoint returns -p, in the coordinates p has ((X, -Y, Z) is -(X, Y, Z) in Jacobian
// coordinates too).
func negatePoint(p *btcec.JacobianPoint) *btcec.JacobianPoint {
	n := new(btcec.JacobianPoint)
	n.Set(p)
	n.Y.Negate(1).Normalize()
	return n
}

func addPoints(p, q *btcec.JacobianPoint) *btcec.JacobianPoint {
	r := new(btcec.JacobianPoint)
	btcec.AddNonConst(p, q, r)
	return r
}

// mulBase returns k·G with btcec's variable-time multiplication, whose timing depends on k:
// it must only ever see public scalars (the BIP341 tweak, a signature share being checked).
// Secret scalars go to mulBaseSecret.
func mulBase(k *btcec.ModNScalar) *btcec.JacobianPoint {
	r := new(btcec.JacobianPoint)
	btcec.ScalarBaseMultNonConst(k, r)
	return r
}

// mulBaseSecret returns k·G in constant time (package ctsecp), for secret scalars: nonces,
// shares, the coefficients of a resharing polynomial. It costs about three times mulBase.
func mulBaseSecret(k *btcec.ModNScalar) *btcec.JacobianPoint {
	r := new(btcec.JacobianPoint)
	ctsecp.ScalarBaseMult(k, r)
	return r
}

// mulPoint returns k·P in variable time: k and P must be public (binding factors, Lagrange
// coefficients, commitments).
func mulPoint(k *btcec.ModNScalar, p *btcec.JacobianPoint) *btcec.JacobianPoint {
	r := new(btcec.JacobianPoint)
	btcec.ScalarMultNonConst(k, p, r)
	return r
}

// indexScalar is the Shamir x-coordinate of party p: the party number itself (the wrapped
// library is given party identifiers whose value as an integer is that number; see libID).
func indexScalar(p protocol.PartyID) *btcec.ModNScalar {
	return new(btcec.ModNScalar).SetInt(uint32(p))
}

// lagrangeAt returns the Lagrange coefficients at x (at 0 when x is nil) for the distinct,
// non-zero indices of parties, in their order.
func lagrangeAt(parties []protocol.PartyID, x *btcec.ModNScalar) ([]*btcec.ModNScalar, error) {
	if x == nil {
		x = new(btcec.ModNScalar)
	}
	out := make([]*btcec.ModNScalar, len(parties))
	for i, pi := range parties {
		num := new(btcec.ModNScalar).SetInt(1)
		den := new(btcec.ModNScalar).SetInt(1)
		xi := indexScalar(pi)
		for j, pj := range parties {
			if i == j {
				continue
			}
			xj := indexScalar(pj)
			// num *= (x - xj), den *= (xi - xj)
			num.Mul(new(btcec.ModNScalar).NegateVal(xj).Add(x))
			d := new(btcec.ModNScalar).NegateVal(xj).Add(xi)
			if d.IsZero() {
				return nil, fmt.Errorf("%s is listed twice", pi)
			}
			den.Mul(d)
		}
		out[i] = num.Mul(den.InverseNonConst())
	}
	return out, nil
}

// interpolate evaluates at x (0 when nil) the polynomial "in the exponent" through the
// points (index of parties[i], points[i]).
func interpolate(parties []protocol.PartyID, points []*btcec.JacobianPoint, x *btcec.ModNScalar) (*btcec.JacobianPoint, error) {
	lambdas, err := lagrangeAt(parties, x)
	if err != nil {
		return nil, err
	}
	acc := new(btcec.JacobianPoint)
	for i, p := range points {
		acc = addPoints(acc, mulPoint(lambdas[i], p))
	}
	return acc, nil
}

// taggedHash is BIP340's tagged hash: SHA256(SHA256(tag) || SHA256(tag) || msg...).
func taggedHash(tag string, msgs ...[]byte) []byte {
	t := sha256.Sum256([]byte(tag))
	h := sha256.New()
	h.Write(t[:])
	h.Write(t[:])
	for _, m := range msgs {
		h.Write(m)
	}
	return h.Sum(nil)
}

// tapTweak returns BIP341's key-path tweak for an internal key with an empty script tree
// (BIP86): t = int(hash_TapTweak(bytes(P))), and the output key Q = P + t·G, where P is
// lift_x(internalKey).
func tapTweak(internalKey []byte) (*btcec.ModNScalar, *btcec.JacobianPoint, error) {
	p, err := liftX(internalKey)
	if err != nil {
		return nil, nil, fmt.Errorf("internal key: %w", err)
	}
	t := new(btcec.ModNScalar)
	if overflow := t.SetByteSlice(taggedHash("TapTweak", internalKey)); overflow {
		return nil, nil, errors.New("the TapTweak hash of the internal key is not below the group order") // probability ~2^-128
	}
	q := addPoints(p, mulBase(t))
	if isInfinity(q) {
		return nil, nil, errors.New("the tweaked key is the point at infinity")
	}
	return t, q, nil
}

// outputKey returns the 32-byte x-only BIP86 output key of an x-only internal key.
func outputKey(internalKey []byte) ([]byte, error) {
	_, q, err := tapTweak(internalKey)
	if err != nil {
		return nil, err
	}
	return xOnly(q), nil
}

// verifyBIP340 checks a BIP340 signature over a 32-byte message under an x-only public key,
// with btcec's verifier. It also refuses an s that is not below the group order:
// schnorr.ParseSignature reduces s modulo n instead of rejecting it, as BIP340 requires.
func verifyBIP340(publicKey, msg, sig []byte) error {
	pk, err := schnorr.ParsePubKey(publicKey)
	if err != nil {
		return errors.New("public key is not the x-coordinate of a point on secp256k1")
	}
	return verifyBIP340Key(pk, msg, sig)
}

// verifyBIP340Key is verifyBIP340 under a key parsed already (by schnorr.ParsePubKey).
func verifyBIP340Key(pk *btcec.PublicKey, msg, sig []byte) error {
	if len(sig) != SignatureSize {
		return fmt.Errorf("signature of %d bytes (want %d)", len(sig), SignatureSize)
	}
	var s btcec.ModNScalar
	if overflow := s.SetByteSlice(sig[32:]); overflow {
		return errors.New("signature s is not below the group order")
	}
	parsed, err := schnorr.ParseSignature(sig)
	if err != nil {
		return fmt.Errorf("malformed signature: %w", err)
	}
	if !parsed.Verify(msg, pk) {
		return errors.New("signature does not verify")
	}
	return nil
}
