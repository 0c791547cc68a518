package ed25519

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"testing"

	"github.com/mpcsigner/mpcsigner/protocol/protocoltest"
)

// TestEngineConformance runs the cross-engine suite on the 2-of-3 and 3-of-5 fixture keys,
// with crypto/ed25519 as the verifier. The engine signs whole messages too.
func TestEngineConformance(t *testing.T) {
	for _, k := range []struct{ n, threshold int }{{3, 2}, {5, 3}} {
		t.Run(fmt.Sprintf("%d-of-%d", k.threshold, k.n), func(t *testing.T) {
			fx := getFixture(t, k.n, k.threshold)
			protocoltest.EngineConformance(t, protocoltest.Conformance{
				Engine:        Engine{},
				Shares:        fx.shares,
				Threshold:     k.threshold,
				Verify:        stdlibVerify,
				SignsMessages: true,

				PresignatureUsed:      ErrPresignatureUsed,
				PresignatureDiscarded: ErrPresignatureDiscarded,
			})
		})
	}
}

// stdlibVerify checks sig over message with crypto/ed25519 (RFC 8032).
func stdlibVerify(pub, message, sig []byte) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("public key of %d bytes, want %d", len(pub), ed25519.PublicKeySize)
	}
	if !ed25519.Verify(pub, message, sig) {
		return errors.New("crypto/ed25519: the signature does not verify")
	}
	return nil
}
