package ed25519

import (
	"bytes"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"

	"filippo.io/edwards25519"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/protocoltest"
)

// edOrder is ℓ, the order of edwards25519's prime-order subgroup.
var edOrder, _ = new(big.Int).SetString("1000000000000000000000000000000014def9dea2f79cd65812631a5cf5d3ed", 16)

// exportInterpolate returns Σ λ_j·y_j mod order at 0 for the distinct points xs, with
// math/big (not the engine's arithmetic), as 32 big-endian bytes.
func exportInterpolate(t *testing.T, order *big.Int, xs []uint16, ys [][]byte) []byte {
	t.Helper()
	sum := new(big.Int)
	for j, xj := range xs {
		num, den := big.NewInt(1), big.NewInt(1)
		for m, xm := range xs {
			if m == j {
				continue
			}
			num.Mul(num, big.NewInt(int64(xm)))
			den.Mul(den, big.NewInt(int64(xm)-int64(xj)))
		}
		lambda := new(big.Int).Mul(num, new(big.Int).ModInverse(den.Mod(den, order), order))
		sum.Add(sum, lambda.Mul(lambda, new(big.Int).SetBytes(ys[j])))
	}
	return sum.Mod(sum, order).FillBytes(make([]byte, 32))
}

// baseMultBigEndian returns s·B for a big-endian scalar s.
func baseMultBigEndian(t *testing.T, s []byte) []byte {
	t.Helper()
	le := slices.Clone(s)
	slices.Reverse(le)
	sc, err := edwards25519.NewScalar().SetCanonicalBytes(le)
	if err != nil {
		t.Fatalf("scalar: %v", err)
	}
	return new(edwards25519.Point).ScalarBaseMult(sc).Bytes()
}

// TestExportSecretShare uses parties 2, 5 and 7, whose FROST identifiers (the evaluation
// points) are 1, 2 and 3, not their numbers.
func TestExportSecretShare(t *testing.T) {
	parties := protocoltest.IDs(2, 5, 7)
	fx := runKeygen(t, parties, 2)
	exports := make(map[protocol.PartyID]*ExportedShare)
	for i, p := range parties {
		e, err := ExportSecretShare(fx.shares[p])
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if e.Self != p || e.X != uint16(i+1) || e.Threshold != 2 || !slices.Equal(e.Parties, parties) ||
			!bytes.Equal(e.PublicKey, fx.publicKey) || len(e.Secret) != 32 {
			t.Fatalf("%s: export %v", p, e)
		}
		if !bytes.Equal(baseMultBigEndian(t, e.Secret), e.PublicShare) {
			t.Fatalf("%s: secret·B is not the exported public share", p)
		}
		for _, s := range []string{e.String(), fmt.Sprintf("%#v", *e), fmt.Sprintf("%v", e)} {
			if strings.Contains(s, fmt.Sprintf("%x", e.Secret)) {
				t.Fatalf("%s: the secret shows in %q", p, s)
			}
		}
		exports[p] = e
	}
	for _, set := range [][]protocol.PartyID{{2, 5}, {2, 7}, {5, 7}, {2, 5, 7}} {
		var xs []uint16
		var ys [][]byte
		for _, p := range set {
			xs, ys = append(xs, exports[p].X), append(ys, exports[p].Secret)
		}
		if !bytes.Equal(baseMultBigEndian(t, exportInterpolate(t, edOrder, xs, ys)), fx.publicKey) {
			t.Fatalf("the secrets of %v do not interpolate to the group key", set)
		}
	}
	e := exports[2]
	e.Wipe()
	if !bytes.Equal(e.Secret, make([]byte, 32)) {
		t.Fatal("Wipe left the secret")
	}
}

func TestExportSecretShareRefusesBadShares(t *testing.T) {
	good := getFixture(t, 3, 2).shares[1]
	for name, b := range map[string][]byte{
		"empty":      nil,
		"truncated":  good[:len(good)/2],
		"not json":   []byte("share"),
		"other self": bytes.Replace(good, []byte(`"self":1`), []byte(`"self":2`), 1),
	} {
		if _, err := ExportSecretShare(b); err == nil || !strings.Contains(err.Error(), "invalid share") {
			t.Errorf("%s: error %v, want an invalid share", name, err)
		}
	}
}
