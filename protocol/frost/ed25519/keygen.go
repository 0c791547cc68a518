package ed25519

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/bytemare/dkg"
	"github.com/bytemare/ecc"
	secretsharing "github.com/bytemare/secret-sharing"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// errImport is why Keygen refuses protocol.KeygenParams.Import.
var errImport = errors.New("ed25519: importing an existing key is not supported: generate a new key with a keygen run")

// keygenRun is one party's side of the FROST DKG (bytemare/dkg).
//
// Round 1 (Start): draw f_self of degree t-1, broadcast its Feldman commitments C_self,k and
// a Schnorr proof of knowledge of f_self(0). On receipt: check the proof and the number of
// commitments. Round 2 (once every party's round 1 checked out): send every other party j
// f_self(j) with a digest of every party's round-1 broadcast as received here. On receipt:
// check the share against its dealer's commitments and the digests against this party's own.
// End (every share checked): x_self = Σ_i f_i(self), PK = Σ_i C_i,0, PK_m = Σ_k m^k·Σ_i C_i,k.
type keygenRun struct {
	core
	threshold int
	nonce     []byte

	// Guarded by core.mu.
	participant *dkg.Participant                     // the secret polynomial until round 2, f_self(self) until the end; secret
	round1      map[protocol.PartyID]*dkg.Round1Data // checked, own included
	bodies      map[protocol.PartyID][]byte          // the round-1 bodies, own included
	digests     [][digestSize]byte                   // SHA-256 of every round-1 body, once all arrived
	round2      map[protocol.PartyID]*dkg.Round2Data // checked shares dealt to this party; secret
	pending     map[protocol.PartyID]*message        // shares that came before round 1 was complete; secret
	disagree    []string                             // round-1 views that differ, with nobody to blame
	seen        replays
}

var _ protocol.Run = (*keygenRun)(nil)

func newKeygen(p protocol.KeygenParams) (*keygenRun, error) {
	if p.Import != nil {
		return nil, errImport
	}
	if len(p.SessionNonce) != nonceSize {
		return nil, fmt.Errorf("ed25519: session nonce of %d bytes (want %d)", len(p.SessionNonce), nonceSize)
	}
	if len(p.PreParams) != 0 {
		return nil, errors.New("ed25519: keygen takes no pre-params")
	}
	parties := slices.Clone(p.Parties)
	slices.Sort(parties)
	if err := protocol.CheckCluster(parties, p.Threshold, p.Self, maxParties); err != nil {
		return nil, fmt.Errorf("ed25519: keygen: %w", err)
	}
	n := len(parties)
	r := &keygenRun{
		core:      newCore("keygen", p.Self, parties),
		threshold: p.Threshold,
		nonce:     slices.Clone(p.SessionNonce),
		round1:    make(map[protocol.PartyID]*dkg.Round1Data, n),
		bodies:    make(map[protocol.PartyID][]byte, n),
		round2:    make(map[protocol.PartyID]*dkg.Round2Data, n-1),
		pending:   make(map[protocol.PartyID]*message),
		seen:      make(replays, n-1),
	}
	r.Release = r.wipe
	return r, nil
}

func (r *keygenRun) String() string {
	return fmt.Sprintf("ed25519 keygen run (%s of %v, threshold %d)", r.Self, r.Participants, r.threshold)
}

func (r *keygenRun) id(p protocol.PartyID) uint16 { return identifier(r.Participants, p) }

// Start draws this party's polynomial and broadcasts its commitments and proof.
func (r *keygenRun) Start() error {
	r.Mu.Lock()
	defer r.Mu.Unlock()
	if err := r.BeginLocked(); err != nil {
		return err
	}
	p, err := dkgSuite.NewParticipant(r.id(r.Self), uint16(r.threshold), uint16(len(r.Participants)))
	if err != nil {
		return r.FailLocked(r.Errorf(1, nil, "starting the DKG: %v", err))
	}
	r.participant = p
	own := p.Start()
	if len(own.Commitment) != r.threshold {
		return r.FailLocked(r.Errorf(1, nil, "the DKG made %d commitments (want %d)", len(own.Commitment), r.threshold))
	}
	r.round1[r.Self] = own
	r.bodies[r.Self] = dkgCommitBody(own.Commitment, own.ProofOfKnowledge.R, own.ProofOfKnowledge.Z)
	r.EmitLocked(protocol.Outgoing{Broadcast: true, Payload: encodeDKGCommit(r.nonce, r.Self, own.Commitment, own.ProofOfKnowledge.R, own.ProofOfKnowledge.Z)})
	return nil
}

// Handle takes one party's round-1 broadcast or its share for this party.
func (r *keygenRun) Handle(from protocol.PartyID, broadcast bool, payload []byte) error {
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
		if m != nil {
			m.wipe()
		}
		return ErrEnded
	}
	if derr != nil {
		return r.FailLocked(r.Errorf(payloadRound(payload), []protocol.PartyID{from}, "malformed payload from %s: %v", from, derr))
	}
	keep, err := r.acceptLocked(from, broadcast, m, payload)
	if !keep {
		m.wipe()
	}
	if err != nil {
		return r.FailLocked(err)
	}
	if r.digests != nil && len(r.round2) == len(r.Participants)-1 {
		r.finishLocked()
	}
	return nil
}

// acceptLocked checks and records a decoded payload; keep reports whether the run kept m's
// secret (which the caller otherwise wipes).
func (r *keygenRun) acceptLocked(from protocol.PartyID, broadcast bool, m *message, payload []byte) (keep bool, err error) {
	culprit := []protocol.PartyID{from}
	if err := checkEnvelope(&r.core, from, broadcast, m, r.nonce); err != nil {
		return false, err
	}
	if m.kind != kindDKGCommit && m.kind != kindDKGShare {
		return false, r.Errorf(kindRound(m.kind), culprit, "%s sent a %s payload, which has no place in keygen", from, kindName(m.kind))
	}
	dup, err := r.seen.check(&r.core, from, m.kind, sha256.Sum256(payload))
	if err != nil || dup {
		return false, err
	}
	if m.kind == kindDKGCommit {
		return false, r.acceptCommitLocked(from, m, payload[headerSize:])
	}
	if m.to != r.Self {
		return false, r.Errorf(2, culprit, "%s sent this party a share addressed to %s", from, m.to)
	}
	if r.digests == nil { // round 1 is not complete here yet: handle it when it is
		r.pending[from] = m
		return true, nil
	}
	return r.acceptShareLocked(from, m)
}

// acceptCommitLocked checks one party's round-1 broadcast and starts round 2 once every
// party's has arrived.
func (r *keygenRun) acceptCommitLocked(from protocol.PartyID, m *message, body []byte) error {
	culprit := []protocol.PartyID{from}
	if len(m.commitments) != r.threshold {
		return r.Errorf(1, culprit, "%s sent %d commitments (want %d)", from, len(m.commitments), r.threshold)
	}
	proof := &dkg.Signature{Group: group, R: m.proofR, Z: m.proofZ}
	if ok, err := dkg.FrostVerifyZeroKnowledgeProof(dkgSuite, r.id(from), m.commitments[0], proof); err != nil || !ok {
		return r.Errorf(1, culprit, "the proof of knowledge %s sent does not verify", from)
	}
	r.round1[from] = &dkg.Round1Data{Group: group, SenderIdentifier: r.id(from), Commitment: m.commitments, ProofOfKnowledge: proof}
	r.bodies[from] = slices.Clone(body)
	if len(r.round1) == len(r.Participants) {
		return r.startRound2Locked()
	}
	return nil
}

// startRound2Locked deals this party's shares, then handles the shares that came early.
func (r *keygenRun) startRound2Locked() error {
	r.digests = make([][digestSize]byte, len(r.Participants))
	all := make([]*dkg.Round1Data, len(r.Participants))
	for i, p := range r.Participants {
		r.digests[i] = sha256.Sum256(r.bodies[p])
		all[i] = r.round1[p]
	}
	dealt, err := r.participant.Continue(all) // wipes the polynomial
	if err != nil {
		return r.Errorf(2, nil, "dealing the shares: %v", err)
	}
	for _, q := range r.Participants {
		if q == r.Self {
			continue
		}
		d := dealt[r.id(q)]
		if d == nil {
			return r.Errorf(2, nil, "the DKG dealt no share for %s", q)
		}
		r.EmitLocked(protocol.Outgoing{To: []protocol.PartyID{q}, Payload: encodeDKGShare(r.nonce, r.Self, q, d.SecretShare, r.digests)})
	}
	for _, d := range dealt {
		d.SecretShare.Zero()
	}
	for _, p := range r.Participants {
		m := r.pending[p]
		if m == nil {
			continue
		}
		delete(r.pending, p)
		keep, err := r.acceptShareLocked(p, m)
		if !keep {
			m.wipe()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// acceptShareLocked checks a share dealt to this party against its dealer's commitments, and
// the dealer's view of round 1 against this party's.
func (r *keygenRun) acceptShareLocked(from protocol.PartyID, m *message) (keep bool, err error) {
	culprit := []protocol.PartyID{from}
	if !secretsharing.Verify(group, r.id(r.Self), group.Base().Multiply(m.share), r.round1[from].Commitment) {
		return false, r.Errorf(2, culprit, "the share %s sent does not match its commitments", from)
	}
	if len(m.digests) != len(r.Participants) {
		return false, r.Errorf(2, culprit, "%s sent %d round-1 digests (want %d)", from, len(m.digests), len(r.Participants))
	}
	var differ []protocol.PartyID
	for i, p := range r.Participants {
		if m.digests[i] != r.digests[i] {
			differ = append(differ, p)
		}
	}
	for _, p := range differ {
		switch p {
		case from:
			return false, r.Errorf(2, culprit, "%s sent this party other keygen commitments than it says it broadcast", from)
		case r.Self:
			return false, r.Errorf(2, culprit, "%s says it received other keygen commitments from this party than this party sent", from)
		}
	}
	for _, p := range differ {
		r.disagree = append(r.disagree, fmt.Sprintf("%s and this party received different commitments from %s", from, p))
	}
	r.round2[from] = &dkg.Round2Data{Group: group, SenderIdentifier: r.id(from), RecipientIdentifier: r.id(r.Self), SecretShare: m.share}
	return true, nil
}

// finishLocked combines the dealings into this party's share and ends the run.
func (r *keygenRun) finishLocked() {
	if len(r.disagree) > 0 {
		r.FailLocked(r.Errorf(2, nil, "the parties did not all receive the same round-1 broadcasts (%s): some party sent different commitments to different parties, or lies about what it received; no key was made", strings.Join(r.disagree, "; ")))
		return
	}
	s, err := r.combineLocked()
	if err != nil {
		r.FailLocked(r.Errorf(2, nil, "%v", err))
		return
	}
	defer s.wipe()
	enc, err := s.encode()
	if err == nil {
		var again *share
		if again, err = decodeShare(enc); err == nil { // the share must be one that signing accepts
			again.wipe()
		}
	}
	if err != nil {
		r.FailLocked(r.Errorf(2, nil, "encoding the share: %v", err))
		return
	}
	r.EndLocked(protocol.Result{Keygen: &protocol.KeygenOutput{PublicKey: s.publicKey.Encode(), Share: enc}})
}

// combineLocked finalizes the DKG and computes the group key and every public share.
func (r *keygenRun) combineLocked() (*share, error) {
	all1 := make([]*dkg.Round1Data, 0, len(r.Participants))
	all2 := make([]*dkg.Round2Data, 0, len(r.Participants)-1)
	for _, p := range r.Participants {
		all1 = append(all1, r.round1[p])
		if p != r.Self {
			all2 = append(all2, r.round2[p])
		}
	}
	ks, err := r.participant.Finalize(all1, all2)
	if err != nil {
		return nil, fmt.Errorf("finalizing the DKG: %v", err)
	}
	// Σ_i C_i,k: the commitments to the sum of the polynomials.
	agg := make([]*ecc.Element, r.threshold)
	for k := range agg {
		agg[k] = group.NewElement()
		for _, p := range r.Participants {
			agg[k].Add(r.round1[p].Commitment[k])
		}
	}
	s := &share{threshold: r.threshold, parties: r.Participants, self: r.Self, secret: ks.Secret, publicKey: agg[0]}
	if !ks.VerificationKey.Equal(agg[0]) {
		s.wipe()
		return nil, errors.New("the DKG's group key is not the sum of the constant commitments")
	}
	if agg[0].IsIdentity() || agg[0].Equal(group.Base()) {
		s.wipe()
		return nil, errors.New("the dealings add up to a degenerate group key")
	}
	for i := range r.Participants {
		pk, err := secretsharing.PubKeyForCommitment(group, uint16(i+1), agg)
		if err != nil {
			s.wipe()
			return nil, fmt.Errorf("public shares: %v", err)
		}
		s.publicShares = append(s.publicShares, pk)
	}
	if err := s.check(); err != nil {
		s.wipe()
		return nil, fmt.Errorf("combined share: %w", err)
	}
	return s, nil
}

// wipe zeroizes every secret the run holds; called once, when the run ends. bytemare/dkg
// keeps the polynomial and f_self(self) in unexported fields: Continue wipes the polynomial
// (so a run that ends before round 2 calls it with no data to that end) and Finalize wipes
// f_self(self); a run that ends between the two cannot reach f_self(self) and leaves it to
// the garbage collector.
func (r *keygenRun) wipe() {
	if r.participant != nil && r.digests == nil {
		_, _ = r.participant.Continue(make([]*dkg.Round1Data, len(r.Participants)-1)) // only wipes the polynomial
	}
	for _, d := range r.round2 {
		d.SecretShare.Zero()
	}
	for _, m := range r.pending {
		m.wipe()
	}
}
