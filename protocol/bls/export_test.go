package bls

import (
	"bytes"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"

	blst "github.com/supranational/blst/bindings/go"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// frOrder is r, the order of BLS12-381's G1 and G2 (and the modulus of Fr).
var frOrder, _ = new(big.Int).SetString("73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001", 16)

// exportInterpolate returns Σ λ_j·y_j mod order at 0 for the distinct points xs, with
// math/big (not the engine's blst arithmetic), as 32 big-endian bytes.
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

func blsPublicKey(t *testing.T, secret []byte) []byte {
	t.Helper()
	sk := new(blst.SecretKey).Deserialize(secret)
	if sk == nil {
		t.Fatal("blst refuses the secret")
	}
	defer sk.Zeroize()
	return new(blst.P1Affine).From(sk).Compress()
}

func TestExportSecretShare(t *testing.T) {
	fx := getFixture(t, 3, 2)
	exports := make(map[protocol.PartyID]*ExportedShare)
	for p, share := range fx.shares {
		e, err := ExportSecretShare(share)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if e.Self != p || e.X != uint16(p) || e.Threshold != 2 || !slices.Equal(e.Parties, []protocol.PartyID{1, 2, 3}) ||
			!bytes.Equal(e.PublicKey, fx.publicKey) || len(e.Secret) != 32 {
			t.Fatalf("%s: export %v", p, e)
		}
		if !bytes.Equal(blsPublicKey(t, e.Secret), e.PublicShare) {
			t.Fatalf("%s: secret·G1 is not the exported public share", p)
		}
		for _, s := range []string{e.String(), fmt.Sprintf("%#v", *e), fmt.Sprintf("%v", e)} {
			if strings.Contains(s, fmt.Sprintf("%x", e.Secret)) {
				t.Fatalf("%s: the secret shows in %q", p, s)
			}
		}
		exports[p] = e
	}
	for _, set := range [][]protocol.PartyID{{1, 2}, {1, 3}, {2, 3}, {1, 2, 3}} {
		var xs []uint16
		var ys [][]byte
		for _, p := range set {
			xs, ys = append(xs, exports[p].X), append(ys, exports[p].Secret)
		}
		if !bytes.Equal(blsPublicKey(t, exportInterpolate(t, frOrder, xs, ys)), fx.publicKey) {
			t.Fatalf("the secrets of %v do not interpolate to the group key", set)
		}
	}
	e := exports[1]
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
