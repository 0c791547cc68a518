package ed25519

import (
	"crypto/ed25519"
	"testing"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/protocoltest"
)

// BenchmarkSign2of3 runs both signers of a 2-of-3 key in one process, both rounds, with
// share decoding, every check, aggregation and the crypto/ed25519 verification, for both.
func BenchmarkSign2of3(b *testing.B) {
	fx := getFixture(b, 3, 2)
	digest := protocoltest.DigestOf("bench")
	nonce := newNonce(b)
	signers := protocoltest.IDs(1, 2)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		runs := signRuns(b, fx.shares, signers, digest, nonce)
		exchange := func() map[protocol.PartyID][]byte {
			out := make(map[protocol.PartyID][]byte, 2)
			for p, r := range runs {
				out[p] = (<-r.Outgoing()).Payload
			}
			return out
		}
		for _, r := range runs {
			if err := r.Start(); err != nil {
				b.Fatal(err)
			}
		}
		for range 2 { // commitments, then signature shares
			out := exchange()
			for p, r := range runs {
				other := signers[0]
				if p == other {
					other = signers[1]
				}
				if err := r.Handle(other, true, out[other]); err != nil {
					b.Fatal(err)
				}
			}
		}
		for _, r := range runs {
			if res := <-r.Done(); res.Err != nil {
				b.Fatal(res.Err)
			}
		}
	}
}

// BenchmarkPresign2of3 runs both signers' presign runs of a 2-of-3 key in one process: the
// nonces, their commitments and the exchange, ending with two presignatures (discarded).
func BenchmarkPresign2of3(b *testing.B) {
	fx := getFixture(b, 3, 2)
	protocoltest.BenchPresign(b, Engine{}, fx.shares, protocoltest.IDs(1, 2))
}

// BenchmarkPresignedSign2of3 measures the online part only: both signers' online runs of a
// 2-of-3 key, with the share exchange, aggregation and the crypto/ed25519 checks. The
// presigning runs with the timer stopped.
func BenchmarkPresignedSign2of3(b *testing.B) {
	fx := getFixture(b, 3, 2)
	in := protocol.SignInput{Digest: protocoltest.DigestOf("bench")}
	protocoltest.BenchPresignedSign(b, Engine{}, fx.shares, protocoltest.IDs(1, 2), in)
}

// BenchmarkSingleKeySign is the baseline: one crypto/ed25519 signature with a whole key.
func BenchmarkSingleKeySign(b *testing.B) {
	_, sk, err := ed25519.GenerateKey(nil)
	if err != nil {
		b.Fatal(err)
	}
	digest := protocoltest.DigestOf("bench")
	for b.Loop() {
		ed25519.Sign(sk, digest[:])
	}
}
