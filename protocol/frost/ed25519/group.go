package ed25519

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"

	"filippo.io/edwards25519"
	"github.com/bytemare/dkg"
	"github.com/bytemare/ecc"
	"github.com/bytemare/frost"

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

// The bytemare ciphersuite identifiers of FROST(Ed25519, SHA-512); all three name the same
// group.
const (
	group       = ecc.Edwards25519Sha512
	ciphersuite = frost.Ed25519
	dkgSuite    = dkg.Edwards25519Sha512
)

// frostMu serializes every call into github.com/bytemare/frost. That package hashes (H1 to H5:
// binding factors, challenges, and nonce derivation in Commit) with SHA-512 states held in a
// package-level table and shared by every caller (internal/hashing.go), so concurrent calls
// race on them and can produce wrong hashes, including two identical nonces. The runs of this
// package take frostMu after their own lock, never the other way round.
var frostMu sync.Mutex

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
	if !bytes.Equal(p.Bytes(), b) {
		return nil, errors.New("non-canonical point encoding")
	}
	if p.Equal(edwards25519.NewIdentityPoint()) == 1 {
		return nil, errors.New("the identity point")
	}
	return p, nil
}

// orderMinusOne is ℓ-1, ℓ being the order of the prime-order subgroup.
var orderMinusOne = func() *edwards25519.Scalar {
	s, err := edwards25519.NewScalar().SetCanonicalBytes(group.NewScalar().MinusOne().Encode())
	if err != nil {
		panic(err)
	}
	return s
}()

// inPrimeOrderSubgroup reports whether [ℓ]p is the identity, checked as [ℓ-1]p = -p. (ℓ-1 is
// 4 modulo 8, so a torsion component T of p would have to satisfy [5]T = 0 as well as
// [8]T = 0, which only the identity does.)
func inPrimeOrderSubgroup(p *edwards25519.Point) bool {
	q := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(orderMinusOne, p, edwards25519.NewScalar())
	return q.Equal(new(edwards25519.Point).Negate(p)) == 1
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

func scalarOf(x uint16) *ecc.Scalar { return group.NewScalar().SetUInt64(uint64(x)) }

// lagrangeAt returns the Lagrange coefficients λ_i(x) for the distinct, non-zero points xs:
// f(x) = Σ_i λ_i(x)·f(xs[i]) for every polynomial f of degree below len(xs).
func lagrangeAt(xs []uint16, x uint16) []*edwards25519.Scalar {
	fe := func(v uint16) *edwards25519.Scalar {
		var b [64]byte
		b[0], b[1] = byte(v), byte(v>>8)
		s, _ := edwards25519.NewScalar().SetUniformBytes(b[:]) // v < ℓ: no reduction
		return s
	}
	at := fe(x)
	out := make([]*edwards25519.Scalar, len(xs))
	for i, xi := range xs {
		num, den := fe(1), fe(1)
		si := fe(xi)
		for j, xj := range xs {
			if j == i {
				continue
			}
			sj := fe(xj)
			num.Multiply(num, new(edwards25519.Scalar).Subtract(sj, at))
			den.Multiply(den, new(edwards25519.Scalar).Subtract(sj, si))
		}
		out[i] = num.Multiply(num, den.Invert(den))
	}
	return out
}

// checkCluster validates a party list, a threshold and the own party.
func checkCluster(parties []protocol.PartyID, threshold int, self protocol.PartyID) error {
	n := len(parties)
	if n < 2 || n > maxParties {
		return fmt.Errorf("%d parties (want 2 to %d)", n, maxParties)
	}
	if err := checkPartyList(parties); err != nil {
		return err
	}
	if threshold < 2 || threshold > n {
		return fmt.Errorf("threshold %d out of range [2, %d]", threshold, n)
	}
	if !slices.Contains(parties, self) {
		return fmt.Errorf("self (%s) is not one of the parties", self)
	}
	return nil
}

// checkPartyList checks that ps names valid, distinct parties.
func checkPartyList(ps []protocol.PartyID) error {
	seen := make(map[protocol.PartyID]bool, len(ps))
	for _, p := range ps {
		if p == 0 {
			return errors.New("party 0 is not a valid party")
		}
		if seen[p] {
			return fmt.Errorf("%s is listed twice", p)
		}
		seen[p] = true
	}
	return nil
}
