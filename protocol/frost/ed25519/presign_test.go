package ed25519

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/edwards25519"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/protocoltest"
)

func presignRuns(t testing.TB, fx *keygenFixture, signers []protocol.PartyID, nonce []byte) map[protocol.PartyID]protocol.Run {
	t.Helper()
	runs := make(map[protocol.PartyID]protocol.Run, len(signers))
	for _, p := range signers {
		r, err := Engine{}.Presign(protocol.PresignParams{Self: p, Signers: signers, Share: fx.shares[p], SessionNonce: nonce})
		if err != nil {
			t.Fatalf("Presign(%s): %v", p, err)
		}
		runs[p] = r
	}
	return runs
}

// presignAll runs a presign for signers and returns every signer's presignature.
func presignAll(t testing.TB, fx *keygenFixture, signers []protocol.PartyID) map[protocol.PartyID]protocol.Presignature {
	t.Helper()
	return presignResults(t, execute(t, presignRuns(t, fx, signers, newNonce(t)), nil))
}

// presignResults checks that every presign run ended with a presignature and nothing else.
func presignResults(t testing.TB, results map[protocol.PartyID]protocol.Result) map[protocol.PartyID]protocol.Presignature {
	t.Helper()
	out := make(map[protocol.PartyID]protocol.Presignature, len(results))
	for p, res := range results {
		if res.Err != nil || res.Presignature == nil || res.Signature != nil || res.Keygen != nil {
			t.Fatalf("presign: %s: %+v", p, res)
		}
		out[p] = res.Presignature
	}
	return out
}

// onlineRuns binds inputs[p] to every signer p's presignature.
func onlineRuns(t testing.TB, pres map[protocol.PartyID]protocol.Presignature, inputs map[protocol.PartyID]protocol.SignInput) map[protocol.PartyID]protocol.Run {
	t.Helper()
	runs := make(map[protocol.PartyID]protocol.Run, len(pres))
	for p, ps := range pres {
		r, err := ps.Sign(inputs[p])
		if err != nil {
			t.Fatalf("%s: Presignature.Sign: %v", p, err)
		}
		runs[p] = r
	}
	return runs
}

func sameInput(pres map[protocol.PartyID]protocol.Presignature, in protocol.SignInput) map[protocol.PartyID]protocol.SignInput {
	inputs := make(map[protocol.PartyID]protocol.SignInput, len(pres))
	for p := range pres {
		inputs[p] = in
	}
	return inputs
}

// signPresigned runs the online part with in at every signer, checks that they all produced
// the same signature and that crypto/ed25519 accepts it over signed, and returns it.
func signPresigned(t testing.TB, fx *keygenFixture, pres map[protocol.PartyID]protocol.Presignature, in protocol.SignInput, signed []byte) []byte {
	t.Helper()
	return checkSignatures(t, fx, execute(t, onlineRuns(t, pres, sameInput(pres, in)), nil), signed)
}

func checkSignatures(t testing.TB, fx *keygenFixture, results map[protocol.PartyID]protocol.Result, signed []byte) []byte {
	t.Helper()
	var sig []byte
	for p, res := range results {
		if res.Err != nil || res.Signature == nil {
			t.Fatalf("online sign: %s: %+v", p, res)
		}
		if sig == nil {
			sig = res.Signature.Encoded
		}
		if !bytes.Equal(sig, res.Signature.Encoded) {
			t.Fatal("online sign: signers produced different signatures")
		}
	}
	if len(sig) != SignatureSize || !ed25519.Verify(fx.publicKey, signed, sig) {
		t.Fatal("online sign: crypto/ed25519 refuses the signature")
	}
	return sig
}

func TestPresignThenSign(t *testing.T) {
	message := make([]byte, 1500)
	if _, err := rand.Read(message); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		n, threshold int
		signers      []protocol.PartyID
	}{
		{3, 2, protocoltest.IDs(1, 3)},
		{5, 3, protocoltest.IDs(2, 4, 5)},
	} {
		t.Run(fmt.Sprintf("%d-of-%d", tc.threshold, tc.n), func(t *testing.T) {
			fx := getFixture(t, tc.n, tc.threshold)
			digest := protocoltest.DigestOf("presigned digest")
			a := signPresigned(t, fx, presignAll(t, fx, tc.signers), protocol.SignInput{Digest: digest}, digest[:])
			// A message wins over the digest, which must then play no part.
			b := signPresigned(t, fx, presignAll(t, fx, tc.signers), protocol.SignInput{Digest: digest, Message: message}, message)
			if ed25519.Verify(fx.publicKey, digest[:], b) {
				t.Fatal("the signature of the message also verifies over the digest")
			}
			if bytes.Equal(a[:32], b[:32]) {
				t.Fatal("two presignatures share R: nonces were reused")
			}
		})
	}
}

// TestPresignatureSingleUse: a presignature signs once; Discard stops it from signing and
// does not touch a run that already took it.
func TestPresignatureSingleUse(t *testing.T) {
	fx := getFixture(t, 3, 2)
	signers := protocoltest.IDs(1, 2)
	digest := protocoltest.DigestOf("single use")

	pres := presignAll(t, fx, signers)
	runs := onlineRuns(t, pres, sameInput(pres, protocol.SignInput{Digest: digest}))
	for p, ps := range pres {
		if _, err := ps.Sign(protocol.SignInput{Digest: digest}); !errors.Is(err, ErrPresignatureUsed) {
			t.Fatalf("%s: second Sign: %v, want %v", p, err, ErrPresignatureUsed)
		}
		ps.Discard() // too late: the online run owns the secrets now
	}
	checkSignatures(t, fx, execute(t, runs, nil), digest[:])

	pres = presignAll(t, fx, signers)
	ps := pres[1]
	state := ps.(*presignature).state
	ps.Discard()
	ps.Discard()
	if !state.key.secret.IsZero() || !state.nonces.HidingNonce.IsZero() || !state.nonces.BindingNonce.IsZero() {
		t.Fatal("Discard left a secret of the presignature in memory")
	}
	if _, err := ps.Sign(protocol.SignInput{Digest: digest}); !errors.Is(err, ErrPresignatureDiscarded) {
		t.Fatalf("Sign after Discard: %v, want %v", err, ErrPresignatureDiscarded)
	}
	pres[2].Discard()
}

func TestPresignatureRefusedInputBurnsIt(t *testing.T) {
	fx := getFixture(t, 3, 2)
	pres := presignAll(t, fx, protocoltest.IDs(2, 3))
	defer pres[3].Discard()
	state := pres[2].(*presignature).state
	_, err := pres[2].Sign(protocol.SignInput{Message: make([]byte, protocol.MaxMessageBytes+1)})
	if err == nil || !strings.Contains(err.Error(), "at most") {
		t.Fatalf("Sign of an oversized message: %v", err)
	}
	if !state.key.secret.IsZero() || !state.nonces.HidingNonce.IsZero() {
		t.Fatal("a refused Sign left the presignature's secrets in memory")
	}
	if _, err := pres[2].Sign(protocol.SignInput{}); !errors.Is(err, ErrPresignatureUsed) {
		t.Fatalf("Sign after a refused Sign: %v, want %v", err, ErrPresignatureUsed)
	}
}

func TestPresignatureConcurrentSign(t *testing.T) {
	fx := getFixture(t, 3, 2)
	pres := presignAll(t, fx, protocoltest.IDs(1, 2))
	defer pres[2].Discard()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		won  []protocol.Run
		errs []error
	)
	for range 8 {
		wg.Go(func() {
			r, err := pres[1].Sign(protocol.SignInput{Digest: protocoltest.DigestOf("race")})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			won = append(won, r)
		})
	}
	wg.Wait()
	if len(won) != 1 || len(errs) != 7 {
		t.Fatalf("%d of 8 concurrent Sign calls succeeded (errors: %v), want exactly 1", len(won), errs)
	}
	for _, err := range errs {
		if !errors.Is(err, ErrPresignatureUsed) {
			t.Fatalf("losing Sign: %v, want %v", err, ErrPresignatureUsed)
		}
	}
	won[0].Abort(errors.New("test over"))
	protocoltest.CheckAbortedOnce(t, won[0], "sign")
}

// TestPresignatureSignRacesDiscard: whichever of Sign and Discard takes the presignature
// first wins; every other Sign fails with the winner's reason.
func TestPresignatureSignRacesDiscard(t *testing.T) {
	fx := getFixture(t, 3, 2)
	wins := map[bool]int{}
	for range 20 {
		pres := presignAll(t, fx, protocoltest.IDs(1, 3))
		pres[3].Discard()
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			won  []protocol.Run
			errs []error
		)
		for i := range 8 {
			wg.Go(func() {
				if i%2 == 0 {
					pres[1].Discard()
					return
				}
				r, err := pres[1].Sign(protocol.SignInput{})
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
					return
				}
				won = append(won, r)
			})
		}
		wg.Wait()
		want := ErrPresignatureDiscarded
		if len(won) == 1 {
			want = ErrPresignatureUsed
			won[0].Abort(nil)
		}
		if len(won) > 1 || len(won)+len(errs) != 4 {
			t.Fatalf("%d Sign calls succeeded, %d failed", len(won), len(errs))
		}
		for _, err := range errs {
			if !errors.Is(err, want) {
				t.Fatalf("losing Sign: %v, want %v", err, want)
			}
		}
		wins[len(won) == 1]++
	}
	t.Logf("Sign won %d times, Discard %d times", wins[true], wins[false])
}

// TestPresignedDifferentDigests: signers bound to different digests end with errors, and
// the shares they sent sum to no signature either digest verifies.
func TestPresignedDifferentDigests(t *testing.T) {
	a, b := protocoltest.DigestOf("digest a"), protocoltest.DigestOf("digest b")
	for _, tc := range []struct {
		n, threshold int
		bound        map[protocol.PartyID][32]byte
		culprits     map[protocol.PartyID][]protocol.PartyID
	}{
		{3, 2, map[protocol.PartyID][32]byte{1: a, 3: b}, map[protocol.PartyID][]protocol.PartyID{1: {3}, 3: {1}}},
		{5, 3, map[protocol.PartyID][32]byte{1: a, 2: a, 4: b}, map[protocol.PartyID][]protocol.PartyID{1: {4}, 2: {4}, 4: {1, 2}}},
	} {
		t.Run(fmt.Sprintf("%d-of-%d", tc.threshold, tc.n), func(t *testing.T) {
			fx := getFixture(t, tc.n, tc.threshold)
			var signers []protocol.PartyID
			inputs := map[protocol.PartyID]protocol.SignInput{}
			for p, d := range tc.bound {
				signers = append(signers, p)
				inputs[p] = protocol.SignInput{Digest: d}
			}
			slices.Sort(signers)
			pres := presignAll(t, fx, signers)

			var (
				mu     sync.Mutex
				shares = map[protocol.PartyID]*message{}
			)
			record := func(from, _ protocol.PartyID, _ bool, payload []byte) []byte {
				if m, err := decodePayload(payload); err == nil && m.kind == kindSigShare {
					mu.Lock()
					shares[from] = m
					mu.Unlock()
				}
				return payload
			}
			results := execute(t, onlineRuns(t, pres, inputs), record)
			for p, res := range results {
				if res.Signature != nil {
					t.Fatalf("%s produced a signature", p)
				}
				pe := protocoltest.WantCulprits(t, res, tc.culprits[p]...)
				if pe.Task != "sign" || pe.Round != 2 {
					t.Fatalf("%s: error %v", p, pe)
				}
			}
			if len(shares) != len(signers) {
				t.Fatalf("%d signature shares on the wire, want %d", len(shares), len(signers))
			}
			for _, d := range [][32]byte{a, b} {
				if sig := sumShares(t, fx, signers, shares, d[:]); ed25519.Verify(fx.publicKey, d[:], sig) {
					t.Fatalf("the shares on the wire sum to a signature of %q", d)
				}
			}
		})
	}
}

// sumShares aggregates the signature shares seen on the wire as a coordinator would for msg:
// R of the commitment list they carry, and the sum of the shares.
func sumShares(t *testing.T, fx *keygenFixture, signers []protocol.PartyID, shares map[protocol.PartyID]*message, msg []byte) []byte {
	t.Helper()
	pairs := shares[signers[0]].list
	list := make([]signerCommitment, len(pairs))
	for i, pair := range pairs {
		c := signerCommitment{id: identifier(fx.parties, signers[i]), enc: pair}
		var err error
		if c.hiding, err = decodePoint(pair[:elementSize]); err == nil {
			c.binding, err = decodePoint(pair[elementSize:])
		}
		if err != nil {
			t.Fatal(err)
		}
		list[i] = c
	}
	var groupKey [elementSize]byte
	copy(groupKey[:], fx.publicKey)
	s, err := newSession(groupKey, list, msg)
	if err != nil {
		t.Fatal(err)
	}
	zs := make([]*edwards25519.Scalar, 0, len(signers))
	for _, p := range signers {
		z, err := edwards25519.NewScalar().SetCanonicalBytes(shares[p].sigShare.Encode())
		if err != nil {
			t.Fatal(err)
		}
		zs = append(zs, z)
	}
	return s.aggregate(zs)
}

func TestPresignaturesUsedInReverseOrder(t *testing.T) {
	fx := getFixture(t, 5, 3)
	signers := protocoltest.IDs(1, 3, 5)
	first, second := presignAll(t, fx, signers), presignAll(t, fx, signers)
	d2, d1 := protocoltest.DigestOf("second presignature"), protocoltest.DigestOf("first presignature")
	s2 := signPresigned(t, fx, second, protocol.SignInput{Digest: d2}, d2[:])
	s1 := signPresigned(t, fx, first, protocol.SignInput{Digest: d1}, d1[:])
	if bytes.Equal(s1[:32], s2[:32]) {
		t.Fatal("two presignatures share R")
	}
}

// TestOnlineRunWipesSecrets: the online run's nonces and key copy are zero once it has
// signed.
func TestOnlineRunWipesSecrets(t *testing.T) {
	fx := getFixture(t, 3, 2)
	pres := presignAll(t, fx, protocoltest.IDs(1, 2))
	state := pres[1].(*presignature).state
	digest := protocoltest.DigestOf("wipe")
	signPresigned(t, fx, pres, protocol.SignInput{Digest: digest}, digest[:])
	if !state.key.secret.IsZero() || !state.nonces.HidingNonce.IsZero() || !state.nonces.BindingNonce.IsZero() {
		t.Fatal("the online run left a secret in memory")
	}
}

func TestPresignRefuses(t *testing.T) {
	fx := getFixture(t, 3, 2)
	good := protocol.PresignParams{Self: 1, Signers: protocoltest.IDs(1, 2), Share: fx.shares[1], SessionNonce: newNonce(t)}
	for _, tc := range []struct {
		name   string
		modify func(*protocol.PresignParams)
		want   string
	}{
		{"derivation", func(p *protocol.PresignParams) { p.Derivation = &protocol.Derivation{Path: []uint32{1}} }, "no derived children"},
		{"short session nonce", func(p *protocol.PresignParams) { p.SessionNonce = p.SessionNonce[:31] }, "session nonce of 31 bytes"},
		{"three signers", func(p *protocol.PresignParams) { p.Signers = protocoltest.IDs(1, 2, 3) }, "needs exactly 2"},
		{"self not a signer", func(p *protocol.PresignParams) { p.Signers = protocoltest.IDs(2, 3) }, "not one of the signers"},
		{"another party's share", func(p *protocol.PresignParams) { p.Share = fx.shares[2] }, "belongs to party 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := good
			tc.modify(&p)
			r, err := Engine{}.Presign(p)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Presign: run %v, error %v, want one saying %q", r, err, tc.want)
			}
		})
	}
	r, err := Engine{}.Presign(good)
	if err != nil {
		t.Fatalf("Presign with good parameters: %v", err)
	}
	r.Abort(nil)
	protocoltest.CheckAbortedOnce(t, r, "presign")
}

// TestPresignBlamesBadCommitments: a presign run checks commitments as a sign run does.
func TestPresignBlamesBadCommitments(t *testing.T) {
	fx := getFixture(t, 3, 2)
	gen := edwards25519.NewGeneratorPoint().Bytes()
	tamper := func(from, _ protocol.PartyID, _ bool, payload []byte) []byte {
		if from != 2 || payloadRound(payload) != 1 {
			return payload
		}
		out := slices.Clone(payload)
		copy(out[headerSize:], gen)
		return out
	}
	res := executeFor(t, presignRuns(t, fx, protocoltest.IDs(1, 2), newNonce(t)), tamper, protocoltest.IDs(1))[1]
	pe := protocoltest.WantCulprits(t, res, 2)
	if pe.Task != "presign" || pe.Round != 1 || !strings.Contains(pe.Error(), "generator") {
		t.Fatalf("error %v", pe)
	}
}

// TestOnlineRunKeepsThePresignedCommitments: in the online run, a replay of a presign
// commitment is ignored and other commitments from the same signer are blamed on it.
func TestOnlineRunKeepsThePresignedCommitments(t *testing.T) {
	fx := getFixture(t, 3, 2)
	nonce := newNonce(t)
	var (
		mu   sync.Mutex
		sent = map[protocol.PartyID][]byte{}
	)
	record := func(from, _ protocol.PartyID, _ bool, payload []byte) []byte {
		mu.Lock()
		sent[from] = payload
		mu.Unlock()
		return payload
	}
	pres := presignResults(t, execute(t, presignRuns(t, fx, protocoltest.IDs(1, 2), nonce), record))
	defer pres[2].Discard()
	r, err := pres[1].Sign(protocol.SignInput{Digest: protocoltest.DigestOf("replay")})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Abort(nil)
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	if err := r.Handle(2, true, sent[2]); err != nil {
		t.Fatalf("a replayed commitment: %v", err)
	}
	b := edwards25519.NewGeneratorPoint().Bytes()
	other := fixed(new(edwards25519.Point).Add(edwards25519.NewGeneratorPoint(), edwards25519.NewGeneratorPoint()).Bytes())
	err = r.Handle(2, true, encodeCommitment(nonce, 2, other, fixed(b)))
	if pe := protocoltest.ProtoErr(t, err); !slices.Equal(pe.Culprits, protocoltest.IDs(2)) || pe.Round != 1 {
		t.Fatalf("other commitments in the online run: %v", err)
	}
}

// TestSharesThatReachThePresignRun: a signer that completes its presignature late gets the
// others' signature shares in its presign run; its online run uses them, and with all of
// them there it ends in Start.
func TestSharesThatReachThePresignRun(t *testing.T) {
	fx := getFixture(t, 5, 3)
	signers := protocoltest.IDs(1, 2, 3)
	runs := presignRuns(t, fx, signers, newNonce(t))
	commitments := map[protocol.PartyID][]byte{}
	for _, p := range signers {
		if err := runs[p].Start(); err != nil {
			t.Fatal(err)
		}
		commitments[p] = next(t, runs[p]).Payload
	}
	deliver := func(to, from protocol.PartyID, payload []byte) {
		t.Helper()
		if err := runs[to].Handle(from, true, payload); err != nil {
			t.Fatalf("%s handling %s's payload: %v", to, from, err)
		}
	}
	// Party 2 does not hear from party 3 yet.
	for _, to := range signers {
		for _, from := range signers {
			if from != to && (to != 2 || from != 3) {
				deliver(to, from, commitments[from])
			}
		}
	}
	digest := protocoltest.DigestOf("late presignature")
	pres := map[protocol.PartyID]protocol.Presignature{}
	online := map[protocol.PartyID]protocol.Run{}
	shares := map[protocol.PartyID][]byte{}
	for _, p := range []protocol.PartyID{1, 3} {
		pres[p] = presignResults(t, map[protocol.PartyID]protocol.Result{p: awaitDone(t, runs[p])})[p]
		r, err := pres[p].Sign(protocol.SignInput{Digest: digest})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Start(); err != nil {
			t.Fatal(err)
		}
		online[p], shares[p] = r, next(t, r).Payload
		deliver(2, p, shares[p])
	}
	deliver(2, 3, commitments[3])
	pres[2] = presignResults(t, map[protocol.PartyID]protocol.Result{2: awaitDone(t, runs[2])})[2]
	if n := len(pres[2].(*presignature).state.pending); n != 2 {
		t.Fatalf("party 2's presignature kept %d early signature shares, want 2", n)
	}
	r, err := pres[2].Sign(protocol.SignInput{Digest: digest})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	online[2], shares[2] = r, next(t, r).Payload
	results := map[protocol.PartyID]protocol.Result{2: awaitDone(t, online[2])}
	for _, to := range []protocol.PartyID{1, 3} {
		for _, from := range signers {
			if from != to {
				if err := online[to].Handle(from, true, shares[from]); err != nil {
					t.Fatalf("%s handling %s's share: %v", to, from, err)
				}
			}
		}
		results[to] = awaitDone(t, online[to])
	}
	checkSignatures(t, fx, results, digest[:])
}

func next(t testing.TB, r protocol.Run) protocol.Outgoing {
	t.Helper()
	select {
	case o := <-r.Outgoing():
		return o
	case <-time.After(testTimeout):
		t.Fatalf("%v emitted nothing within %v", r, testTimeout)
	}
	return protocol.Outgoing{}
}

func awaitDone(t testing.TB, r protocol.Run) protocol.Result {
	t.Helper()
	select {
	case res := <-r.Done():
		return res
	case <-time.After(testTimeout):
		t.Fatalf("%v gave no result within %v", r, testTimeout)
	}
	return protocol.Result{}
}

// BenchmarkPresign2of3 runs both signers' presign runs of a 2-of-3 key in one process.
func BenchmarkPresign2of3(b *testing.B) {
	fx := getFixture(b, 3, 2)
	nonce := newNonce(b)
	signers := protocoltest.IDs(1, 2)
	b.ReportAllocs()
	for b.Loop() {
		for _, ps := range presignExchange(b, presignRuns(b, fx, signers, nonce), signers) {
			ps.Discard()
		}
	}
}

// BenchmarkPresignedSign2of3 measures the online part only: both signers' online runs of a
// 2-of-3 key, with the share exchange, aggregation and the crypto/ed25519 checks. The
// presigning runs with the timer stopped.
func BenchmarkPresignedSign2of3(b *testing.B) {
	fx := getFixture(b, 3, 2)
	nonce := newNonce(b)
	signers := protocoltest.IDs(1, 2)
	in := protocol.SignInput{Digest: protocoltest.DigestOf("bench")}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		pres := presignExchange(b, presignRuns(b, fx, signers, nonce), signers)
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
