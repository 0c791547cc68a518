package taproot

import (
	"crypto/rand"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
)

// TestMulBaseSecretMatchesMulBase checks the constant-time multiplication the package uses for
// secrets against btcec's variable-time one (package ctsecp has the thorough comparison; this
// pins the wiring: same point, usable by the helpers that take its output).
func TestMulBaseSecretMatchesMulBase(t *testing.T) {
	scalars := []*btcec.ModNScalar{
		new(btcec.ModNScalar).SetInt(1),
		new(btcec.ModNScalar).SetInt(16),
		new(btcec.ModNScalar).NegateVal(new(btcec.ModNScalar).SetInt(1)),
	}
	var buf [32]byte
	for range 50 {
		if _, err := rand.Read(buf[:]); err != nil {
			t.Fatal(err)
		}
		k := new(btcec.ModNScalar)
		k.SetBytes(&buf)
		scalars = append(scalars, k)
	}
	for _, k := range scalars {
		got, want := mulBaseSecret(k), mulBase(k)
		if !pointsEqual(got, want) {
			t.Fatalf("k = %x: mulBaseSecret and mulBase differ", k.Bytes())
		}
		if k.IsZero() {
			continue
		}
		if string(encodePoint(got)) != string(encodePoint(want)) {
			t.Fatalf("k = %x: encodings differ", k.Bytes())
		}
	}
	if !isInfinity(mulBaseSecret(new(btcec.ModNScalar))) {
		t.Fatal("mulBaseSecret(0) is not the point at infinity")
	}
}
