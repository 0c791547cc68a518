package ed25519

import (
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"

	"filippo.io/edwards25519"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// signRun is one signer's side of FROST signing, with this signer also acting as the
// coordinator.
//
// Round 1 (Start): draw the nonces (d, e), broadcast their commitments (D, E). Round 2 (once
// every signer's commitments arrived): compute the signature share z_self over the commitment
// list and broadcast it with that list. On receipt: check that the sender used the same
// commitments as this party. End (every share here): sum the shares, check the signature with
// crypto/ed25519 and every other signer's share against its public share (naming the signers
// whose shares fail).
//
// A presign run (mode roundOneOnly) stops where round 2 would begin and ends with a
// presignature instead; the presignature's online run (roundTwoOnly) is a signRun that starts
// with round 1's state already in place, so both kinds of signing share round 2 and the end.
type signRun struct {
	core
	mode   signMode
	key    *signingKey // this run's copy; its secret is wiped once the own signature share exists
	msg    []byte      // what is signed: SignParams.Message, or the 32 bytes of SignParams.Digest
	nonce  []byte
	signer nonceStore // the own nonces, from Start until the own signature share

	// Guarded by core.mu.
	commitmentID uint64                                    // names the own nonces in signer
	commitments  map[protocol.PartyID]signerCommitment     // checked, own included
	session      *session                                  // once every commitment is here
	echo         []commitmentPair                          // the commitment list as encoded, in signer order
	shares       map[protocol.PartyID]*edwards25519.Scalar // over this party's list, own included
	pending      map[protocol.PartyID]*message             // shares that came before the list was complete
	heard        int                                       // other signers whose share was handled
	disagree     []string                                  // commitment lists that differ, with nobody to blame
	seen         replays
}

var _ protocol.Run = (*signRun)(nil)

// nonceStore holds a signer's secret nonces between the two rounds, by commitment id (the
// field has the name it had in bytemare/frost's Signer, which this replaces). A run issues one
// pair; take removes a pair before it is used, so no pair can make two signature shares.
type nonceStore struct {
	NonceCommitments map[uint64]*noncePair
	last             uint64
}

func (s *nonceStore) add(n *noncePair) uint64 {
	if s.NonceCommitments == nil {
		s.NonceCommitments = make(map[uint64]*noncePair, 1)
	}
	s.last++
	s.NonceCommitments[s.last] = n
	return s.last
}

// take removes and returns the nonces of id; nil if there are none (they were used).
func (s *nonceStore) take(id uint64) *noncePair {
	n := s.NonceCommitments[id]
	delete(s.NonceCommitments, id)
	return n
}

// wipe zeroizes and forgets every pair not yet used.
func (s *nonceStore) wipe() {
	for id, n := range s.NonceCommitments {
		n.wipe()
		delete(s.NonceCommitments, id)
	}
}

// signMode says which of FROST's rounds a signRun runs.
type signMode int

const (
	bothRounds   signMode = iota // Engine.Sign: the nonces, then the signature share
	roundOneOnly                 // Engine.Presign: the nonces, ending with a presignature
	roundTwoOnly                 // presignature.Sign: the share over a presignature's commitments
)

func newSign(p protocol.SignParams) (*signRun, error) {
	key, signers, err := signSetup("sign", p.Self, p.Signers, p.Share, p.SessionNonce)
	if err != nil {
		return nil, err
	}
	return newSignRun(bothRounds, p.Self, signers, key, p.SessionNonce, p.SignedBytes()), nil
}

// signSetup checks what every run of a signing needs (the session nonce's size, the share,
// the signers) and returns this run's copy of the key and the signers, ascending. task names
// the run in errors.
func signSetup(task string, self protocol.PartyID, signers []protocol.PartyID, share, nonce []byte) (*signingKey, []protocol.PartyID, error) {
	if len(nonce) != nonceSize {
		return nil, nil, fmt.Errorf("ed25519: session nonce of %d bytes (want %d)", len(nonce), nonceSize)
	}
	key, err := signingKeys.Get(share)
	if err != nil {
		return nil, nil, err
	}
	signers = slices.Clone(signers)
	slices.Sort(signers)
	if err := checkSigners(key, self, signers); err != nil {
		key.wipe()
		return nil, nil, fmt.Errorf("ed25519: %s: %w", task, err)
	}
	return key, signers, nil
}

// newSignRun returns a run of mode over a checked key and signer list (ascending); the run
// owns key and wipes it. msg is nil for a presign run, which signs nothing.
func newSignRun(mode signMode, self protocol.PartyID, signers []protocol.PartyID, key *signingKey, nonce, msg []byte) *signRun {
	task := "sign"
	if mode == roundOneOnly {
		task = "presign"
	}
	t := len(signers)
	r := &signRun{
		core:        newCore(task, self, signers),
		mode:        mode,
		key:         key,
		msg:         msg,
		nonce:       slices.Clone(nonce),
		commitments: make(map[protocol.PartyID]signerCommitment, t),
		shares:      make(map[protocol.PartyID]*edwards25519.Scalar, t),
		pending:     make(map[protocol.PartyID]*message),
		seen:        make(replays, t-1),
	}
	r.Release = r.wipe
	return r
}

// checkSigners checks that signers (sorted) are exactly t distinct holders of the key, self
// among them.
func checkSigners(key *signingKey, self protocol.PartyID, signers []protocol.PartyID) error {
	if self != key.self {
		return fmt.Errorf("the share belongs to %s, not to %s", key.self, self)
	}
	if err := protocol.CheckPartyList(signers); err != nil {
		return fmt.Errorf("signers: %w", err)
	}
	if len(signers) != key.threshold {
		return fmt.Errorf("%d signers (the key needs exactly %d)", len(signers), key.threshold)
	}
	for _, p := range signers {
		if key.publicShare(p) == nil {
			return fmt.Errorf("signer %s holds no share of the key", p)
		}
	}
	if !slices.Contains(signers, self) {
		return fmt.Errorf("self (%s) is not one of the signers", self)
	}
	return nil
}

func (r *signRun) String() string {
	return fmt.Sprintf("ed25519 %s run (%s of %v)", r.Task, r.Self, r.Participants)
}

// Start draws this signer's nonces and broadcasts their commitments; an online run
// (roundTwoOnly) has its nonces already and broadcasts its signature share instead.
func (r *signRun) Start() error {
	r.Mu.Lock()
	defer r.Mu.Unlock()
	if err := r.BeginLocked(); err != nil {
		return err
	}
	if r.mode == roundTwoOnly {
		return r.startOnlineLocked()
	}
	nonces := commit(r.key.secret)
	own := nonces.commitment(r.key.id(r.Self))
	r.commitmentID = r.signer.add(nonces)
	r.commitments[r.Self] = own
	r.EmitLocked(protocol.Outgoing{Broadcast: true, Payload: encodeCommitment(r.nonce, r.Self, fixed(own.enc[:elementSize]), fixed(own.enc[elementSize:]))})
	return nil
}

// Handle takes one other signer's commitments or signature share.
func (r *signRun) Handle(from protocol.PartyID, broadcast bool, payload []byte) error {
	r.Mu.Lock()
	err := r.AdmitLocked(from, payload)
	r.Mu.Unlock()
	if err != nil {
		return err
	}
	m, derr := decodePayload(payload) // outside the lock: subgroup checks cost
	r.Mu.Lock()
	defer r.Mu.Unlock()
	if r.Ended {
		return ErrEnded
	}
	if derr != nil {
		return r.FailLocked(r.Errorf(payloadRound(payload), []protocol.PartyID{from}, "malformed payload from %s: %v", from, derr))
	}
	if err := r.acceptLocked(from, broadcast, m, payload); err != nil {
		return r.FailLocked(err)
	}
	if r.session != nil && r.heard == len(r.Participants)-1 {
		r.finishLocked()
	}
	return nil
}

func (r *signRun) acceptLocked(from protocol.PartyID, broadcast bool, m *message, payload []byte) error {
	culprit := []protocol.PartyID{from}
	if err := checkEnvelope(&r.core, from, broadcast, m, r.nonce); err != nil {
		return err
	}
	if m.kind != kindCommitment && m.kind != kindSigShare {
		return r.Errorf(kindRound(m.kind), culprit, "%s sent a %s payload, which has no place in signing", from, kindName(m.kind))
	}
	dup, err := r.seen.check(&r.core, from, m.kind, sha256.Sum256(payload))
	if err != nil || dup {
		return err
	}
	if m.kind == kindCommitment {
		// The replay check has already refused a second commitment from anyone; this keeps the
		// list an online run took over from its presignature from ever being overwritten.
		if _, ok := r.commitments[from]; ok {
			return r.Errorf(1, culprit, "%s sent nonce commitments after it had sent others", from)
		}
		if err := checkNonceCommitments(m); err != nil {
			return r.Errorf(1, culprit, "%s sent unusable nonce commitments: %v", from, err)
		}
		r.commitments[from] = newSignerCommitment(r.key.id(from), m.hiding, m.binding)
		if len(r.commitments) < len(r.Participants) {
			return nil
		}
		if r.mode == roundOneOnly {
			return r.endWithPresignatureLocked()
		}
		return r.startRound2Locked()
	}
	// Not every commitment is here yet, or this is a presign run, whose online run takes the
	// share over: handle it once this party's own share exists.
	if r.session == nil {
		r.pending[from] = m
		return nil
	}
	return r.acceptShareLocked(from, m)
}

// checkNonceCommitments refuses commitments equal to the generator, as bytemare/frost did: one
// reveals a nonce of 1, the mark of a broken signer. (Decoding has refused the identity,
// non-canonical encodings and points outside the prime-order subgroup, as RFC 9591's
// DeserializeElement must.)
func checkNonceCommitments(m *message) error {
	switch {
	case m.hiding.Equal(generator):
		return errors.New("the hiding nonce commitment is the generator")
	case m.binding.Equal(generator):
		return errors.New("the binding nonce commitment is the generator")
	}
	return nil
}

// generator is the serialization of the group's generator B.
var generator = fixed(edwards25519.NewGeneratorPoint().Bytes())

// startRound2Locked computes and broadcasts this signer's signature share, wipes its nonces and
// key share, then handles the shares that came early.
func (r *signRun) startRound2Locked() error {
	list := make([]signerCommitment, 0, len(r.Participants))
	for _, p := range r.Participants { // ascending parties have ascending identifiers
		c := r.commitments[p]
		list = append(list, c)
		r.echo = append(r.echo, c.enc)
	}
	defer r.key.wipe()
	nonces := r.signer.take(r.commitmentID)
	if nonces == nil { // unreachable: the list completes once
		return r.Errorf(2, nil, "the own nonces are gone")
	}
	defer nonces.wipe()
	s, err := newSession(r.key.groupKey, list, r.msg)
	if err != nil {
		return r.Errorf(2, nil, "computing the signature share: %v", err)
	}
	own := s.signatureShare(slices.Index(r.Participants, r.Self), r.key.secret, nonces)
	r.session = s
	r.shares[r.Self] = own
	r.EmitLocked(protocol.Outgoing{Broadcast: true, Payload: encodeSigShare(r.nonce, r.Self, fixed(own.Bytes()), r.echo)})
	for _, p := range r.Participants {
		if m := r.pending[p]; m != nil {
			delete(r.pending, p)
			if err := r.acceptShareLocked(p, m); err != nil {
				return err
			}
		}
	}
	return nil
}

// acceptShareLocked checks that a signer computed its share over this party's commitment list
// and keeps the share; the shares themselves are checked together, once all are here.
func (r *signRun) acceptShareLocked(from protocol.PartyID, m *message) error {
	culprit := []protocol.PartyID{from}
	if len(m.list) != len(r.Participants) {
		return r.Errorf(2, culprit, "%s signed over %d nonce commitments (want %d)", from, len(m.list), len(r.Participants))
	}
	var differ []protocol.PartyID
	for i, p := range r.Participants {
		if m.list[i] == r.echo[i] {
			continue
		}
		switch {
		case p == from:
			return r.Errorf(2, culprit, "%s signed over other nonce commitments of its own than it sent this party", from)
		case p == r.Self:
			return r.Errorf(2, culprit, "%s signed over other nonce commitments of this party than this party sent", from)
		}
		for h := range 2 {
			if _, err := decodePoint(m.list[i][h*elementSize : (h+1)*elementSize]); err != nil {
				return r.Errorf(2, culprit, "%s signed over nonce commitments of %s that are not valid: %v", from, p, err)
			}
		}
		differ = append(differ, p)
	}
	r.heard++
	if len(differ) > 0 {
		for _, p := range differ {
			r.disagree = append(r.disagree, fmt.Sprintf("%s and this party received different nonce commitments from %s", from, p))
		}
		return nil
	}
	z, err := edwards25519.NewScalar().SetCanonicalBytes(m.sigShare.Encode())
	if err != nil { // unreachable: decoding checked the scalar
		return r.Errorf(2, culprit, "%s sent a signature share that is not a scalar", from)
	}
	r.shares[from] = z
	return nil
}

// finishLocked sums the shares, checks the signature with crypto/ed25519 and every other
// signer's share against its public share, and ends the run.
func (r *signRun) finishLocked() {
	if len(r.disagree) > 0 {
		r.FailLocked(r.Errorf(2, nil, "the signers did not all receive the same nonce commitments (%s): some signer sent different commitments to different signers, or lies about what it received", strings.Join(r.disagree, "; ")))
		return
	}
	shares := make([]*edwards25519.Scalar, 0, len(r.Participants))
	for _, p := range r.Participants {
		shares = append(shares, r.shares[p])
	}
	sig := r.session.aggregate(shares)
	// With one other signer, crypto/ed25519 accepting the signature is that signer's share
	// verifying: crypto/ed25519 accepts (R, z) iff [z]B = R + [c]PK, c being this session's
	// challenge; R = R_self + R_j (R_i = D_i + [ρ_i]E_i); PK = λ_self·PK_self + λ_j·PK_j,
	// because checkKey proved every public share on one polynomial through PK; and the own
	// share satisfies [z_self]B = R_self + [c·λ_self]PK_self by construction, from the checked
	// key share and the own nonces. So the equation holds iff [z_j]B = R_j + [c·λ_j]PK_j, which
	// is verify_signature_share for j, and the shares are checked one by one only when the
	// signature fails, to name the culprit. With more signers, errors in two shares could
	// cancel out in the sum: every other share is checked on its own.
	verified := len(r.Participants) == 2 && ed25519.Verify(r.key.groupKey[:], r.msg, sig)
	if !verified {
		if culprits := r.invalidSharesLocked(); len(culprits) > 0 {
			names := make([]string, len(culprits))
			for i, p := range culprits {
				names[i] = p.String()
			}
			r.FailLocked(r.Errorf(2, culprits, "the signature share of %s does not verify under its public share", strings.Join(names, " and of ")))
			return
		}
		if !ed25519.Verify(r.key.groupKey[:], r.msg, sig) {
			// Every share checked out, so the key's public data must be inconsistent.
			r.FailLocked(r.Errorf(2, nil, "the aggregated signature does not verify under the group key"))
			return
		}
	}
	r.EndLocked(protocol.Result{Signature: &protocol.Signature{Encoded: sig}})
}

// invalidSharesLocked returns the other signers whose shares fail verify_signature_share.
func (r *signRun) invalidSharesLocked() []protocol.PartyID {
	var culprits []protocol.PartyID
	for i, p := range r.Participants {
		if p != r.Self && !r.session.verifySignatureShare(i, r.shares[p], r.key.publicShare(p)) {
			culprits = append(culprits, p)
		}
	}
	return culprits
}

// wipe zeroizes the key share and any nonces not yet used; called once, when the run ends.
func (r *signRun) wipe() {
	r.key.wipe()
	r.signer.wipe()
}
