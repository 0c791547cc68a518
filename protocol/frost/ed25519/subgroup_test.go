package ed25519

import (
	"crypto/rand"
	"encoding/hex"
	"testing"

	"filippo.io/edwards25519"
)

// inSubgroupByOrder is the check RFC 9591 describes for DeserializeElement: [ℓ]p = 0, tested
// as [ℓ-1]p = -p. It is the oracle for inPrimeOrderSubgroup.
func inSubgroupByOrder(p *edwards25519.Point) bool {
	minusOne := edwards25519.NewScalar().Subtract(edwards25519.NewScalar(), smallScalar(1))
	q := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(minusOne, p, edwards25519.NewScalar())
	return q.Equal(new(edwards25519.Point).Negate(p)) == 1
}

// torsionPoints returns the 8 points of order dividing 8, as multiples of a point of order 8
// (RFC 8032's test material and "Taming the many EdDSAs" list its encoding).
func torsionPoints(t *testing.T) []*edwards25519.Point {
	t.Helper()
	b, _ := hex.DecodeString("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")
	t8, err := new(edwards25519.Point).SetBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	if new(edwards25519.Point).MultByCofactor(t8).Equal(edwards25519.NewIdentityPoint()) != 1 {
		t.Fatal("the torsion generator is not of order dividing 8")
	}
	out := []*edwards25519.Point{edwards25519.NewIdentityPoint()}
	for i := 1; i < 8; i++ {
		out = append(out, new(edwards25519.Point).Add(out[i-1], t8))
	}
	if four := out[4]; four.Equal(edwards25519.NewIdentityPoint()) == 1 {
		t.Fatal("the torsion generator is not of order 8")
	}
	return out
}

func randomScalar(t testing.TB) *edwards25519.Scalar {
	var b [64]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	s, err := edwards25519.NewScalar().SetUniformBytes(b[:])
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestInPrimeOrderSubgroup compares the halving check with [ℓ]p = 0 on random points of every
// coset of the subgroup (p + T for each of the 8 torsion points T), on the torsion points
// themselves, and on points made in other ways (decoded, sums, projective with Z ≠ 1).
func TestInPrimeOrderSubgroup(t *testing.T) {
	torsion := torsionPoints(t)
	check := func(name string, p *edwards25519.Point, want bool) {
		t.Helper()
		if got := inSubgroupByOrder(p); got != want {
			t.Fatalf("%s: the oracle says %v, want %v", name, got, want)
		}
		if got := inPrimeOrderSubgroup(p); got != want {
			t.Fatalf("%s: inPrimeOrderSubgroup = %v, want %v", name, got, want)
		}
		// The same point decoded (Z = 1), as the decoders see it.
		q, err := new(edwards25519.Point).SetBytes(p.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if got := inPrimeOrderSubgroup(q); got != want {
			t.Fatalf("%s (decoded): inPrimeOrderSubgroup = %v, want %v", name, got, want)
		}
	}
	for i, tp := range torsion {
		check("torsion point", tp, i == 0)
	}
	for n := range 200 {
		p := new(edwards25519.Point).ScalarBaseMult(randomScalar(t))
		for i, tp := range torsion {
			check("subgroup point plus torsion", new(edwards25519.Point).Add(p, tp), i == 0)
		}
		if n < 20 { // small multiples of the generator, and their torsion cosets
			small := new(edwards25519.Point).ScalarBaseMult(smallScalar(uint16(n + 1)))
			for i, tp := range torsion {
				check("small multiple plus torsion", new(edwards25519.Point).Add(small, tp), i == 0)
			}
		}
	}
}

func BenchmarkInPrimeOrderSubgroup(b *testing.B) {
	var s [64]byte
	s[0] = 7
	k, _ := edwards25519.NewScalar().SetUniformBytes(s[:])
	p, _ := new(edwards25519.Point).SetBytes(new(edwards25519.Point).ScalarBaseMult(k).Bytes())
	b.Run("halving", func(b *testing.B) {
		for b.Loop() {
			inPrimeOrderSubgroup(p)
		}
	})
	b.Run("order", func(b *testing.B) {
		for b.Loop() {
			inSubgroupByOrder(p)
		}
	})
}

// TestCanonicalPoint compares canonicalPoint with encoding the point again, on every encoding
// with y at or above the field's order or y = ±1 (the encodings RFC 8032 refuses and
// filippo.io/edwards25519 accepts lie among them), with both sign bits, and on random points.
func TestCanonicalPoint(t *testing.T) {
	var encodings [][]byte
	le := func(v [32]byte, sign bool) []byte {
		b := v[:]
		b = append([]byte(nil), b...)
		if sign {
			b[31] |= 0x80
		}
		return b
	}
	// p + k for k = 0..18 (p = 2^255 - 19), and p - 1 (y = -1), and 1.
	for k := 0; k < 19; k++ {
		var v [32]byte
		for i := range v {
			v[i] = 0xff
		}
		v[31] = 0x7f
		v[0] = byte(0xed + k) // 0xed = p's low byte; no carry for k < 19
		encodings = append(encodings, le(v, false), le(v, true))
	}
	var minusOne, one [32]byte
	for i := range minusOne {
		minusOne[i] = 0xff
	}
	minusOne[31], minusOne[0], one[0] = 0x7f, 0xec, 1
	encodings = append(encodings, le(minusOne, false), le(minusOne, true), le(one, false), le(one, true))
	for range 50 {
		enc := new(edwards25519.Point).ScalarBaseMult(randomScalar(t)).Bytes()
		flipped := append([]byte(nil), enc...)
		flipped[31] ^= 0x80
		encodings = append(encodings, enc, flipped)
	}
	decoded, nonCanonical := 0, 0
	for _, b := range encodings {
		p, err := new(edwards25519.Point).SetBytes(b)
		if err != nil {
			continue
		}
		decoded++
		want := string(p.Bytes()) == string(b)
		if !want {
			nonCanonical++
		}
		if got := canonicalPoint(b, p); got != want {
			t.Fatalf("canonicalPoint(%x) = %v, want %v", b, got, want)
		}
	}
	if decoded < 100 || nonCanonical < 4 {
		t.Fatalf("only %d of the encodings decode, %d of them non-canonical", decoded, nonCanonical)
	}
	t.Logf("%d encodings decode, %d of them non-canonical", decoded, nonCanonical)
}
