package taproot

import (
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/protocoltest"
)

// BenchmarkSign2of3 runs both signers of a 2-of-3 key in one process: share decoding and
// tweaking, both rounds (nonces, binding factors, signature shares and their checks), the
// library's own verification and this package's btcec verification, for both signers.
func BenchmarkSign2of3(b *testing.B) {
	fx := getFixture(b, 3, 2)
	digest := protocoltest.DigestOf("bench")
	signers := protocoltest.IDs(1, 2)
	other := map[protocol.PartyID]protocol.PartyID{1: 2, 2: 1}
	b.ResetTimer()
	for b.Loop() {
		runs := signRuns(b, fx.shares, signers, digest, newNonce(b))
		out := make(map[protocol.PartyID][]byte, 2)
		for p, r := range runs {
			if err := r.Start(); err != nil {
				b.Fatal(err)
			}
			out[p] = (<-r.Outgoing()).Payload
		}
		for p, r := range runs {
			if err := r.Handle(other[p], true, out[other[p]]); err != nil {
				b.Fatal(err)
			}
		}
		for p, r := range runs {
			out[p] = (<-r.Outgoing()).Payload
		}
		for p, r := range runs {
			if err := r.Handle(other[p], true, out[other[p]]); err != nil {
				b.Fatal(err)
			}
			if res := <-r.Done(); res.Err != nil {
				b.Fatal(res.Err)
			}
		}
	}
}

// BenchmarkKeygen2of3 is a whole 2-of-3 keygen, all parties in one process.
func BenchmarkKeygen2of3(b *testing.B) {
	for b.Loop() {
		runKeygen(b, 3, 2)
	}
}

// BenchmarkSingleKeySign is the baseline: one btcec BIP340 signature with a whole key.
func BenchmarkSingleKeySign(b *testing.B) {
	priv, err := btcec.NewPrivateKey()
	if err != nil {
		b.Fatal(err)
	}
	digest := protocoltest.DigestOf("bench")
	for b.Loop() {
		if _, err := schnorr.Sign(priv, digest[:]); err != nil {
			b.Fatal(err)
		}
	}
}
