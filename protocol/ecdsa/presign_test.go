package ecdsa

import (
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/bnb-chain/tss-lib/v3/common"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// presignAll runs one presigning among signers of the fixture key and returns each signer's
// presignature. It counts the payloads each signer emitted into sent, when given.
func presignAll(tb testing.TB, fx *keygenFixture, signers []protocol.PartyID, d *protocol.Derivation, sent map[protocol.PartyID]*atomic.Int32) map[protocol.PartyID]protocol.Presignature {
	tb.Helper()
	nonce := newNonce()
	runs := make(map[protocol.PartyID]protocol.Run, len(signers))
	for _, p := range signers {
		r, err := Engine{}.Presign(protocol.PresignParams{Self: p, Signers: signers, Share: fx.shares[p], SessionNonce: nonce, Derivation: d})
		if err != nil {
			tb.Fatal(err)
		}
		runs[p] = r
	}
	var tamper tamperFunc
	if sent != nil {
		tamper = func(from, to protocol.PartyID, o protocol.Outgoing) []byte {
			sent[from].Add(1)
			return o.Payload
		}
	}
	results, err := execute(runs, tamper, signTimeout)
	if err != nil {
		tb.Fatal(err)
	}
	out := make(map[protocol.PartyID]protocol.Presignature, len(signers))
	for p, res := range results {
		if res.Err != nil || res.Presignature == nil || res.Signature != nil {
			tb.Fatalf("%s: presign result %+v", p, res)
		}
		out[p] = res.Presignature
	}
	return out
}

// onlineSign binds each signer's presignature to its digest and runs the online rounds.
func onlineSign(tb testing.TB, presigs map[protocol.PartyID]protocol.Presignature, digests map[protocol.PartyID][32]byte) map[protocol.PartyID]protocol.Result {
	tb.Helper()
	runs := make(map[protocol.PartyID]protocol.Run, len(presigs))
	for p, ps := range presigs {
		r, err := ps.Sign(protocol.SignInput{Digest: digests[p]})
		if err != nil {
			tb.Fatalf("%s: binding the presignature: %v", p, err)
		}
		runs[p] = r
	}
	results, err := execute(runs, nil, signTimeout)
	if err != nil {
		tb.Fatal(err)
	}
	return results
}

func sameDigest(signers []protocol.PartyID, digest [32]byte) map[protocol.PartyID][32]byte {
	out := make(map[protocol.PartyID][32]byte, len(signers))
	for _, p := range signers {
		out[p] = digest
	}
	return out
}

func randomDigest() [32]byte {
	var d [32]byte
	rand.Read(d[:])
	return d
}

// commonSignature checks every signer produced the same signature and returns it.
func commonSignature(t testing.TB, results map[protocol.PartyID]protocol.Result) *protocol.Signature {
	t.Helper()
	var sig *protocol.Signature
	for p, res := range results {
		if res.Err != nil || res.Signature == nil {
			t.Fatalf("%s: online signing result %+v", p, res)
		}
		if sig != nil && (string(sig.Bytes()) != string(res.Signature.Bytes()) || sig.RecoveryID != res.Signature.RecoveryID) {
			t.Fatalf("%s: signature differs", p)
		}
		sig = res.Signature
	}
	return sig
}

// Two presignatures made ahead of time sign two digests, used in the other order than they
// were made; go-ethereum verifies and recovers the key. Each signer held back its round-4
// message: a presign emits the payloads of rounds 1-3 only (per signer: two point-to-point,
// two broadcasts, to one peer).
func TestPresignThenSign(t *testing.T) {
	fx := getKeygenFixture(t)
	signers := []protocol.PartyID{1, 3}
	sent := map[protocol.PartyID]*atomic.Int32{1: {}, 3: {}}
	first := presignAll(t, fx, signers, nil, sent)
	for p, n := range sent {
		if got := n.Load(); got != 4 {
			t.Fatalf("%s sent %d payloads while presigning, want 4 (rounds 1-3; round 4 held back)", p, got)
		}
	}
	second := presignAll(t, fx, signers, nil, nil)
	for _, ps := range []map[protocol.PartyID]protocol.Presignature{second, first} {
		digest := randomDigest()
		sig := commonSignature(t, onlineSign(t, ps, sameDigest(signers, digest)))
		verifyWithEthereum(t, fx.pub, digest, sig)
	}
	for p, ps := range first {
		if _, err := ps.Sign(protocol.SignInput{Digest: randomDigest()}); !errors.Is(err, ErrPresignatureUsed) {
			t.Fatalf("%s: a used presignature signed again: %v", p, err)
		}
	}
}

// A presignature is consumed by Discard, by a refused input, and by exactly one of many
// concurrent Sign calls.
func TestPresignatureSingleUse(t *testing.T) {
	fx := getKeygenFixture(t)
	signers := []protocol.PartyID{1, 2}
	ps := presignAll(t, fx, signers, nil, nil)

	ps[1].Discard()
	if _, err := ps[1].Sign(protocol.SignInput{Digest: randomDigest()}); !errors.Is(err, ErrPresignatureUsed) {
		t.Fatalf("a discarded presignature signed: %v", err)
	}
	if _, err := ps[2].Sign(protocol.SignInput{}); err == nil || errors.Is(err, ErrPresignatureUsed) {
		t.Fatalf("a zero digest was accepted or misreported: %v", err)
	}
	if _, err := ps[2].Sign(protocol.SignInput{Digest: randomDigest()}); !errors.Is(err, ErrPresignatureUsed) {
		t.Fatalf("a presignature burned by a refused input signed: %v", err)
	}

	ps = presignAll(t, fx, signers, nil, nil)
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := ps[1].Sign(protocol.SignInput{Digest: randomDigest()})
			switch {
			case err == nil:
				wins.Add(1)
				r.Abort(errors.New("test: not run"))
			case !errors.Is(err, ErrPresignatureUsed):
				t.Errorf("concurrent Sign: %v", err)
			}
		}()
	}
	wg.Wait()
	if got := wins.Load(); got != 1 {
		t.Fatalf("%d concurrent Sign calls succeeded on one presignature, want exactly 1", got)
	}
	ps[2].Discard()
}

// Signers bound to different digests cannot finish: every one fails, and no signature comes
// out for either digest.
func TestPresignDifferentDigests(t *testing.T) {
	fx := getKeygenFixture(t)
	signers := []protocol.PartyID{2, 3}
	ps := presignAll(t, fx, signers, nil, nil)
	results := onlineSign(t, ps, map[protocol.PartyID][32]byte{2: randomDigest(), 3: randomDigest()})
	for p, res := range results {
		if res.Err == nil || res.Signature != nil {
			t.Fatalf("%s: signers bound to different digests produced %+v", p, res)
		}
	}
}

// A presignature made for a derived key signs as the child key: go-ethereum recovers the
// child's public key, not the parent's.
func TestPresignDerived(t *testing.T) {
	fx := getKeygenFixture(t)
	signers := []protocol.PartyID{1, 2}
	d := &protocol.Derivation{Path: []uint32{0, 7}}
	rand.Read(d.ChainCode[:])
	child, err := Engine{}.DerivePublicKey(fx.pub, *d)
	if err != nil {
		t.Fatal(err)
	}
	ps := presignAll(t, fx, signers, d, nil)
	digest := randomDigest()
	sig := commonSignature(t, onlineSign(t, ps, sameDigest(signers, digest)))
	verifyWithEthereum(t, child, digest, sig)
}

// BenchmarkPresign2of3ConstantTime measures making one presignature (rounds 1-4 of both
// signers in this process), with the constant-time arithmetic enclaves use.
func BenchmarkPresign2of3ConstantTime(b *testing.B) {
	EnableConstantTime()
	defer common.DisableConstantTimeOps()
	fx := getKeygenFixture(b)
	signers := []protocol.PartyID{1, 2}
	for b.Loop() {
		for _, ps := range presignAll(b, fx, signers, nil, nil) {
			ps.Discard()
		}
	}
}

// BenchmarkPresignedSign2of3ConstantTime measures the online rounds alone (both signers in
// this process): the in-process ceiling of signing from a warm pool. Presignatures are made
// outside the timer.
func BenchmarkPresignedSign2of3ConstantTime(b *testing.B) {
	EnableConstantTime()
	defer common.DisableConstantTimeOps()
	fx := getKeygenFixture(b)
	signers := []protocol.PartyID{1, 2}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		ps := presignAll(b, fx, signers, nil, nil)
		digest := randomDigest()
		b.StartTimer()
		onlineSign(b, ps, sameDigest(signers, digest))
	}
}

// BenchmarkParkedCeilingConstantTime is the in-process ceiling of signing from a warm pool:
// 64 presignatures (made outside the timer) signed 16 at a time, both signers in this
// process, constant-time arithmetic on. It reports sig/s; run it with -benchtime 1x.
func BenchmarkParkedCeilingConstantTime(b *testing.B) {
	EnableConstantTime()
	defer common.DisableConstantTimeOps()
	fx := getKeygenFixture(b)
	signers := []protocol.PartyID{1, 2}
	const sets, inFlight = 64, 16
	for b.Loop() {
		b.StopTimer()
		pool := make([]map[protocol.PartyID]protocol.Presignature, sets)
		for i := range pool {
			pool[i] = presignAll(b, fx, signers, nil, nil)
		}
		b.StartTimer()
		if err := inParallel(sets, inFlight, func(i int) error { return signParked(pool[i]) }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(sets*b.N)/b.Elapsed().Seconds(), "sig/s")
}

// signParked runs the online rounds of one parked presignature set and checks every signer
// got a signature (go-ethereum checks them in the tests; here only the rate matters).
func signParked(ps map[protocol.PartyID]protocol.Presignature) error {
	digest := randomDigest()
	runs := make(map[protocol.PartyID]protocol.Run, len(ps))
	for p, sig := range ps {
		r, err := sig.Sign(protocol.SignInput{Digest: digest})
		if err != nil {
			return err
		}
		runs[p] = r
	}
	return executeSigning(runs)
}

// executeSigning runs sign runs to the end and checks every signer got a signature
// (go-ethereum checks them in the tests; in the ceilings only the rate matters).
func executeSigning(runs map[protocol.PartyID]protocol.Run) error {
	results, err := execute(runs, nil, signTimeout)
	if err != nil {
		return err
	}
	for p, res := range results {
		if res.Err != nil || res.Signature == nil {
			return fmt.Errorf("%s: %+v", p, res)
		}
	}
	return nil
}

// inParallel calls f(0..n-1), at most inFlight at a time, and returns the first error.
func inParallel(n, inFlight int, f func(i int) error) error {
	sem := make(chan struct{}, inFlight)
	errs := make(chan error, n)
	for i := range n {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			errs <- f(i)
		}()
	}
	var first error
	for range n {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// BenchmarkFullSignCeilingConstantTime is the in-process rate of complete signings (no
// presignatures): 8 signings, 4 at a time, both signers in this process, constant-time on.
// It reports sig/s: the rate a sustained load that outruns the pools can reach at best.
func BenchmarkFullSignCeilingConstantTime(b *testing.B) {
	EnableConstantTime()
	defer common.DisableConstantTimeOps()
	fx := getKeygenFixture(b)
	signers := []protocol.PartyID{1, 2}
	const total, inFlight = 8, 4
	for b.Loop() {
		if err := inParallel(total, inFlight, func(int) error { return signFull(fx, signers) }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(total*b.N)/b.Elapsed().Seconds(), "sig/s")
}

func signFull(fx *keygenFixture, signers []protocol.PartyID) error {
	runs, err := signRuns(fx.shares, signers, randomDigest(), newNonce(), nil)
	if err != nil {
		return err
	}
	return executeSigning(runs)
}
