package taproot

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/protocoltest"
)

func presignRuns(t testing.TB, fx *keygenFixture, signers []protocol.PartyID, nonce []byte) map[protocol.PartyID]protocol.Run {
	t.Helper()
	return protocoltest.PresignRuns(t, Engine{}, fx.shares, signers, nonce)
}

// presignAll runs a presign for signers and returns every signer's presignature.
func presignAll(t testing.TB, fx *keygenFixture, signers []protocol.PartyID) map[protocol.PartyID]protocol.Presignature {
	t.Helper()
	return protocoltest.Presignatures(t, execute(t, presignRuns(t, fx, signers, newNonce(t)), nil))
}

// opened takes ps's state and puts it in a new presignature, returned with the state, so that
// a test can watch the secrets of a presignature that signs or is discarded: a presignature
// shows nobody its state, and this takes it the way Sign does.
func opened(t testing.TB, ps protocol.Presignature) (protocol.Presignature, *presigned) {
	t.Helper()
	p := ps.(*presignature)
	state, err := p.state.Take(errors.New("taken by the test"))
	if err != nil {
		t.Fatalf("opening %v: %v", p, err)
	}
	return newPresignature(p.self, p.signers, state), state
}

// holdsSecrets reports whether any secret of state is nonzero.
func holdsSecrets(state *presigned) bool {
	return !state.key.secret.IsZero() || !state.nonces.hiding.IsZero() || !state.nonces.binding.IsZero()
}

// signPresigned runs the online part over digest at every signer and returns the signature
// they all produced, verified by btcec under the output key.
func signPresigned(t testing.TB, fx *keygenFixture, pres map[protocol.PartyID]protocol.Presignature, digest [32]byte) []byte {
	t.Helper()
	in := protocoltest.SameInput(slices.Sorted(maps.Keys(pres)), protocol.SignInput{Digest: digest})
	return checkSignatures(t, fx, execute(t, protocoltest.BindAll(t, pres, in), nil), digest)
}

// checkSignatures checks that every run ended with the same signature and that btcec's
// BIP340 verifier accepts it over digest under the output key.
func checkSignatures(t testing.TB, fx *keygenFixture, results map[protocol.PartyID]protocol.Result, digest [32]byte) []byte {
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
	btcecVerify(t, fx.publicKey, digest, sig)
	return sig
}

// TestDiscardWipesSecrets: Discard wipes a presignature's secrets, and the presignature
// then says it was discarded when printed.
func TestDiscardWipesSecrets(t *testing.T) {
	fx := getFixture(t, 3, 2)
	pres := presignAll(t, fx, protocoltest.IDs(1, 2))
	defer pres[2].Discard()
	ps, state := opened(t, pres[1])
	if !holdsSecrets(state) {
		t.Fatal("a fresh presignature holds no secrets")
	}
	ps.Discard()
	if holdsSecrets(state) {
		t.Fatal("Discard left a secret of the presignature in memory")
	}
	if s := fmt.Sprintf("%v %#v", ps, ps); !strings.Contains(s, "discarded") {
		t.Fatalf("a discarded presignature prints as %q", s)
	}
}

// TestPresignatureRefusesMessage: BIP340 signs a digest; a message is refused, saying so,
// and the presignature's secrets are wiped. (The conformance suite checks that it is burnt.)
func TestPresignatureRefusesMessage(t *testing.T) {
	fx := getFixture(t, 3, 2)
	pres := presignAll(t, fx, protocoltest.IDs(2, 3))
	defer pres[3].Discard()
	ps, state := opened(t, pres[2])
	_, err := ps.Sign(protocol.SignInput{Digest: protocoltest.DigestOf("d"), Message: []byte("a message")})
	if err == nil || !strings.Contains(err.Error(), "not a message") {
		t.Fatalf("Sign of a message: %v", err)
	}
	if holdsSecrets(state) {
		t.Fatal("a refused Sign left the presignature's secrets in memory")
	}
}

// TestPresignedDifferentDigests: signers bound to different digests end with errors naming
// the signers bound to another digest than their own, and the shares they sent add up to no
// signature that btcec accepts over either digest. (The conformance suite checks only that
// no signer ends with a signature.)
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
			var state *presigned
			pres[signers[0]], state = opened(t, pres[signers[0]])
			list := commitmentList(state, signers)

			var (
				mu     sync.Mutex
				shares = map[protocol.PartyID]*btcec.ModNScalar{}
			)
			record := func(from, _ protocol.PartyID, _ bool, payload []byte) []byte {
				if m, err := decodePayload(payload); err == nil && m.kind == kindSigShare {
					mu.Lock()
					shares[from] = m.z
					mu.Unlock()
				}
				return payload
			}
			results := execute(t, protocoltest.BindAll(t, pres, inputs), record)
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
				s, err := newSession(fx.publicKey, list, d[:])
				if err != nil {
					t.Fatal(err)
				}
				zs := make([]*btcec.ModNScalar, 0, len(signers))
				for _, p := range signers {
					zs = append(zs, shares[p])
				}
				if btcecAccepts(t, fx.publicKey, d, s.aggregate(zs)) {
					t.Fatalf("the shares on the wire add up to a signature of %x", d)
				}
			}
		})
	}
}

// commitmentList returns the commitment list a presignature holds, in signer order.
func commitmentList(state *presigned, signers []protocol.PartyID) []signerCommitment {
	list := make([]signerCommitment, len(signers))
	for i, p := range signers {
		list[i] = state.commitments[p]
	}
	return list
}

// btcecAccepts reports whether btcec's BIP340 verifier accepts sig over digest.
func btcecAccepts(t testing.TB, publicKey []byte, digest [32]byte, sig []byte) bool {
	t.Helper()
	pk, err := schnorr.ParsePubKey(publicKey)
	if err != nil {
		t.Fatal(err)
	}
	s, err := schnorr.ParseSignature(sig)
	return err == nil && s.Verify(digest[:], pk)
}

// TestOnlineRunWipesSecrets: the online run's nonces and key copy are zero once it has
// signed.
func TestOnlineRunWipesSecrets(t *testing.T) {
	fx := getFixture(t, 3, 2)
	pres := presignAll(t, fx, protocoltest.IDs(1, 2))
	var state *presigned
	pres[1], state = opened(t, pres[1])
	signPresigned(t, fx, pres, protocoltest.DigestOf("wipe"))
	if holdsSecrets(state) {
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
		{"no share", func(p *protocol.PresignParams) { p.Share = nil }, "invalid share"},
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
	tamper := func(from, _ protocol.PartyID, _ bool, payload []byte) []byte {
		if from != 2 || payload[1] != kindNonceCommit {
			return payload
		}
		out := slices.Clone(payload)
		out[headerSize] = 0x04 // not a compressed point
		return out
	}
	res := executeUntil(t, presignRuns(t, fx, protocoltest.IDs(1, 2), newNonce(t)), tamper, protocoltest.IDs(1))[1]
	pe := protocoltest.WantCulprits(t, res, 2)
	if pe.Task != "presign" || pe.Round != 1 || !strings.Contains(pe.Error(), "nonce commitment D") {
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
	pres := protocoltest.Presignatures(t, execute(t, presignRuns(t, fx, protocoltest.IDs(1, 2), nonce), record))
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
	err = r.Handle(2, true, encodeNonceCommit(nonce, 2, pointOf(2), pointOf(3)))
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
		commitments[p] = nextPayload(t, runs[p]).Payload
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
		pres[p] = protocoltest.Presignatures(t, map[protocol.PartyID]protocol.Result{p: protocoltest.AwaitDone(t, runs[p])})[p]
		r, err := pres[p].Sign(protocol.SignInput{Digest: digest})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Start(); err != nil {
			t.Fatal(err)
		}
		online[p], shares[p] = r, nextPayload(t, r).Payload
		deliver(2, p, shares[p])
	}
	deliver(2, 3, commitments[3])
	pres[2] = protocoltest.Presignatures(t, map[protocol.PartyID]protocol.Result{2: protocoltest.AwaitDone(t, runs[2])})[2]
	var state *presigned
	pres[2], state = opened(t, pres[2])
	if n := len(state.pending); n != 2 {
		t.Fatalf("party 2's presignature kept %d early signature shares, want 2", n)
	}
	r, err := pres[2].Sign(protocol.SignInput{Digest: digest})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	online[2], shares[2] = r, nextPayload(t, r).Payload
	results := map[protocol.PartyID]protocol.Result{2: protocoltest.AwaitDone(t, online[2])}
	for _, to := range []protocol.PartyID{1, 3} {
		for _, from := range signers {
			if from != to {
				if err := online[to].Handle(from, true, shares[from]); err != nil {
					t.Fatalf("%s handling %s's share: %v", to, from, err)
				}
			}
		}
		results[to] = protocoltest.AwaitDone(t, online[to])
	}
	checkSignatures(t, fx, results, digest)
}
