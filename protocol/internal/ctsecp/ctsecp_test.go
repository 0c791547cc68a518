package ctsecp

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
)

// The reference for every test is btcec's (decred's) variable-time ScalarBaseMultNonConst,
// code this package shares nothing with but the field type.

// groupOrder is n, big-endian.
const groupOrder = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"

func scalarHex(t testing.TB, h string) *btcec.ModNScalar {
	t.Helper()
	b, err := hex.DecodeString(h)
	if err != nil || len(b) > 32 {
		t.Fatalf("bad test scalar %q", h)
	}
	s := new(btcec.ModNScalar)
	if s.SetByteSlice(b) {
		t.Fatalf("test scalar %q is not below n", h)
	}
	return s
}

// nMinus returns n − v.
func nMinus(v uint32) *btcec.ModNScalar {
	return new(btcec.ModNScalar).NegateVal(new(btcec.ModNScalar).SetInt(v))
}

// affineBytes returns the affine x || y of p, or nil for the point at infinity.
func affineBytes(p *btcec.JacobianPoint) []byte {
	var a btcec.JacobianPoint
	a.Set(p)
	if (a.X.IsZero() && a.Y.IsZero()) || a.Z.IsZero() {
		return nil
	}
	a.ToAffine()
	out := make([]byte, 64)
	a.X.PutBytesUnchecked(out[:32])
	a.Y.PutBytesUnchecked(out[32:])
	return out
}

// checkAgainstBtcec fails t unless ScalarBaseMult and btcec agree on k·G.
func checkAgainstBtcec(t testing.TB, k *btcec.ModNScalar) {
	t.Helper()
	var got, want btcec.JacobianPoint
	ScalarBaseMult(k, &got)
	btcec.ScalarBaseMultNonConst(k, &want)
	g, w := affineBytes(&got), affineBytes(&want)
	if !bytes.Equal(g, w) {
		t.Fatalf("k = %x: ScalarBaseMult gives %x, btcec gives %x", k.Bytes(), g, w)
	}
}

func TestScalarBaseMultEdgeScalars(t *testing.T) {
	cases := []struct {
		name string
		k    *btcec.ModNScalar
	}{
		{"1", new(btcec.ModNScalar).SetInt(1)},
		{"2", new(btcec.ModNScalar).SetInt(2)},
		{"15 (one full digit)", new(btcec.ModNScalar).SetInt(15)},
		{"16 (carry into the second window)", new(btcec.ModNScalar).SetInt(16)},
		{"17", new(btcec.ModNScalar).SetInt(17)},
		{"255", new(btcec.ModNScalar).SetInt(255)},
		{"256", new(btcec.ModNScalar).SetInt(256)},
		{"n-1 (-G)", nMinus(1)},
		{"n-2", nMinus(2)},
		{"n-15", nMinus(15)},
		{"2^255", scalarHex(t, "8000000000000000000000000000000000000000000000000000000000000000")},
		{"2^255-1", scalarHex(t, "7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff")},
		{"2^255+1", scalarHex(t, "8000000000000000000000000000000000000000000000000000000000000001")},
		{"2^252 (top window alone)", scalarHex(t, "1000000000000000000000000000000000000000000000000000000000000000")},
		{"every nibble F below n", scalarHex(t, "00ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff")},
		{"most nibbles F", scalarHex(t, "fffffffffffffffffffffffffffffffe00ffffffffffffffffffffffffffffff")},
		{"alternating 0F", scalarHex(t, "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f")},
		{"alternating F0", scalarHex(t, "f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0")},
		{"alternating 5A", scalarHex(t, "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a")},
		{"one bit per window", scalarHex(t, "1111111111111111111111111111111111111111111111111111111111111111")},
		{"zero windows between", scalarHex(t, "f00000000000000000000000000000000000000000000000000000000000000f")},
		{"(n-1)/2", scalarHex(t, "7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0")},
		{"(n+1)/2", scalarHex(t, "7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a1")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkAgainstBtcec(t, c.k) })
	}
}

// TestScalarBaseMultZero pins what k = 0 gives: the point at infinity as btcec gives it,
// (0, 0, 1), coordinate for coordinate.
func TestScalarBaseMultZero(t *testing.T) {
	var got, want btcec.JacobianPoint
	got.X.SetInt(5) // out is overwritten, not added to
	ScalarBaseMult(new(btcec.ModNScalar), &got)
	btcec.ScalarBaseMultNonConst(new(btcec.ModNScalar), &want)
	if !got.X.Equals(&want.X) || !got.Y.Equals(&want.Y) || !got.Z.Equals(&want.Z) {
		t.Fatalf("0·G = (%v, %v, %v), btcec gives (%v, %v, %v)", got.X, got.Y, got.Z, want.X, want.Y, want.Z)
	}
	if !got.X.IsZero() || !got.Y.IsZero() || !got.Z.IsOne() {
		t.Fatalf("0·G = (%v, %v, %v), want (0, 0, 1)", got.X, got.Y, got.Z)
	}
}

// TestScalarBaseMultNegation checks (n−1)·G + G = O, adding with btcec: n itself reduces to
// 0 in ModNScalar and cannot be passed.
func TestScalarBaseMultNegation(t *testing.T) {
	var minusG, g, sum btcec.JacobianPoint
	ScalarBaseMult(nMinus(1), &minusG)
	ScalarBaseMult(new(btcec.ModNScalar).SetInt(1), &g)
	btcec.AddNonConst(&minusG, &g, &sum)
	if affineBytes(&sum) != nil {
		t.Fatalf("(n-1)·G + G = %x, want the point at infinity", affineBytes(&sum))
	}
}

func TestScalarBaseMultRandom(t *testing.T) {
	count := 10000
	if testing.Short() {
		count = 500
	}
	var buf [32]byte
	for range count {
		if _, err := rand.Read(buf[:]); err != nil {
			t.Fatal(err)
		}
		k := new(btcec.ModNScalar)
		k.SetBytes(&buf) // reduced mod n: every scalar is fair game
		checkAgainstBtcec(t, k)
	}
}

// TestScalarBaseMultReusedOutput checks that out may hold anything before the call, including a
// point from an earlier call.
func TestScalarBaseMultReusedOutput(t *testing.T) {
	var out btcec.JacobianPoint
	ScalarBaseMult(new(btcec.ModNScalar).SetInt(7), &out)
	ScalarBaseMult(new(btcec.ModNScalar).SetInt(9), &out)
	var want btcec.JacobianPoint
	btcec.ScalarBaseMultNonConst(new(btcec.ModNScalar).SetInt(9), &want)
	if !bytes.Equal(affineBytes(&out), affineBytes(&want)) {
		t.Fatal("a second call into the same output gives the wrong point")
	}
}

// TestAddComplete exercises the addition formula on the cases a non-complete formula gets
// wrong: doubling, P + (−P), and the identity on either side and on both.
func TestAddComplete(t *testing.T) {
	p := projectiveOf(t, 12345)
	var mp btcec.JacobianPoint
	btcec.ScalarBaseMultNonConst(nMinus(12345), &mp)
	minusP := fromJacobian(&mp)
	var id projective
	id.setIdentity()

	cases := []struct {
		name string
		a, b projective
		want uint32 // multiple of G; 0 for the identity
	}{
		{"P + P", p, p, 2 * 12345},
		{"P + (-P)", p, minusP, 0},
		{"O + P", id, p, 12345},
		{"P + O", p, id, 12345},
		{"O + O", id, id, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var r projective
			add(&r, &c.a, &c.b)
			var got, want btcec.JacobianPoint
			toJacobian(&r, &got)
			btcec.ScalarBaseMultNonConst(new(btcec.ModNScalar).SetInt(c.want), &want)
			if !bytes.Equal(affineBytes(&got), affineBytes(&want)) {
				t.Fatalf("got %x, want %x", affineBytes(&got), affineBytes(&want))
			}
		})
	}
}

// TestAddScaledInputs checks add on inputs whose Z is not 1 (the accumulator's case), by
// scaling an affine point's coordinates by a factor λ, which must not change the point.
func TestAddScaledInputs(t *testing.T) {
	p, q := projectiveOf(t, 1000), projectiveOf(t, 2000)
	var lambda btcec.FieldVal
	lambda.SetInt(0xbeef)
	for _, c := range []*btcec.FieldVal{&p.x, &p.y, &p.z} {
		c.Mul(&lambda).Normalize()
	}
	var r projective
	add(&r, &p, &q)
	var got, want btcec.JacobianPoint
	toJacobian(&r, &got)
	btcec.ScalarBaseMultNonConst(new(btcec.ModNScalar).SetInt(3000), &want)
	if !bytes.Equal(affineBytes(&got), affineBytes(&want)) {
		t.Fatalf("got %x, want %x", affineBytes(&got), affineBytes(&want))
	}
}

func projectiveOf(t *testing.T, k uint32) projective {
	t.Helper()
	var j btcec.JacobianPoint
	btcec.ScalarBaseMultNonConst(new(btcec.ModNScalar).SetInt(k), &j)
	return fromJacobian(&j)
}

// fromJacobian converts a btcec point (not the identity) to projective with Z = 1.
func fromJacobian(j *btcec.JacobianPoint) projective {
	var a btcec.JacobianPoint
	a.Set(j)
	a.ToAffine()
	var p projective
	p.x.Set(&a.X)
	p.y.Set(&a.Y)
	p.z.SetInt(1)
	return p
}

// TestTableEntries checks a sample of the table against btcec directly, so that a table
// error is reported as one rather than as a wrong product.
func TestTableEntries(t *testing.T) {
	tab := precomputed()
	for _, i := range []int{0, 1, 2, 31, 62, 63} {
		for j := range digits {
			var e projective
			tab.lookup(i, uint8(j), &e)
			if j == 0 {
				if !e.x.IsZero() || !e.y.IsOne() || !e.z.IsZero() {
					t.Fatalf("T[%d][0] is not the identity (0:1:0)", i)
				}
				continue
			}
			// j·16^i as a scalar: j shifted left by 4i bits.
			var kb [32]byte
			bit := 4 * i
			kb[31-bit/8] = byte(j << (bit % 8))
			var want btcec.JacobianPoint
			btcec.ScalarBaseMultNonConst(scalarFromBytes(&kb), &want)
			var got btcec.JacobianPoint
			toJacobian(&e, &got)
			if !bytes.Equal(affineBytes(&got), affineBytes(&want)) {
				t.Fatalf("T[%d][%d] = %x, want %x", i, j, affineBytes(&got), affineBytes(&want))
			}
		}
	}
}

func scalarFromBytes(b *[32]byte) *btcec.ModNScalar {
	s := new(btcec.ModNScalar)
	s.SetBytes(b)
	return s
}

func TestDigits(t *testing.T) {
	kb := [32]byte{0: 0xab, 31: 0xcd}
	want := map[int]uint8{0: 0xd, 1: 0xc, 62: 0xb, 63: 0xa, 5: 0}
	for i, w := range want {
		if got := digit(&kb, i); got != w {
			t.Errorf("digit %d = %x, want %x", i, got, w)
		}
	}
}

// FuzzScalarBaseMult compares ScalarBaseMult with btcec on any 32 bytes (reduced mod n).
func FuzzScalarBaseMult(f *testing.F) {
	n, _ := hex.DecodeString(groupOrder)
	f.Add(make([]byte, 32))
	f.Add(n)
	f.Add(bytes.Repeat([]byte{0xff}, 32))
	f.Add(bytes.Repeat([]byte{0x0f}, 32))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 32 {
			b = b[:32]
		}
		var buf [32]byte
		copy(buf[32-len(b):], b)
		checkAgainstBtcec(t, scalarFromBytes(&buf))
	})
}

func BenchmarkScalarBaseMult(b *testing.B) {
	k := benchScalar(b)
	precomputed()
	var out btcec.JacobianPoint
	for b.Loop() {
		ScalarBaseMult(k, &out)
	}
}

func BenchmarkScalarBaseMultNonConst(b *testing.B) {
	k := benchScalar(b)
	var out btcec.JacobianPoint
	for b.Loop() {
		btcec.ScalarBaseMultNonConst(k, &out)
	}
}

func BenchmarkBuildTable(b *testing.B) {
	for b.Loop() {
		buildTable()
	}
}

func benchScalar(b *testing.B) *btcec.ModNScalar {
	var buf [32]byte
	if _, err := rand.Read(buf[:]); err != nil {
		b.Fatal(err)
	}
	return scalarFromBytes(&buf)
}
