package bls

import (
	"errors"
	"fmt"
	"testing"

	bls12381 "github.com/consensys/gnark-crypto/ecc/bls12-381"

	"github.com/mpcsigner/mpcsigner/protocol/protocoltest"
)

// TestEngineConformance runs the cross-engine suite on the 2-of-3 and 3-of-5 fixture keys,
// with gnark-crypto (not blst, which the engine uses) as the verifier.
func TestEngineConformance(t *testing.T) {
	for _, k := range []struct{ n, threshold int }{{3, 2}, {5, 3}} {
		t.Run(fmt.Sprintf("%d-of-%d", k.threshold, k.n), func(t *testing.T) {
			fx := getFixture(t, k.n, k.threshold)
			protocoltest.EngineConformance(t, protocoltest.Conformance{
				Engine:    Engine{},
				Shares:    fx.shares,
				Threshold: k.threshold,
				Verify:    gnarkVerifies,
			})
		})
	}
}

// gnarkVerifies checks e(PK, H(m)) == e(G1, σ) with gnark-crypto, m being the signed bytes.
func gnarkVerifies(pkBytes, signed, sigBytes []byte) error {
	var pk bls12381.G1Affine
	if _, err := pk.SetBytes(pkBytes); err != nil {
		return fmt.Errorf("gnark refuses the public key: %w", err)
	}
	var sig bls12381.G2Affine
	if _, err := sig.SetBytes(sigBytes); err != nil {
		return fmt.Errorf("gnark refuses the signature: %w", err)
	}
	h, err := bls12381.HashToG2(signed, []byte(DST))
	if err != nil {
		return err
	}
	_, _, g1, _ := bls12381.Generators()
	var negG1 bls12381.G1Affine
	negG1.Neg(&g1)
	ok, err := bls12381.PairingCheck([]bls12381.G1Affine{pk, negG1}, []bls12381.G2Affine{h, sig})
	switch {
	case err != nil:
		return fmt.Errorf("gnark pairing check: %w", err)
	case !ok:
		return errors.New("gnark: the signature does not verify")
	}
	return nil
}
