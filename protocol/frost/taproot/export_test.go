package taproot

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

// compressedPublic returns s·G compressed, computed by go-ethereum (not btcec, which the
// engine uses).
func compressedPublic(t *testing.T, s []byte) []byte {
	t.Helper()
	key, err := crypto.ToECDSA(s)
	if err != nil {
		t.Fatalf("go-ethereum refuses the secret: %v", err)
	}
	return crypto.CompressPubkey(&key.PublicKey)
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
			!bytes.Equal(e.PublicKey, fx.publicKey) || len(e.Secret) != 32 || len(e.InternalKey) != 32 {
			t.Fatalf("%s: export %v", p, e)
		}
		if !bytes.Equal(bip86ByHand(t, e.InternalKey), fx.publicKey) {
			t.Fatalf("%s: the output key is not the BIP86 tweak of the exported internal key", p)
		}
		if !bytes.Equal(compressedPublic(t, e.Secret), e.PublicShare) {
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
		d := exportInterpolate(t, crypto.S256().Params().N, xs, ys)
		want := append([]byte{0x02}, exports[1].InternalKey...) // the internal key has an even y
		if !bytes.Equal(compressedPublic(t, d), want) {
			t.Fatalf("the secrets of %v do not interpolate to the internal key", set)
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
