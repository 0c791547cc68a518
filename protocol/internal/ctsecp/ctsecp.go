package ctsecp

import "github.com/btcsuite/btcd/btcec/v2"

// ScalarBaseMult sets out to k·G, where G is the secp256k1 generator, in time and with memory
// accesses independent of k (see the package comment for the argument). The result is the
// same point btcec.ScalarBaseMultNonConst gives, in Jacobian coordinates with a Z that is
// generally not 1 (use ToAffine for affine coordinates); its coordinates are normalized. For
// k = 0 out is (0, 0, 1), the point at infinity exactly as btcec.ScalarBaseMultNonConst
// gives it (btcec treats X = Y = 0 and Z = 0 alike as infinity).
func ScalarBaseMult(k *btcec.ModNScalar, out *btcec.JacobianPoint) {
	t := precomputed()
	kb := k.Bytes()
	var acc, e projective
	acc.setIdentity()
	for i := range windows {
		t.lookup(i, digit(&kb, i), &e)
		add(&acc, &acc, &e)
	}
	toJacobian(&acc, out)
	clear(kb[:])
	acc.wipe()
	e.wipe()
}

// digit returns the i-th 4-bit window of the big-endian scalar kb, counting from the least
// significant. i is public; the shift and the byte index depend on it alone.
func digit(kb *[32]byte, i int) uint8 {
	return kb[31-i/2] >> (windowBits * (i % 2)) & (digits - 1)
}

// toJacobian sets out to p in Jacobian coordinates, where (X, Y, Z) means (X/Z², Y/Z³):
// (X·Z, Y·Z², Z) is the same point as the projective (X:Y:Z), with multiplications only. The
// projective identity (0:1:0) would become (0, 0, 0); its Z is set to 1 without a branch, to
// give (0, 0, 1), what btcec's own multiplication returns for the point at infinity.
func toJacobian(p *projective, out *btcec.JacobianPoint) {
	var z, zz btcec.FieldVal
	z.Set(&p.z).Normalize() // IsZeroBit needs it normalized
	zz.SquareVal(&z)
	out.X.Mul2(&p.x, &z).Normalize()
	out.Y.Mul2(&p.y, &zz).Normalize()
	out.Z.Set(&z).AddInt(uint16(z.IsZeroBit())).Normalize()
	z.Zero()
	zz.Zero()
}
