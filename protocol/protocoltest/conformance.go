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

// testPresign presigns with every signer, signs with the presignatures, and checks that a
// presignature signs once only.
func (c Conformance) testPresign(t *testing.T) {
	pub := c.publicKey(t)
	signers := c.signers()
	pres := c.presignAll(t, signers)
	digest := randomDigest(t)
	in := protocol.SignInput{Digest: digest}
	runs := make(map[protocol.PartyID]protocol.Run, len(pres))
	for _, p := range signers {
		r, err := pres[p].Sign(in)
		if err != nil {
			abortAll(runs)
			t.Fatalf("%s: Presignature.Sign: %v", p, err)
		}
		runs[p] = r
	}
	sig := commonSignature(t, Execute(t, runs, nil))
	c.verifyOnly(t, pub, digest[:], sig)
	for _, p := range signers {
		if r, err := pres[p].Sign(protocol.SignInput{Digest: randomDigest(t)}); err == nil {
			r.Abort(nil)
			t.Fatalf("%s: a used presignature signed again", p)
		}
	}

	discarded := c.presignAll(t, signers)
	for _, p := range signers {
		discarded[p].Discard()
		if r, err := discarded[p].Sign(in); err == nil {
			r.Abort(nil)
			t.Fatalf("%s: a discarded presignature signed", p)
		}
	}
}

// presignAll runs one presign among signers and returns every signer's presignature.
func (c Conformance) presignAll(t *testing.T, signers []protocol.PartyID) map[protocol.PartyID]protocol.Presignature {
	t.Helper()
	presigner := c.Engine.(protocol.Presigner)
	nonce := randomBytes(t, 32)
	runs := make(map[protocol.PartyID]protocol.Run, len(signers))
	for _, p := range signers {
		r, err := presigner.Presign(protocol.PresignParams{Self: p, Signers: slices.Clone(signers), Share: c.Shares[p], SessionNonce: slices.Clone(nonce)})
		if err != nil {
			abortAll(runs)
			t.Fatalf("Presign(%s): %v", p, err)
		}
		runs[p] = r
	}
	out := make(map[protocol.PartyID]protocol.Presignature, len(signers))
	for p, res := range Execute(t, runs, nil) {
		if res.Err != nil || res.Presignature == nil || res.Signature != nil {
			t.Fatalf("%s: presign ended with %+v, want a presignature only", p, res)
		}
		out[p] = res.Presignature
	}
	t.Cleanup(func() {
		for _, ps := range out {
			ps.Discard()
		}
	})
	return out
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
