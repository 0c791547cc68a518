package bls

import (
	"testing"

	blst "github.com/supranational/blst/bindings/go"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/protocoltest"
)

// BenchmarkSign2of3 runs both signers of a 2-of-3 key in-process: share decoding, partial
// signing, checking the other partial, combining and verifying, for both.
func BenchmarkSign2of3(b *testing.B) {
	fx := getFixture(b, 3, 2)
	digest := protocoltest.DigestOf("bench")
	nonce := newNonce(b)
	signers := protocoltest.IDs(1, 2)
	b.ResetTimer()
	for b.Loop() {
		runs := signRuns(b, fx.shares, signers, digest, nonce)
		out := make(map[protocol.PartyID][]byte, 2)
		for p, r := range runs {
			if err := r.Start(); err != nil {
				b.Fatal(err)
			}
			out[p] = (<-r.Outgoing()).Payload
		}
		for p, r := range runs {
			other := signers[0]
			if p == other {
				other = signers[1]
			}
			if err := r.Handle(other, true, out[other]); err != nil {
				b.Fatal(err)
			}
			if res := <-r.Done(); res.Err != nil {
				b.Fatal(res.Err)
			}
		}
	}
}

// BenchmarkCombine is the Lagrange combination of two partial signatures alone.
func BenchmarkCombine(b *testing.B) {
	h := hashToG2([]byte("bench"))
	partials := []*blst.P2Affine{partialSign(indexScalar(11), h), partialSign(indexScalar(12), h)}
	signers := protocoltest.IDs(1, 3)
	b.ResetTimer()
	for b.Loop() {
		if _, err := combine(signers, partials); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSingleKeySign is the baseline: one blst signature with a whole key.
func BenchmarkSingleKeySign(b *testing.B) {
	sk, err := randomScalar(defaultRand)
	if err != nil {
		b.Fatal(err)
	}
	digest := protocoltest.DigestOf("bench")
	b.ResetTimer()
	for b.Loop() {
		new(blst.P2Affine).Sign(sk, digest[:], dst)
	}
}
