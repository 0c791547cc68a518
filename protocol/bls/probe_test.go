package bls

import (
	"testing"

	bls12381 "github.com/consensys/gnark-crypto/ecc/bls12-381"
	blst "github.com/supranational/blst/bindings/go"
)

func TestProbe(t *testing.T) { _ = bls12381.G1Affine{}; _ = blst.P1Affine{} }
