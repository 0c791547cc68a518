package taproot

import (
	"errors"
	"fmt"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2/schnorr"

	"github.com/mpcsigner/mpcsigner/protocol/protocoltest"
)

// TestEngineConformance runs the cross-engine suite on the 2-of-3 and 3-of-5 fixture keys,
// with btcec's BIP340 verifier under the x-only output key.
func TestEngineConformance(t *testing.T) {
	for _, k := range []struct{ n, threshold int }{{3, 2}, {5, 3}} {
		t.Run(fmt.Sprintf("%d-of-%d", k.threshold, k.n), func(t *testing.T) {
			fx := getFixture(t, k.n, k.threshold)
			protocoltest.EngineConformance(t, protocoltest.Conformance{
				Engine:    Engine{},
				Shares:    fx.shares,
				Threshold: k.threshold,
				Verify:    btcecVerifies,

				PresignatureUsed:      ErrPresignatureUsed,
				PresignatureDiscarded: ErrPresignatureDiscarded,
			})
		})
	}
}

// btcecVerifies checks a BIP340 signature over a 32-byte digest with btcec/v2/schnorr.
func btcecVerifies(pub, digest, sig []byte) error {
	pk, err := schnorr.ParsePubKey(pub)
	if err != nil {
		return fmt.Errorf("btcec refuses the output key: %w", err)
	}
	s, err := schnorr.ParseSignature(sig)
	if err != nil {
		return fmt.Errorf("btcec refuses the signature: %w", err)
	}
	if !s.Verify(digest, pk) {
		return errors.New("btcec: the signature does not verify")
	}
	return nil
}
