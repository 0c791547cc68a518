package ed25519

import (
	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
)

// inPrimeOrderSubgroup reports whether p is in the subgroup of prime order ℓ, the check RFC
// 9591's DeserializeElement requires of FROST(Ed25519, SHA-512). The RFC suggests [ℓ]p = 0
// and points to faster ways ([Pornin22], "Point-Halving and Subgroup Membership in Twisted
// Edwards Curves"); this is one: the curve's group is cyclic of order 8ℓ, so p is in the
// subgroup of order ℓ exactly when it is a multiple of 8, that is when it can be halved three
// times in a row. Each halving runs through two 2-isogenies, costing a few square roots, where
// [ℓ]p costs some 250 point doublings. It runs in variable time: points are public.
//
// The points of order dividing 8 are set apart first (the halving formulas divide by
// coordinates that are zero for some of them); the identity is the only one in the subgroup.
func inPrimeOrderSubgroup(p *edwards25519.Point) bool {
	identity := edwards25519.NewIdentityPoint()
	if p.Equal(identity) == 1 {
		return true
	}
	if new(edwards25519.Point).MultByCofactor(p).Equal(identity) == 1 {
		return false
	}
	u, w := toHalvingCurve(p)
	for range 2 {
		var ok bool
		if u, w, ok = halve(u, w); !ok {
			return false
		}
	}
	return isSquare(u) // a third halving exists iff 4u is a square
}

// The curve of the halvings. With a = -1 and d = -121665/121666 the parameters of
// edwards25519 (a·x² + y² = 1 + d·x²·y²), the map
//
//	u = (a - d)·(1 + y)/(1 - y),  w = 2/x
//
// takes every point other than (0, ±1) to the curve C(A, B): u·w² = u² + A·u + B, with
// A = 2·(a + d) and B = (a - d)² (a scaling of the Montgomery form, with w = v/u). Doubling on
// C(A, B) is the composition of the 2-isogenies (Vélu's, with kernel the 2-torsion point)
//
//	ψ1: C(A, B) → C(A', B'),    (u, w) ↦ (w², -(u - B/u)/w),    A' = -2A, B' = A² - 4B
//	ψ2: C(A', B') → C(4A, 16B), (u, w) ↦ (w², -(u - B'/u)/w)
//
// and the isomorphism C(4A, 16B) → C(A, B), (u, w) ↦ (u/4, w/2). Halving inverts them in turn.
var curveConstants = func() (c struct{ aMinusD, a, b, a1, b1, half field.Element }) {
	a := new(field.Element).Negate(new(field.Element).One())
	d := new(field.Element).Mult32(new(field.Element).One(), 121665)
	d.Negate(d)
	d.Multiply(d, new(field.Element).Invert(new(field.Element).Mult32(new(field.Element).One(), 121666)))
	c.aMinusD.Subtract(a, d)
	c.a.Add(a, d)
	c.a.Add(&c.a, &c.a) // A = 2(a + d)
	c.b.Square(&c.aMinusD)
	c.a1.Add(&c.a, &c.a)
	c.a1.Negate(&c.a1) // A' = -2A
	c.b1.Square(&c.a)
	c.b1.Subtract(&c.b1, new(field.Element).Mult32(&c.b, 4)) // B' = A² - 4B
	c.half.Invert(new(field.Element).Mult32(new(field.Element).One(), 2))
	return c
}()

// toHalvingCurve maps p, which must not have order dividing 8 (so x ≠ 0 and y ≠ 1), to C(A, B).
// In projective coordinates x = X/Z, y = Y/Z, so u = (a - d)·(Z + Y)/(Z - Y) and w = 2Z/X,
// with one inversion of (Z - Y)·X for both.
func toHalvingCurve(p *edwards25519.Point) (u, w *field.Element) {
	x, y, z, _ := p.ExtendedCoordinates()
	zMinusY := new(field.Element).Subtract(z, y)
	inv := new(field.Element).Invert(new(field.Element).Multiply(zMinusY, x))
	u = new(field.Element).Add(z, y)
	u.Multiply(u, &curveConstants.aMinusD)
	u.Multiply(u, x)
	u.Multiply(u, inv)
	w = new(field.Element).Add(z, z)
	w.Multiply(w, zMinusY)
	w.Multiply(w, inv)
	return u, w
}

// halve returns a point (u', w') of C(A, B) whose double is (u, w), or false if there is
// none. It undoes the isomorphism, then ψ2: a preimage (u1, w1) has w1² = 4u, which must be a
// square, and u1 = (4u - A' - w1·2w)/2; then ψ1: a preimage has w'² = u1 and
// u' = (u1 - A - w'·w1)/2. The other preimage of the same point under ψ2 is (B'/u1, -w1), and
// as B' is not a square in this field, exactly one of u1 and B'/u1 is: that one is used.
// Which of the two halves comes out does not matter: they differ by the point of order 2,
// which is a multiple of 4 (in a cyclic group of order 8ℓ), so either both halves are
// multiples of 4 (or of 2) or neither is.
func halve(u, w *field.Element) (*field.Element, *field.Element, bool) {
	c := &curveConstants
	us := new(field.Element).Mult32(u, 4)
	ws := new(field.Element).Add(w, w)
	w1, ok := new(field.Element).SqrtRatio(us, new(field.Element).One())
	if ok != 1 {
		return nil, nil, false
	}
	u1 := new(field.Element).Subtract(us, &c.a1)
	u1.Subtract(u1, new(field.Element).Multiply(w1, ws))
	u1.Multiply(u1, &c.half)
	w2, ok := new(field.Element).SqrtRatio(u1, new(field.Element).One())
	if ok != 1 {
		if _, ok = w2.SqrtRatio(&c.b1, u1); ok != 1 {
			return nil, nil, false // unreachable: B' is not a square
		}
		w1.Negate(w1)
	}
	u2 := new(field.Element).Square(w2) // u1, or B'/u1
	u2.Subtract(u2, &c.a)
	u2.Subtract(u2, new(field.Element).Multiply(w2, w1))
	u2.Multiply(u2, &c.half)
	return u2, w2, true
}

// isSquare reports whether v is a square in the field.
func isSquare(v *field.Element) bool {
	_, ok := new(field.Element).SqrtRatio(v, new(field.Element).One())
	return ok == 1
}
