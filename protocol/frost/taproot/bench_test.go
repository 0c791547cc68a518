package taproot

import (
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/protocoltest"
)

// BenchmarkSign2of3 runs both signers of a 2-of-3 key in one process: taking the key from the
// cache, both rounds (nonces, binding factors, group commitment, signature shares, the check of
// the other's share) and the btcec verification of the signature, for both signers.
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

// BenchmarkPresign2of3 runs both signers' presign runs of a 2-of-3 key in one process: the
// nonces, their commitments and the exchange, ending with two presignatures (discarded).
func BenchmarkPresign2of3(b *testing.B) {
	fx := getFixture(b, 3, 2)
	signers := protocoltest.IDs(1, 2)
	b.ReportAllocs()
	for b.Loop() {
		for _, ps := range presignExchange(b, presignRuns(b, fx, signers, newNonce(b)), signers) {
			ps.Discard()
		}
	}
}

// BenchmarkPresignedSign2of3 measures the online part only: both signers' online runs of a
// 2-of-3 key, with the share exchange, the binding factors and group commitment, the checks and
// the btcec verification. The presigning runs with the timer stopped.
func BenchmarkPresignedSign2of3(b *testing.B) {
	fx := getFixture(b, 3, 2)
	signers := protocoltest.IDs(1, 2)
	in := protocol.SignInput{Digest: protocoltest.DigestOf("bench")}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		pres := presignExchange(b, presignRuns(b, fx, signers, newNonce(b)), signers)
		b.StartTimer()
		runs := make(map[protocol.PartyID]protocol.Run, 2)
		for _, p := range signers {
			r, err := pres[p].Sign(in)
			if err != nil {
				b.Fatal(err)
			}
			if err := r.Start(); err != nil {
				b.Fatal(err)
			}
			runs[p] = r
		}
		for _, res := range exchangeOnce(b, runs, signers) {
			if res.Err != nil || res.Signature == nil {
				b.Fatal(res)
			}
		}
	}
}

// presignExchange starts two presign runs, swaps their commitments and returns their
// presignatures.
func presignExchange(b *testing.B, runs map[protocol.PartyID]protocol.Run, signers []protocol.PartyID) map[protocol.PartyID]protocol.Presignature {
	for _, r := range runs {
		if err := r.Start(); err != nil {
			b.Fatal(err)
		}
	}
	out := make(map[protocol.PartyID]protocol.Presignature, 2)
	for p, res := range exchangeOnce(b, runs, signers) {
		if res.Err != nil || res.Presignature == nil {
			b.Fatal(res)
		}
		out[p] = res.Presignature
	}
	return out
}

// exchangeOnce hands each of two started runs the other's next payload and returns their
// results.
func exchangeOnce(b *testing.B, runs map[protocol.PartyID]protocol.Run, signers []protocol.PartyID) map[protocol.PartyID]protocol.Result {
	out := make(map[protocol.PartyID][]byte, 2)
	for p, r := range runs {
		out[p] = (<-r.Outgoing()).Payload
	}
	for i, p := range signers {
		other := signers[1-i]
		if err := runs[p].Handle(other, true, out[other]); err != nil {
			b.Fatal(err)
		}
	}
	results := make(map[protocol.PartyID]protocol.Result, 2)
	for p, r := range runs {
		results[p] = <-r.Done()
	}
	return results
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
