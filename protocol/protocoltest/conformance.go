package protocoltest

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// Conformance describes one engine under test and a key it made, for EngineConformance.
type Conformance struct {
	// Engine is the engine under test.
	Engine protocol.Engine
	// Shares are the shares of one key of at least three parties, made by Engine (each engine
	// package supplies them from its own fixtures: the suite never runs a keygen).
	Shares map[protocol.PartyID][]byte
	// Threshold is how many of the parties sign together (protocol.SignParams.Signers).
	Threshold int
	// Verify checks sig over signed under publicKey (as Engine.PublicKey reports it) with an
	// implementation that shares no code with the engine. sig is SignatureBytes of the
	// signature; signed is the 32-byte digest, or the message for engines that sign messages.
	Verify func(publicKey, signed, sig []byte) error
	// SignsMessages says the engine signs protocol.SignParams.Message (whole messages, as
	// Ed25519 does); otherwise the engine must refuse a Message (protocol.SignParams.DigestOnly).
	SignsMessages bool
	// PresignatureUsed and PresignatureDiscarded are the errors (matched with errors.Is) that
	// a presignature's Sign returns once the presignature has been used, and once it has been
	// discarded. An engine that does not tell the two apart names the same error twice.
	// Required when Engine is a protocol.Presigner.
	PresignatureUsed, PresignatureDiscarded error
}

// SignatureBytes is what EngineConformance hands Verify: Signature.Bytes(), followed for an
// ECDSA signature by its recovery id (r||s||v, the form go-ethereum's Ecrecover takes), so that
// the verifier can check the recovery id too.
func SignatureBytes(s *protocol.Signature) []byte {
	b := s.Bytes()
	if s.IsECDSA() {
		b = append(b, s.RecoveryID)
	}
	return b
}

// batchSize is how many signing runs the Batch subtest bundles.
const batchSize = 3

// EngineConformance runs the checks every protocol.Engine must pass, each as a named subtest:
// PublicKey, SignEverySubset, Message, RunContract, Presign (only for a protocol.Presigner) and
// Batch. Every signature it makes is checked by c.Verify, and c.Verify is shown to refuse it
// over other bytes, so that a verifier that accepts anything fails the suite.
func EngineConformance(t *testing.T, c Conformance) {
	t.Helper()
	if err := c.validate(); err != nil {
		t.Fatalf("conformance description: %v", err)
	}
	t.Run("PublicKey", c.testPublicKey)
	t.Run("SignEverySubset", c.testSignEverySubset)
	t.Run("Message", c.testMessage)
	t.Run("RunContract", c.testRunContract)
	if _, ok := c.Engine.(protocol.Presigner); ok {
		t.Run("Presign", c.testPresign)
	}
	t.Run("Batch", c.testBatch)
}

// validate refuses a description the suite cannot test with.
func (c Conformance) validate() error {
	n := len(c.Shares)
	switch {
	case c.Engine == nil:
		return errors.New("no Engine")
	case c.Verify == nil:
		return errors.New("no Verify: the suite needs an independent verifier")
	case n < 3:
		return fmt.Errorf("a key of %d parties: the suite needs at least 3", n)
	case c.Threshold < 2 || c.Threshold > n:
		return fmt.Errorf("threshold %d out of range [2, %d]", c.Threshold, n)
	}
	if _, ok := c.Engine.(protocol.Presigner); ok && (c.PresignatureUsed == nil || c.PresignatureDiscarded == nil) {
		return errors.New("a Presigner without PresignatureUsed and PresignatureDiscarded: the suite checks Sign's errors against them")
	}
	return nil
}

// parties returns the key's parties in ascending order.
func (c Conformance) parties() []protocol.PartyID {
	ps := make([]protocol.PartyID, 0, len(c.Shares))
	for p := range c.Shares {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	return ps
}

// signers is the signer set the single-set subtests use: the last Threshold parties, so that a
// party other than the first signs too.
func (c Conformance) signers() []protocol.PartyID {
	ps := c.parties()
	return ps[len(ps)-c.Threshold:]
}

// publicKey returns the group key, failing the test unless every share reports the same one.
func (c Conformance) publicKey(t *testing.T) []byte {
	t.Helper()
	var pub []byte
	for _, p := range c.parties() {
		got, err := c.Engine.PublicKey(c.Shares[p])
		switch {
		case err != nil:
			t.Fatalf("PublicKey of %s's share: %v", p, err)
		case len(got) == 0:
			t.Fatalf("PublicKey of %s's share is empty", p)
		case pub == nil:
			pub = got
		case !bytes.Equal(got, pub):
			t.Fatalf("PublicKey of %s's share is %x, another share's is %x", p, got, pub)
		}
	}
	return pub
}

func (c Conformance) testPublicKey(t *testing.T) {
	c.publicKey(t)
	if pub, err := c.Engine.PublicKey([]byte("not a share")); err == nil {
		t.Fatalf("PublicKey of garbage = %x, want an error", pub)
	}
}

// testSignEverySubset signs a fresh digest with every Threshold-sized subset of the parties.
func (c Conformance) testSignEverySubset(t *testing.T) {
	pub := c.publicKey(t)
	seen := map[string][]protocol.PartyID{}
	for _, signers := range subsets(c.parties(), c.Threshold) {
		t.Run(setName(signers), func(t *testing.T) {
			digest := randomDigest(t)
			sig := c.signOnce(t, signers, protocol.SignParams{Digest: digest})
			c.verifyOnly(t, pub, digest[:], sig)
			if earlier, ok := seen[string(sig)]; ok {
				t.Fatalf("signers %v made the same signature as %v over another digest", signers, earlier)
			}
			seen[string(sig)] = signers
		})
	}
}

// testMessage signs a whole message on engines that sign messages; every other engine must
// refuse one rather than sign something a verifier would not expect.
func (c Conformance) testMessage(t *testing.T) {
	signers := c.signers()
	msg := randomBytes(t, 77) // not 32 bytes: a message, not a digest
	if !c.SignsMessages {
		r, err := c.Engine.Sign(c.signParams(signers[0], signers, protocol.SignParams{Message: msg}, randomBytes(t, 32)))
		if err == nil {
			r.Abort(nil)
			t.Fatal("Sign accepted a Message from a digest-only engine")
		}
		return
	}
	pub := c.publicKey(t)
	digest := randomDigest(t)
	sig := c.signOnce(t, signers, protocol.SignParams{Digest: digest, Message: msg})
	c.verifyOnly(t, pub, msg, sig)
	if c.Verify(pub, digest[:], sig) == nil {
		t.Fatal("the signature of a message also verifies over the digest: the message was not what was signed")
	}
}

// signParams completes what for one signer: the share, the signer set and the session nonce.
func (c Conformance) signParams(self protocol.PartyID, signers []protocol.PartyID, what protocol.SignParams, nonce []byte) protocol.SignParams {
	what.Self = self
	what.Signers = slices.Clone(signers)
	what.Share = c.Shares[self]
	what.SessionNonce = slices.Clone(nonce)
	return what
}

// signRuns makes one signing run per signer, all over what with one fresh session nonce.
func (c Conformance) signRuns(t *testing.T, signers []protocol.PartyID, what protocol.SignParams) map[protocol.PartyID]protocol.Run {
	t.Helper()
	nonce := randomBytes(t, 32)
	runs := make(map[protocol.PartyID]protocol.Run, len(signers))
	for _, p := range signers {
		r, err := c.Engine.Sign(c.signParams(p, signers, what, nonce))
		if err != nil {
			abortAll(runs)
			t.Fatalf("Sign(%s): %v", p, err)
		}
		runs[p] = r
	}
	return runs
}

// signOnce runs one signing among signers and returns the signature they all made.
func (c Conformance) signOnce(t *testing.T, signers []protocol.PartyID, what protocol.SignParams) []byte {
	t.Helper()
	return commonSignature(t, Execute(t, c.signRuns(t, signers, what), nil))
}

// verifyOnly checks that Verify accepts sig over signed and refuses it over other bytes.
func (c Conformance) verifyOnly(t *testing.T, pub, signed, sig []byte) {
	t.Helper()
	if err := c.Verify(pub, signed, sig); err != nil {
		t.Fatalf("the independent verifier refuses signature %x over %x: %v", sig, signed, err)
	}
	other := slices.Clone(signed)
	other[len(other)-1] ^= 0x01
	if c.Verify(pub, other, sig) == nil {
		t.Fatalf("the verifier also accepts signature %x over other bytes: it is not checking anything", sig)
	}
}

// commonSignature checks that every run made a signature, the same one, and returns it.
func commonSignature(t *testing.T, results map[protocol.PartyID]protocol.Result) []byte {
	t.Helper()
	var first []byte
	var firstParty protocol.PartyID
	for _, p := range sortedKeys(results) {
		res := results[p]
		if res.Err != nil || res.Signature == nil {
			t.Fatalf("%s: signing ended with %+v, want a signature", p, res)
		}
		sig := SignatureBytes(res.Signature)
		if first == nil {
			first, firstParty = sig, p
		} else if !bytes.Equal(sig, first) {
			t.Fatalf("%s made signature %x, %s made %x", p, sig, firstParty, first)
		}
	}
	return first
}

// testRunContract checks what protocol.Run promises, on one signer's sign run.
func (c Conformance) testRunContract(t *testing.T) {
	t.Run("StartTwice", c.testStartTwice)
	t.Run("Abort", c.testAbort)
	t.Run("AbortBeforeStart", c.testAbortBeforeStart)
	t.Run("HandleAfterEnd", c.testHandleAfterEnd)
	t.Run("UndecodablePayload", c.testUndecodablePayload)
}

// ownRun returns a sign run of the first signer of c.signers(), not started, which the test
// aborts when it ends, and the peer it signs with.
func (c Conformance) ownRun(t *testing.T) (protocol.Run, protocol.PartyID) {
	t.Helper()
	signers := c.signers()
	r, err := c.Engine.Sign(c.signParams(signers[0], signers, protocol.SignParams{Digest: randomDigest(t)}, randomBytes(t, 32)))
	if err != nil {
		t.Fatalf("Sign(%s): %v", signers[0], err)
	}
	t.Cleanup(func() { r.Abort(nil) })
	return r, signers[1]
}

func (c Conformance) testStartTwice(t *testing.T) {
	r, _ := c.ownRun(t)
	if err := r.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if err := r.Start(); err == nil {
		t.Fatal("a second Start succeeded")
	}
}

func (c Conformance) testAbort(t *testing.T) {
	r, peer := c.ownRun(t)
	if err := r.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	cause := errors.New("conformance: operator cancelled")
	r.Abort(cause)
	r.Abort(errors.New("conformance: a second abort"))
	res := CheckAbortedOnce(t, r, "sign")
	if !errors.Is(res.Err, cause) {
		t.Fatalf("Done yields %v, which does not wrap the first Abort's cause", res.Err)
	}
	if err := r.Start(); err == nil {
		t.Fatal("Start after Abort succeeded")
	}
	if err := r.Handle(peer, true, []byte{1}); err == nil {
		t.Fatal("Handle after Abort succeeded")
	}
}

func (c Conformance) testAbortBeforeStart(t *testing.T) {
	r, _ := c.ownRun(t)
	r.Abort(nil)
	CheckAbortedOnce(t, r, "sign")
	if err := r.Start(); err == nil {
		t.Fatal("Start after Abort succeeded")
	}
}

// testHandleAfterEnd replays, after a successful signing, a payload the run accepted during
// it: an engine that forgot it has ended would take it as a harmless duplicate.
func (c Conformance) testHandleAfterEnd(t *testing.T) {
	signers := c.signers()
	self, peer := signers[0], signers[1]
	runs := c.signRuns(t, signers, protocol.SignParams{Digest: randomDigest(t)})
	rec := &firstPayload{from: peer, to: self}
	commonSignature(t, Execute(t, runs, rec.tamper))
	payload, broadcast, ok := rec.get()
	if !ok {
		t.Fatalf("%s sent %s nothing during the signing", peer, self)
	}
	if err := runs[self].Handle(peer, broadcast, payload); err == nil {
		t.Fatalf("Handle after the run ended accepted a payload from %s", peer)
	}
}

// testUndecodablePayload feeds a payload no engine can decode: the run must fail and blame the
// signer it came from.
func (c Conformance) testUndecodablePayload(t *testing.T) {
	r, peer := c.ownRun(t)
	if err := r.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	garbage := bytes.Repeat([]byte{0xff}, 64)
	err := r.Handle(peer, true, garbage)
	if err == nil {
		t.Fatalf("Handle accepted %d bytes of 0xff from %s", len(garbage), peer)
	}
	WantCulprits(t, protocol.Result{Err: err}, peer)
	WantCulprits(t, AwaitDone(t, r), peer)
}

// firstPayload records the first payload one party sends another, through Execute's tamper.
type firstPayload struct {
	from, to protocol.PartyID

	mu        sync.Mutex // Execute delivers payloads on many goroutines
	payload   []byte
	broadcast bool
}

func (f *firstPayload) tamper(from, to protocol.PartyID, broadcast bool, payload []byte) []byte {
	if from == f.from && to == f.to {
		f.mu.Lock()
		if f.payload == nil {
			f.payload, f.broadcast = slices.Clone(payload), broadcast
		}
		f.mu.Unlock()
	}
	return payload
}

func (f *firstPayload) get() (payload []byte, broadcast, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.payload, f.broadcast, f.payload != nil
}

// raceRounds is how many presignings the SignRacesDiscard subtest races on (each gives one
// race per signer).
const raceRounds = 4

// concurrentSigns is how many goroutines race for one presignature.
const concurrentSigns = 8

// testPresign checks what protocol.Presignature promises: it signs once, verifiably, in any
// order with others; Discard and a refused input consume it; concurrent callers cannot make
// it sign twice; and signers bound to different inputs make no signature.
func (c Conformance) testPresign(t *testing.T) {
	t.Run("SignOnce", c.testPresignSignOnce)
	t.Run("Discard", c.testPresignDiscard)
	t.Run("OutOfOrder", c.testPresignOutOfOrder)
	if c.SignsMessages {
		t.Run("Message", c.testPresignMessage)
	}
	t.Run("RefusedInputBurnsIt", c.testPresignRefusedInput)
	t.Run("ConcurrentSign", c.testPresignConcurrentSign)
	t.Run("SignRacesDiscard", c.testPresignSignRacesDiscard)
	t.Run("DifferentDigests", c.testPresignDifferentDigests)
}

// testPresignSignOnce signs with every signer's presignature. Once bound, a presignature
// refuses a second Sign, and a Discard that comes too late leaves the online run intact.
func (c Conformance) testPresignSignOnce(t *testing.T) {
	pub := c.publicKey(t)
	signers := c.signers()
	pres := c.presignAll(t, signers)
	digest := randomDigest(t)
	runs := BindAll(t, pres, SameInput(signers, protocol.SignInput{Digest: digest}))
	for _, p := range signers {
		if r, err := pres[p].Sign(protocol.SignInput{Digest: randomDigest(t)}); !errors.Is(err, c.PresignatureUsed) {
			abortAll(runs)
			abortIfRun(r)
			t.Fatalf("%s: second Sign of a presignature: %v, want %v", p, err, c.PresignatureUsed)
		}
		pres[p].Discard() // too late: the online run owns the presignature now
	}
	sig := commonSignature(t, Execute(t, runs, nil))
	c.verifyOnly(t, pub, digest[:], sig)
}

// testPresignDiscard: a discarded presignature refuses to sign, and a second Discard does
// nothing.
func (c Conformance) testPresignDiscard(t *testing.T) {
	signers := c.signers()
	pres := c.presignAll(t, signers)
	for _, p := range signers {
		pres[p].Discard()
		pres[p].Discard()
		if r, err := pres[p].Sign(protocol.SignInput{Digest: randomDigest(t)}); !errors.Is(err, c.PresignatureDiscarded) {
			abortIfRun(r)
			t.Fatalf("%s: Sign of a discarded presignature: %v, want %v", p, err, c.PresignatureDiscarded)
		}
	}
}

// testPresignOutOfOrder signs one digest with the second of two presignatures, then with the
// first. Both signatures verify, and they differ: a signature is a function of the key, the
// nonce and the digest, so equal ones would mean that the two presignatures share a nonce.
func (c Conformance) testPresignOutOfOrder(t *testing.T) {
	pub := c.publicKey(t)
	signers := c.signers()
	first, second := c.presignAll(t, signers), c.presignAll(t, signers)
	in := protocol.SignInput{Digest: randomDigest(t)}
	s2 := c.signPresigned(t, second, in)
	s1 := c.signPresigned(t, first, in)
	c.verifyOnly(t, pub, in.Digest[:], s2)
	c.verifyOnly(t, pub, in.Digest[:], s1)
	if bytes.Equal(s1, s2) {
		t.Fatal("two presignatures made the same signature of one digest: they share their nonces")
	}
}

// testPresignMessage: on an engine that signs messages a presignature signs the message, not
// the digest beside it. (RefusedInputBurnsIt checks that other engines refuse a message.)
func (c Conformance) testPresignMessage(t *testing.T) {
	pub := c.publicKey(t)
	signers := c.signers()
	in := protocol.SignInput{Digest: randomDigest(t), Message: randomBytes(t, 1500)}
	sig := c.signPresigned(t, c.presignAll(t, signers), in)
	c.verifyOnly(t, pub, in.Message, sig)
	if c.Verify(pub, in.Digest[:], sig) == nil {
		t.Fatal("the presigned signature of a message also verifies over the digest: the message was not what was signed")
	}
}

// testPresignRefusedInput: an input a presignature refuses (a message on a digest-only
// engine, a message over protocol.MaxMessageBytes on the others) consumes it, as the enclave
// must burn a presignature on any error.
func (c Conformance) testPresignRefusedInput(t *testing.T) {
	signers := c.signers()
	pres := c.presignAll(t, signers)
	bad := protocol.SignInput{Digest: randomDigest(t), Message: randomBytes(t, 77)}
	if c.SignsMessages {
		bad.Message = make([]byte, protocol.MaxMessageBytes+1)
	}
	for _, p := range signers {
		if r, err := pres[p].Sign(bad); err == nil {
			r.Abort(nil)
			t.Fatalf("%s: a presignature accepted a message of %d bytes", p, len(bad.Message))
		}
		if r, err := pres[p].Sign(protocol.SignInput{Digest: randomDigest(t)}); !errors.Is(err, c.PresignatureUsed) {
			abortIfRun(r)
			t.Fatalf("%s: Sign after a refused Sign: %v, want %v", p, err, c.PresignatureUsed)
		}
	}
}

// testPresignConcurrentSign: of many concurrent Sign calls on one presignature exactly one
// gets a run; the others fail as on a used presignature.
func (c Conformance) testPresignConcurrentSign(t *testing.T) {
	signers := c.signers()
	pres := c.presignAll(t, signers)
	won, errs := raceSigns(pres[signers[0]], 0)
	if len(won) != 1 || len(errs) != concurrentSigns-1 {
		abortRuns(won)
		t.Fatalf("%d of %d concurrent Sign calls succeeded (errors: %v), want exactly 1", len(won), concurrentSigns, errs)
	}
	for _, err := range errs {
		if !errors.Is(err, c.PresignatureUsed) {
			t.Fatalf("a losing Sign: %v, want %v", err, c.PresignatureUsed)
		}
	}
	for _, r := range won {
		r.Abort(errors.New("conformance: test over"))
		CheckAbortedOnce(t, r, "sign")
	}
}

// testPresignSignRacesDiscard: whichever of Sign and Discard takes a presignature first wins,
// and every other Sign fails with the winner's reason.
func (c Conformance) testPresignSignRacesDiscard(t *testing.T) {
	signers := c.signers()
	wins := map[bool]int{}
	for range raceRounds {
		pres := c.presignAll(t, signers)
		for _, p := range signers {
			won, errs := raceSigns(pres[p], concurrentSigns/2)
			abortRuns(won)
			want := c.PresignatureDiscarded
			if len(won) == 1 {
				want = c.PresignatureUsed
			}
			if len(won) > 1 || len(won)+len(errs) != concurrentSigns/2 {
				t.Fatalf("%s: %d Sign calls succeeded and %d failed, want at most 1 of %d", p, len(won), len(errs), concurrentSigns/2)
			}
			for _, err := range errs {
				if !errors.Is(err, want) {
					t.Fatalf("%s: a losing Sign: %v, want %v", p, err, want)
				}
			}
			wins[len(won) == 1]++
		}
	}
	t.Logf("Sign won %d times, Discard %d times", wins[true], wins[false])
}

// raceSigns calls ps.Sign on concurrentSigns-discards goroutines and ps.Discard on discards others,
// all at once, and returns the runs the Sign calls got and their errors.
func raceSigns(ps protocol.Presignature, discards int) ([]protocol.Run, []error) {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		won  []protocol.Run
		errs []error
	)
	start := make(chan struct{})
	for i := range concurrentSigns {
		wg.Go(func() {
			<-start
			if i < discards {
				ps.Discard()
				return
			}
			r, err := ps.Sign(protocol.SignInput{Digest: DigestOf(fmt.Sprint("race ", i))})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			won = append(won, r)
		})
	}
	close(start)
	wg.Wait()
	return won, errs
}

// testPresignDifferentDigests binds the first signer to one digest and the others to another:
// every run must fail, and none may end with a signature.
func (c Conformance) testPresignDifferentDigests(t *testing.T) {
	signers := c.signers()
	pres := c.presignAll(t, signers)
	a, b := randomDigest(t), randomDigest(t)
	inputs := SameInput(signers, protocol.SignInput{Digest: b})
	inputs[signers[0]] = protocol.SignInput{Digest: a}
	for p, res := range Execute(t, BindAll(t, pres, inputs), nil) {
		if res.Err == nil || res.Signature != nil || res.Signatures != nil {
			t.Fatalf("%s: signers bound to different digests ended with %+v, want an error only", p, res)
		}
	}
}

// signPresigned binds in to every presignature, runs the online part and returns the
// signature every signer made.
func (c Conformance) signPresigned(t *testing.T, pres map[protocol.PartyID]protocol.Presignature, in protocol.SignInput) []byte {
	t.Helper()
	return commonSignature(t, Execute(t, BindAll(t, pres, SameInput(sortedKeys(pres), in)), nil))
}

// presignAll runs one presign among signers and returns every signer's presignature, which
// the test discards when it ends.
func (c Conformance) presignAll(t *testing.T, signers []protocol.PartyID) map[protocol.PartyID]protocol.Presignature {
	t.Helper()
	runs := PresignRuns(t, c.Engine.(protocol.Presigner), c.Shares, signers, randomBytes(t, 32))
	out := Presignatures(t, Execute(t, runs, nil))
	t.Cleanup(func() {
		for _, ps := range out {
			ps.Discard()
		}
	})
	return out
}

// PresignRuns makes one presign run per signer of the key whose shares are given, all with
// the session nonce.
func PresignRuns(t testing.TB, e protocol.Presigner, shares map[protocol.PartyID][]byte, signers []protocol.PartyID, nonce []byte) map[protocol.PartyID]protocol.Run {
	t.Helper()
	runs := make(map[protocol.PartyID]protocol.Run, len(signers))
	for _, p := range signers {
		r, err := e.Presign(protocol.PresignParams{Self: p, Signers: slices.Clone(signers), Share: shares[p], SessionNonce: slices.Clone(nonce)})
		if err != nil {
			abortAll(runs)
			t.Fatalf("Presign(%s): %v", p, err)
		}
		runs[p] = r
	}
	return runs
}

// Presignatures checks that every presign run ended with a presignature and nothing else, and
// returns them.
func Presignatures(t testing.TB, results map[protocol.PartyID]protocol.Result) map[protocol.PartyID]protocol.Presignature {
	t.Helper()
	out := make(map[protocol.PartyID]protocol.Presignature, len(results))
	for _, p := range sortedKeys(results) {
		res := results[p]
		if res.Err != nil || res.Presignature == nil || res.Signature != nil || res.Keygen != nil {
			t.Fatalf("%s: presign ended with %+v, want a presignature only", p, res)
		}
		out[p] = res.Presignature
	}
	return out
}

// BindAll binds inputs[p] to every signer p's presignature and returns the online runs, not
// started.
func BindAll(t testing.TB, pres map[protocol.PartyID]protocol.Presignature, inputs map[protocol.PartyID]protocol.SignInput) map[protocol.PartyID]protocol.Run {
	t.Helper()
	runs := make(map[protocol.PartyID]protocol.Run, len(pres))
	for _, p := range sortedKeys(pres) {
		r, err := pres[p].Sign(inputs[p])
		if err != nil {
			abortAll(runs)
			t.Fatalf("%s: Presignature.Sign: %v", p, err)
		}
		runs[p] = r
	}
	return runs
}

// SameInput gives every signer the input in.
func SameInput(signers []protocol.PartyID, in protocol.SignInput) map[protocol.PartyID]protocol.SignInput {
	inputs := make(map[protocol.PartyID]protocol.SignInput, len(signers))
	for _, p := range signers {
		inputs[p] = in
	}
	return inputs
}

func abortRuns(runs []protocol.Run) {
	for _, r := range runs {
		r.Abort(nil)
	}
}

// abortIfRun aborts r unless it is nil: a Sign that should have failed but returned a run.
func abortIfRun(r protocol.Run) {
	if r != nil {
		r.Abort(nil)
	}
}

// testBatch bundles batchSize signings (each with its own digest and session nonce) into one
// protocol.NewBatch per signer.
func (c Conformance) testBatch(t *testing.T) {
	pub := c.publicKey(t)
	signers := c.signers()
	digests := make([][32]byte, batchSize)
	nonces := make([][]byte, batchSize)
	for i := range digests {
		digests[i], nonces[i] = randomDigest(t), randomBytes(t, 32)
	}
	batches := make(map[protocol.PartyID]protocol.Run, len(signers))
	for _, p := range signers {
		b, err := c.batchOf(p, signers, digests, nonces)
		if err != nil {
			abortAll(batches)
			t.Fatal(err)
		}
		batches[p] = b
	}
	sigs := commonSignatures(t, Execute(t, batches, nil))
	for i, sig := range sigs {
		if err := c.Verify(pub, digests[i][:], sig); err != nil {
			t.Fatalf("signature %d of the batch does not verify over digest %d: %v", i, i, err)
		}
		next := (i + 1) % batchSize
		if c.Verify(pub, digests[next][:], sig) == nil {
			t.Fatalf("signature %d of the batch also verifies over digest %d", i, next)
		}
		for j := range i {
			if bytes.Equal(sig, sigs[j]) {
				t.Fatalf("items %d and %d of the batch got the same signature", j, i)
			}
		}
	}
}

// batchOf makes self's batch of one sign run per digest.
func (c Conformance) batchOf(self protocol.PartyID, signers []protocol.PartyID, digests [][32]byte, nonces [][]byte) (protocol.Run, error) {
	runs := make([]protocol.Run, 0, len(digests))
	for i, d := range digests {
		r, err := c.Engine.Sign(c.signParams(self, signers, protocol.SignParams{Digest: d}, nonces[i]))
		if err != nil {
			for _, r := range runs {
				r.Abort(nil)
			}
			return nil, fmt.Errorf("Sign(%s) for item %d of the batch: %w", self, i, err)
		}
		runs = append(runs, r)
	}
	return protocol.NewBatch(runs)
}

// commonSignatures checks that every batch ended with batchSize signatures, the same ones at
// every signer, and returns them as SignatureBytes.
func commonSignatures(t *testing.T, results map[protocol.PartyID]protocol.Result) [][]byte {
	t.Helper()
	var first [][]byte
	var firstParty protocol.PartyID
	for _, p := range sortedKeys(results) {
		res := results[p]
		if res.Err != nil || len(res.Signatures) != batchSize {
			t.Fatalf("%s: batch ended with %+v, want %d signatures", p, res, batchSize)
		}
		sigs := make([][]byte, batchSize)
		for i, s := range res.Signatures {
			if s == nil {
				t.Fatalf("%s: signature %d of the batch is missing", p, i)
			}
			sigs[i] = SignatureBytes(s)
		}
		if first == nil {
			first, firstParty = sigs, p
			continue
		}
		for i := range sigs {
			if !bytes.Equal(sigs[i], first[i]) {
				t.Fatalf("%s made signature %x as item %d of the batch, %s made %x", p, sigs[i], i, firstParty, first[i])
			}
		}
	}
	return first
}

// subsets returns every k-subset of ps, in lexicographic order.
func subsets(ps []protocol.PartyID, k int) [][]protocol.PartyID {
	if k == 0 {
		return [][]protocol.PartyID{nil}
	}
	var out [][]protocol.PartyID
	for i := 0; i+k <= len(ps); i++ {
		for _, rest := range subsets(ps[i+1:], k-1) {
			out = append(out, append([]protocol.PartyID{ps[i]}, rest...))
		}
	}
	return out
}

// setName names a signer set for t.Run: "1,3" for parties 1 and 3.
func setName(ps []protocol.PartyID) string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = fmt.Sprint(uint16(p))
	}
	return strings.Join(names, ",")
}

func sortedKeys[V any](m map[protocol.PartyID]V) []protocol.PartyID {
	ps := make([]protocol.PartyID, 0, len(m))
	for p := range m {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	return ps
}

func abortAll(runs map[protocol.PartyID]protocol.Run) {
	for _, r := range runs {
		r.Abort(nil)
	}
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func randomDigest(t *testing.T) [32]byte {
	return [32]byte(randomBytes(t, 32))
}

// BenchPresign measures one presigning among signers of the key whose shares are given: every
// signer's presign run, driven in lockstep on the benchmark's goroutine (no router goroutines
// to schedule on a small machine), ending with presignatures that it discards. It suits
// engines whose presign is one exchange of broadcasts, as FROST's is.
func BenchPresign(b *testing.B, e protocol.Presigner, shares map[protocol.PartyID][]byte, signers []protocol.PartyID) {
	b.ReportAllocs()
	for b.Loop() {
		for _, ps := range presignLockstep(b, e, shares, signers) {
			ps.Discard()
		}
	}
}

// BenchPresignedSign measures the online part only: every signer binds in to its presignature
// and the online runs exchange their shares in lockstep, as in BenchPresign, each checking the
// others' and the signature as the engine does. The presigning runs with the timer stopped.
func BenchPresignedSign(b *testing.B, e protocol.Presigner, shares map[protocol.PartyID][]byte, signers []protocol.PartyID, in protocol.SignInput) {
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		pres := presignLockstep(b, e, shares, signers)
		b.StartTimer()
		for p, res := range lockstep(b, BindAll(b, pres, SameInput(signers, in))) {
			if res.Err != nil || res.Signature == nil {
				b.Fatalf("%s: online run ended with %+v, want a signature", p, res)
			}
		}
	}
}

// presignLockstep runs one presigning with a fresh session nonce and returns the presignatures.
func presignLockstep(b *testing.B, e protocol.Presigner, shares map[protocol.PartyID][]byte, signers []protocol.PartyID) map[protocol.PartyID]protocol.Presignature {
	nonce := make([]byte, 32)
	if _, err := rand.Read(nonce); err != nil {
		b.Fatal(err)
	}
	return Presignatures(b, lockstep(b, PresignRuns(b, e, shares, signers, nonce)))
}

// lockstep starts runs that each send one payload and then end once they have everyone else's,
// hands every payload to its recipients, and returns the results.
func lockstep(b *testing.B, runs map[protocol.PartyID]protocol.Run) map[protocol.PartyID]protocol.Result {
	signers := sortedKeys(runs)
	for _, p := range signers {
		if err := runs[p].Start(); err != nil {
			b.Fatalf("%s: Start: %v", p, err)
		}
	}
	sent := make(map[protocol.PartyID]protocol.Outgoing, len(runs))
	for _, p := range signers {
		select {
		case sent[p] = <-runs[p].Outgoing():
		case res := <-runs[p].Done():
			b.Fatalf("%s ended with %+v before sending anything", p, res)
		}
	}
	for _, from := range signers {
		o := sent[from]
		for _, to := range signers {
			if to == from || !(o.Broadcast || slices.Contains(o.To, to)) {
				continue
			}
			if err := runs[to].Handle(from, o.Broadcast, o.Payload); err != nil {
				b.Fatalf("%s handling %s's payload: %v", to, from, err)
			}
		}
	}
	results := make(map[protocol.PartyID]protocol.Result, len(runs))
	for _, p := range signers {
		results[p] = <-runs[p].Done()
	}
	return results
}
