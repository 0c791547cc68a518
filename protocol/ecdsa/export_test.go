package ecdsa

import (
	"bytes"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// exportInterpolate returns Σ λ_j·y_j mod order at 0 for the distinct points xs (test-side
// arithmetic, independent of the code under test), as 32 big-endian bytes.
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

func TestExportSecretShare(t *testing.T) {
	fx := getKeygenFixture(t)
	exports := make(map[protocol.PartyID]*ExportedShare)
	for p, share := range fx.shares {
		e, err := ExportSecretShare(share)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if e.Scheme != protocol.SchemeECDSASecp256k1 || e.Self != p || e.X != uint16(p) || e.Threshold != 2 ||
			!slices.Equal(e.Parties, []protocol.PartyID{1, 2, 3}) || !bytes.Equal(e.PublicKey, fx.pub) || len(e.Secret) != 32 {
			t.Fatalf("%s: export %v", p, e)
		}
		// go-ethereum, not tss-lib, computes Xi·G.
		key, err := crypto.ToECDSA(e.Secret)
		if err != nil {
			t.Fatalf("%s: go-ethereum refuses the secret: %v", p, err)
		}
		if !bytes.Equal(crypto.CompressPubkey(&key.PublicKey), e.PublicShare) {
			t.Fatalf("%s: secret·G is not the exported public share", p)
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
		secret := exportInterpolate(t, crypto.S256().Params().N, xs, ys)
		key, err := crypto.ToECDSA(secret)
		if err != nil {
			t.Fatalf("%v: %v", set, err)
		}
		if !bytes.Equal(crypto.CompressPubkey(&key.PublicKey), fx.pub) {
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
	fx := getKeygenFixture(t)
	good := fx.shares[1]
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
