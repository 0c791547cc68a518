package bls

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"

	blst "github.com/supranational/blst/bindings/go"

	"github.com/mpcsigner/mpcsigner/protocol"
)

const (
	// DST is the domain separation tag of Ethereum's BLS signatures (the proof-of-possession
	// ciphersuite of the IETF BLS draft, minimal-pubkey-size variant).
	DST = "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_"

	// PublicKeySize is the size of a compressed G1 point: a public key or a public share.
	PublicKeySize = blst.BLST_P1_COMPRESS_BYTES
	// SignatureSize is the size of a compressed G2 point: a signature or a partial signature.
	SignatureSize = blst.BLST_P2_COMPRESS_BYTES
	// scalarSize is the size of a big-endian scalar of Fr.
	scalarSize = blst.BLST_SCALAR_BYTES
)

var dst = []byte(DST)

// randomScalar draws a uniformly random non-zero scalar: 48 random bytes reduced modulo r
// (the bias is below 2^-128).
func randomScalar(rng io.Reader) (*blst.Scalar, error) {
	var buf [48]byte
	defer clear(buf[:])
	for range 8 {
		if _, err := io.ReadFull(rng, buf[:]); err != nil {
			return nil, fmt.Errorf("reading randomness: %w", err)
		}
		if s := new(blst.Scalar).FromBEndian(buf[:]); s != nil {
			return s, nil // FromBEndian rejects zero
		}
	}
	return nil, errors.New("random source returns only zero scalars")
}

var defaultRand io.Reader = rand.Reader

// indexScalar returns the evaluation point of party p: the integer p in Fr.
func indexScalar(p protocol.PartyID) *blst.Scalar {
	var buf [scalarSize]byte
	binary.BigEndian.PutUint16(buf[scalarSize-2:], uint16(p))
	return new(blst.Scalar).FromBEndian(buf[:]) // non-nil: p >= 1
}

// add returns a+b; blst reports a zero sum as !ok, but the sum is computed all the same.
func add(a, b *blst.Scalar) *blst.Scalar {
	s, _ := a.Add(b)
	return s
}

// mul returns a·b (see add).
func mul(a, b *blst.Scalar) *blst.Scalar {
	s, _ := a.Mul(b)
	return s
}

// evalPoly returns f(x) = Σ_k coeffs[k]·x^k by Horner's rule.
func evalPoly(coeffs []*blst.Scalar, x *blst.Scalar) *blst.Scalar {
	acc := *coeffs[len(coeffs)-1]
	for k := len(coeffs) - 2; k >= 0; k-- {
		acc = *add(mul(&acc, x), coeffs[k])
	}
	return &acc
}

// evalCommitments returns Σ_k x^k·C_k, the public image of f(x) under Feldman commitments C.
func evalCommitments(cs []*blst.P1Affine, x *blst.Scalar) *blst.P1 {
	var acc blst.P1
	acc.FromAffine(cs[len(cs)-1])
	for k := len(cs) - 2; k >= 0; k-- {
		acc.MultAssign(x).AddAssign(cs[k])
	}
	return &acc
}

// g1Mul returns s·G1.
func g1Mul(s *blst.Scalar) *blst.P1 { return blst.P1Generator().Mult(s) }

// lagrangeAt returns, for every j of ids (which must be distinct), the Lagrange coefficient
// λ_j(at) = Π_{m≠j} (at - m)/(j - m); at = nil means 0, where λ_j = Π_{m≠j} m/(m - j).
func lagrangeAt(ids []protocol.PartyID, at *blst.Scalar) ([]*blst.Scalar, error) {
	if at == nil {
		at = new(blst.Scalar) // zero
	}
	xs := make([]*blst.Scalar, len(ids))
	for i, p := range ids {
		xs[i] = indexScalar(p)
	}
	lambdas := make([]*blst.Scalar, len(ids))
	for j := range ids {
		num, den := indexScalar(1), indexScalar(1)
		for m := range ids {
			if m == j {
				continue
			}
			diff, ok := xs[j].Sub(xs[m])
			if !ok {
				return nil, fmt.Errorf("%s appears twice", ids[j])
			}
			atDiff, _ := at.Sub(xs[m])
			num, den = mul(num, atDiff), mul(den, diff)
		}
		lambdas[j] = mul(num, den.Inverse())
	}
	return lambdas, nil
}

// hashToG2 returns H(m), the message hashed to G2 with the ciphersuite's DST.
func hashToG2(msg []byte) *blst.P2Affine { return blst.HashToG2(msg, dst).ToAffine() }

// decodeG1 decodes a compressed G1 point that must be in the subgroup and not the identity.
func decodeG1(b []byte) (*blst.P1Affine, error) {
	if len(b) != PublicKeySize {
		return nil, fmt.Errorf("G1 point of %d bytes (want %d)", len(b), PublicKeySize)
	}
	p := new(blst.P1Affine).Uncompress(b)
	if p == nil || !p.KeyValidate() {
		return nil, errors.New("not a valid G1 point (bad encoding, not in the subgroup, or the identity)")
	}
	return p, nil
}

// decodeG2 decodes a compressed G2 point that must be in the subgroup and not the identity.
func decodeG2(b []byte) (*blst.P2Affine, error) {
	if len(b) != SignatureSize {
		return nil, fmt.Errorf("G2 point of %d bytes (want %d)", len(b), SignatureSize)
	}
	p := new(blst.P2Affine).Uncompress(b)
	if p == nil || !p.SigValidate(true) {
		return nil, errors.New("not a valid G2 point (bad encoding, not in the subgroup, or the identity)")
	}
	return p, nil
}

// decodeScalar decodes a big-endian scalar that must be non-zero and below r. Its error never
// quotes the bytes.
func decodeScalar(b []byte) (*blst.Scalar, error) {
	if len(b) != scalarSize {
		return nil, fmt.Errorf("scalar of %d bytes (want %d)", len(b), scalarSize)
	}
	s := new(blst.Scalar).Deserialize(b)
	if s == nil {
		return nil, errors.New("scalar is zero or not below the group order")
	}
	return s, nil
}

// partialValid reports whether e(pk, h) == e(G1, sig), i.e. sig = x·h for pk = x·G1. Both
// points must already be subgroup-checked.
func partialValid(pk *blst.P1Affine, h, sig *blst.P2Affine) bool {
	left := blst.Fp12MillerLoop(h, pk)
	right := blst.Fp12MillerLoop(sig, blst.P1Generator().ToAffine())
	return blst.Fp12FinalVerify(left, right)
}

// verifySignature is the final check of a combined signature: a full BLS verification with
// blst (subgroup checks on both points, hash to G2, pairing).
func verifySignature(pk *blst.P1Affine, msg []byte, sig *blst.P2Affine) bool {
	return sig.Verify(true, pk, true, msg, dst)
}

// combine returns Σ_j λ_j·partials[j], the Lagrange interpolation at 0 in G2 of the partial
// signatures of ids.
func combine(ids []protocol.PartyID, partials []*blst.P2Affine) (*blst.P2Affine, error) {
	if len(ids) == 0 || len(ids) != len(partials) {
		return nil, errors.New("need one partial per signer")
	}
	lambdas, err := lagrangeAt(ids, nil)
	if err != nil {
		return nil, err
	}
	var acc blst.P2 // the zero value is the point at infinity
	for j, sig := range partials {
		var term blst.P2
		term.FromAffine(sig)
		// Many coefficients are small integers or their negatives (for signers {1,2}: 2 and
		// -1): multiplying by a 64-bit scalar costs a quarter of a full one.
		if small, bits, negative, ok := smallScalar(lambdas[j]); ok {
			term.MultAssign(small, bits)
			if negative {
				acc.SubAssign(&term)
				continue
			}
		} else {
			term.MultAssign(lambdas[j])
		}
		acc.AddAssign(&term)
	}
	return acc.ToAffine(), nil
}

// groupOrder is r, the order of BLS12-381's G1 and G2.
var groupOrder, _ = new(big.Int).SetString("73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001", 16)

// smallScalar reports whether s or -s (mod r) fits in 64 bits, and returns that value as a
// little-endian scalar (blst's byte order) with its bit length, and whether it is -s.
func smallScalar(s *blst.Scalar) (le []byte, bits int, negative, ok bool) {
	v := new(big.Int).SetBytes(s.Serialize())
	if v.BitLen() > 64 {
		v.Sub(groupOrder, v)
		negative = true
	}
	if v.BitLen() > 64 || v.Sign() == 0 {
		return nil, 0, false, false
	}
	le = make([]byte, 8)
	binary.LittleEndian.PutUint64(le, v.Uint64())
	return le, v.BitLen(), negative, true
}

// interpolateG1 returns Σ_j λ_j(at)·points[j], the Lagrange interpolation at at (nil: 0) in
// G1 of the points of ids.
func interpolateG1(ids []protocol.PartyID, points []*blst.P1Affine, at *blst.Scalar) (*blst.P1Affine, error) {
	if len(ids) == 0 || len(ids) != len(points) {
		return nil, errors.New("need one point per party")
	}
	lambdas, err := lagrangeAt(ids, at)
	if err != nil {
		return nil, err
	}
	var acc blst.P1
	for j, p := range points {
		var term blst.P1
		term.FromAffine(p)
		term.MultAssign(lambdas[j])
		if j == 0 {
			acc = term
			continue
		}
		acc.AddAssign(&term)
	}
	return acc.ToAffine(), nil
}
