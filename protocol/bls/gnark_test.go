package bls

// Cross-checks against gnark-crypto, a BLS12-381 implementation independent of blst.

import (
	"bytes"
	"encoding/json"
	"math/big"
	"testing"

	bls12381 "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/protocoltest"
)

func TestGnarkVerifies(t *testing.T) {
	for _, tc := range []struct {
		n, threshold int
		signerSets   [][]protocol.PartyID
	}{
		{3, 2, [][]protocol.PartyID{protocoltest.IDs(1, 2), protocoltest.IDs(1, 3), protocoltest.IDs(2, 3)}},
		{5, 3, [][]protocol.PartyID{protocoltest.IDs(1, 2, 3), protocoltest.IDs(1, 3, 5), protocoltest.IDs(2, 4, 5)}},
	} {
		fx := getFixture(t, tc.n, tc.threshold)
		digest := protocoltest.DigestOf("gnark")
		for _, signers := range tc.signerSets {
			sig := signOnce(t, fx, signers, digest)
			gnarkVerify(t, fx.publicKey, digest, sig)
			gnarkRecompute(t, fx, signers, digest, sig)
		}
	}
}

// gnarkVerify checks e(PK, H(m)) == e(G1, σ) with gnark (see gnarkVerifies).
func gnarkVerify(t *testing.T, pkBytes []byte, digest [32]byte, sigBytes []byte) {
	t.Helper()
	if err := gnarkVerifies(pkBytes, digest[:], sigBytes); err != nil {
		t.Fatal(err)
	}
}

// gnarkRecompute reconstructs the secret key from the signers' shares (test only) and checks
// with gnark that sk·G1 is the group key and sk·H(m) is the signature, byte for byte.
func gnarkRecompute(t *testing.T, fx *keygenFixture, signers []protocol.PartyID, digest [32]byte, sig []byte) {
	t.Helper()
	r := fr.Modulus()
	sk := new(big.Int)
	for _, j := range signers {
		var sj shareJSON
		if err := json.Unmarshal(fx.shares[j], &sj); err != nil {
			t.Fatal(err)
		}
		num, den := big.NewInt(1), big.NewInt(1)
		for _, m := range signers {
			if m != j {
				num.Mul(num, big.NewInt(int64(m)))
				den.Mul(den, big.NewInt(int64(m)-int64(j)))
			}
		}
		den.Mod(den, r)
		lambda := num.Mul(num, den.ModInverse(den, r))
		sk.Add(sk, lambda.Mul(lambda, new(big.Int).SetBytes(sj.Secret)))
	}
	sk.Mod(sk, r)

	var pk bls12381.G1Affine
	pk.ScalarMultiplicationBase(sk)
	if got := pk.Bytes(); !bytes.Equal(got[:], fx.publicKey) {
		t.Fatalf("gnark sk·G1 = %x, engine group key %x", got, fx.publicKey)
	}
	h, err := bls12381.HashToG2(digest[:], []byte(DST))
	if err != nil {
		t.Fatal(err)
	}
	var want bls12381.G2Affine
	want.ScalarMultiplication(&h, sk)
	if got := want.Bytes(); !bytes.Equal(got[:], sig) {
		t.Fatalf("gnark sk·H(m) = %x, threshold signature %x", got, sig)
	}
}
