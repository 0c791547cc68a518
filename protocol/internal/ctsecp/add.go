package ctsecp

import "github.com/btcsuite/btcd/btcec/v2"

// projective is a point in homogeneous projective coordinates: (X:Y:Z) is the affine point
// (X/Z, Y/Z) when Z ≠ 0, and (0:1:0) is the identity. Its coordinates have a FieldVal
// magnitude of at most 3 (add's bound) and are not necessarily normalized.
type projective struct {
	x, y, z btcec.FieldVal
}

// setIdentity sets p to (0:1:0).
func (p *projective) setIdentity() {
	p.x.Zero()
	p.y.SetInt(1)
	p.z.Zero()
}

// wipe zeroes p, which may have been derived from a secret.
func (p *projective) wipe() {
	p.x.Zero()
	p.y.Zero()
	p.z.Zero()
}

// b3 is 3·b for secp256k1 (y² = x³ + 7), the constant of the complete addition formula.
const b3 = 21

// add sets r = p + q by the complete addition formula for a = 0 (Renes–Costello–Batina 2016,
// algorithm 7), rearranged into its closed form:
//
//	X3 = (X1Y2 + X2Y1)(Y1Y2 − 3bZ1Z2) − 3b(Y1Z2 + Y2Z1)(X1Z2 + X2Z1)
//	Y3 = (Y1Y2 + 3bZ1Z2)(Y1Y2 − 3bZ1Z2) + 9bX1X2(X1Z2 + X2Z1)
//	Z3 = (Y1Z2 + Y2Z1)(Y1Y2 + 3bZ1Z2) + 3X1X2(X1Y2 + X2Y1)
//
// It has no special case: doubling, opposite points and the identity on either side all come
// out of the same arithmetic. Every coordinate of p and q must have magnitude at most 3, and
// every coordinate of r (which may be p or q) comes out with magnitude at most 3, so sums
// can be fed back without normalizing. The trailing comments give each value's magnitude,
// which decred does not check: Mul needs both inputs at most 8, MulInt(21) an input at most
// 3 (64/21), Negate(m) the input's magnitude m.
func add(r, p, q *projective) {
	var xx, yy, zz, xy, yz, xz, u, v btcec.FieldVal
	xx.Mul2(&p.x, &q.x)                             // X1X2, 1
	yy.Mul2(&p.y, &q.y)                             // Y1Y2, 1
	zz.Mul2(&p.z, &q.z)                             // Z1Z2, 1
	crossSum(&xy, &p.x, &p.y, &q.x, &q.y, &xx, &yy) // X1Y2 + X2Y1, 4
	crossSum(&yz, &p.y, &p.z, &q.y, &q.z, &yy, &zz) // Y1Z2 + Y2Z1, 4
	crossSum(&xz, &p.x, &p.z, &q.x, &q.z, &xx, &zz) // X1Z2 + X2Z1, 4

	xx.MulInt(3)              // 3X1X2, 3
	zz.MulInt(b3).Normalize() // 3bZ1Z2, 1
	xz.Normalize().MulInt(b3) // 3b(X1Z2 + X2Z1), 21
	xz.Normalize()            // 1
	var plus, minus btcec.FieldVal
	plus.Add2(&yy, &zz)              // Y1Y2 + 3bZ1Z2, 2
	minus.NegateVal(&zz, 1).Add(&yy) // Y1Y2 − 3bZ1Z2, 3

	u.Mul2(&xy, &minus)        // 1
	v.Mul2(&yz, &xz).Negate(1) // 2
	r.x.Add2(&u, &v)           // X3, 3
	u.Mul2(&plus, &minus)      // 1
	v.Mul2(&xx, &xz)           // 1
	r.y.Add2(&u, &v)           // Y3, 2
	u.Mul2(&yz, &plus)         // 1
	v.Mul2(&xx, &xy)           // 1
	r.z.Add2(&u, &v)           // Z3, 2
}

// crossSum sets out = a1·b2 + b1·a2 from the products a1·a2 and b1·b2 already computed, with
// one multiplication instead of two: (a1 + b1)(a2 + b2) − a1a2 − b1b2. a1, b1, a2, b2 must
// have magnitude at most 3 (their sums at most 6, within Mul's 8), the products at most 1
// (as Mul leaves them); out has magnitude 4.
func crossSum(out, a1, b1, a2, b2, a1a2, b1b2 *btcec.FieldVal) {
	var s1, s2, both btcec.FieldVal
	s1.Add2(a1, b1)                 // ≤ 6
	s2.Add2(a2, b2)                 // ≤ 6
	out.Mul2(&s1, &s2)              // 1
	both.Add2(a1a2, b1b2).Negate(2) // 3
	out.Add(&both)                  // 4
}
