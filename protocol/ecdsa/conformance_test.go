package ecdsa

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/mpcsigner/mpcsigner/protocol/protocoltest"
)

// TestEngineConformance runs the cross-engine suite on the secp256k1 keygen fixture (made once
// per test binary from the fixture pre-params). P-256 is left out: it has no key fixture, and
// a keygen of its own would cost the suite a second tss-lib keygen.
func TestEngineConformance(t *testing.T) {
	fx := getKeygenFixture(t)
	protocoltest.EngineConformance(t, protocoltest.Conformance{
		Engine:    Engine{},
		Shares:    fx.shares,
		Threshold: 2,
		Verify:    ethereumVerify,
		// One error for both: an ECDSA presignature does not record why it is gone.
		PresignatureUsed:      ErrPresignatureUsed,
		PresignatureDiscarded: ErrPresignatureUsed,
	})
}

// ethereumVerify checks an r||s||v signature over a 32-byte digest with go-ethereum's
// secp256k1 code, which shares nothing with tss-lib: validity under the compressed key, low S,
// and recovery of the same key from v.
func ethereumVerify(pub, digest, sig []byte) error {
	if len(sig) != 65 {
		return fmt.Errorf("signature of %d bytes, want r||s||v (65)", len(sig))
	}
	if !crypto.VerifySignature(pub, digest, sig[:64]) {
		return errors.New("go-ethereum: the signature does not verify")
	}
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:64])
	if !crypto.ValidateSignatureValues(sig[64], r, s, true) {
		return fmt.Errorf("go-ethereum refuses the signature values (v=%d, or S is high)", sig[64])
	}
	recovered, err := crypto.SigToPub(digest, sig)
	if err != nil {
		return fmt.Errorf("go-ethereum SigToPub: %w", err)
	}
	if got := crypto.CompressPubkey(recovered); !bytes.Equal(got, pub) {
		return fmt.Errorf("v=%d recovers %x, not the group key", sig[64], got)
	}
	return nil
}
