package ed25519

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"

	"github.com/bytemare/frost"
	"github.com/bytemare/secret-sharing/keys"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// signRun is one signer's side of FROST signing, with this signer also acting as the
// coordinator.
//
// Round 1 (Start): draw the nonces (d, e), broadcast their commitments (D, E). Round 2 (once
// every signer's commitments arrived): compute the signature share z_self over the commitment
// list and broadcast it with that list. On receipt: check that the sender used the same
// commitments as this party. End (every share here): check every z_j against PK_j (naming
// the signers whose shares fail), sum the shares, verify the signature with crypto/ed25519.
type signRun struct {
	core
	key    *share // its secret is wiped once the own signature share exists
	msg    []byte // what is signed: SignParams.Message, or the 32 bytes of SignParams.Digest
	nonce  []byte
	config *frost.Configuration
	signer *frost.Signer // holds the nonces from Start until the own signature share

	// Guarded by core.mu.
	commitmentID uint64                                     // names the own nonces in signer
	commitments  map[protocol.PartyID]*frost.Commitment     // checked, own included
	list         frost.CommitmentList                       // in signer order, once complete
	echo         []commitmentPair                           // list as encoded (D, E) pairs
	shares       map[protocol.PartyID]*frost.SignatureShare // over this party's list, own included
	pending      map[protocol.PartyID]*message              // shares that came before the list was complete
	heard        int                                        // other signers whose share was handled
	disagree     []string                                   // commitment lists that differ, with nobody to blame
	seen         replays
}

var _ protocol.Run = (*signRun)(nil)

func newSign(p protocol.SignParams) (*signRun, error) {
	if len(p.SessionNonce) != nonceSize {
		return nil, fmt.Errorf("ed25519: session nonce of %d bytes (want %d)", len(p.SessionNonce), nonceSize)
	}
	key, err := decodeShare(p.Share)
	if err != nil {
		return nil, err
	}
	signers := slices.Clone(p.Signers)
	slices.Sort(signers)
	if err := checkSigners(key, p.Self, signers); err != nil {
		key.wipe()
		return nil, fmt.Errorf("ed25519: sign: %w", err)
	}
	config := &frost.Configuration{
		Ciphersuite:     ciphersuite,
		Threshold:       uint16(key.threshold),
		MaxSigners:      uint16(len(key.parties)),
		VerificationKey: key.publicKey,
	}
	for _, q := range signers {
		config.SignerPublicKeyShares = append(config.SignerPublicKeyShares, &keys.PublicKeyShare{PublicKey: key.publicShare(q), ID: key.id(q), Group: group})
	}
	frostMu.Lock()
	signer, err := config.Signer(key.keyShare())
	frostMu.Unlock()
	if err != nil {
		key.wipe()
		return nil, fmt.Errorf("ed25519: sign: the share does not fit FROST: %v", err)
	}
	t := len(signers)
	r := &signRun{
		core:        newCore("sign", p.Self, signers),
		key:         key,
		msg:         p.SignedBytes(),
		nonce:       slices.Clone(p.SessionNonce),
		config:      config,
		signer:      signer,
		commitments: make(map[protocol.PartyID]*frost.Commitment, t),
		shares:      make(map[protocol.PartyID]*frost.SignatureShare, t),
		pending:     make(map[protocol.PartyID]*message),
		seen:        make(replays, t-1),
	}
	r.Release = r.wipe
	return r, nil
}

// checkSigners checks that signers (sorted) are exactly t distinct holders of the key, self
// among them.
func checkSigners(key *share, self protocol.PartyID, signers []protocol.PartyID) error {
	if self != key.self {
		return fmt.Errorf("the share belongs to %s, not to %s", key.self, self)
	}
	if err := checkPartyList(signers); err != nil {
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
	return fmt.Sprintf("ed25519 sign run (%s of %v)", r.Self, r.Participants)
}

// Start draws this signer's nonces and broadcasts their commitments.
func (r *signRun) Start() error {
	r.Mu.Lock()
	defer r.Mu.Unlock()
	if err := r.BeginLocked(); err != nil {
		return err
	}
	frostMu.Lock()
	com := r.signer.Commit() // fresh nonces from crypto/rand, hedged with the secret (RFC 9591 nonce_generate)
	frostMu.Unlock()
	r.commitmentID = com.CommitmentID
	r.commitments[r.Self] = com
	r.EmitLocked(protocol.Outgoing{Broadcast: true, Payload: encodeCommitment(r.nonce, r.Self, com.HidingNonceCommitment, com.BindingNonceCommitment)})
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
	if r.list != nil && r.heard == len(r.Participants)-1 {
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
		com := &frost.Commitment{
			HidingNonceCommitment:  m.hiding,
			BindingNonceCommitment: m.binding,
			SignerID:               r.key.id(from),
			Group:                  group,
		}
		frostMu.Lock()
		err := r.config.ValidateCommitment(com)
		frostMu.Unlock()
		if err != nil {
			return r.Errorf(1, culprit, "%s sent unusable nonce commitments: %v", from, err)
		}
		r.commitments[from] = com
		if len(r.commitments) == len(r.Participants) {
			return r.startRound2Locked()
		}
		return nil
	}
	if r.list == nil { // not every commitment is here yet: handle the share when they are
		r.pending[from] = m
		return nil
	}
	return r.acceptShareLocked(from, m)
}

// startRound2Locked computes and broadcasts this signer's signature share, wipes its nonces and
// key share, then handles the shares that came early.
func (r *signRun) startRound2Locked() error {
	r.list = make(frost.CommitmentList, 0, len(r.Participants))
	for _, p := range r.Participants { // ascending parties have ascending identifiers
		com := r.commitments[p]
		r.list = append(r.list, com)
		var pair commitmentPair
		copy(pair[:elementSize], com.HidingNonceCommitment.Encode())
		copy(pair[elementSize:], com.BindingNonceCommitment.Encode())
		r.echo = append(r.echo, pair)
	}
	frostMu.Lock()
	own, err := r.signer.Sign(r.msg, r.list) // clears the nonces, used or not
	frostMu.Unlock()
	r.key.wipe()
	if err != nil {
		return r.Errorf(2, nil, "computing the signature share: %v", err)
	}
	r.shares[r.Self] = own
	r.EmitLocked(protocol.Outgoing{Broadcast: true, Payload: encodeSigShare(r.nonce, r.Self, own.SignatureShare, r.echo)})
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
	r.shares[from] = &frost.SignatureShare{SignatureShare: m.sigShare, SignerIdentifier: r.key.id(from), Group: group}
	return nil
}

// finishLocked checks every share against its signer's public share and sums them, verifies
// the signature with crypto/ed25519 and ends the run with it.
func (r *signRun) finishLocked() {
	if len(r.disagree) > 0 {
		r.FailLocked(r.Errorf(2, nil, "the signers did not all receive the same nonce commitments (%s): some signer sent different commitments to different signers, or lies about what it received", strings.Join(r.disagree, "; ")))
		return
	}
	shares := make([]*frost.SignatureShare, 0, len(r.Participants))
	for _, p := range r.Participants {
		shares = append(shares, r.shares[p])
	}
	frostMu.Lock()
	// With verify set, every share is checked against its signer's public share (the own one
	// too), with the group commitment and binding factors computed once.
	sig, err := r.config.AggregateSignatures(r.msg, shares, r.list, true)
	var culprits []protocol.PartyID
	if err != nil {
		for _, p := range r.Participants {
			if p != r.Self && r.config.VerifySignatureShare(r.shares[p], r.msg, r.list) != nil {
				culprits = append(culprits, p)
			}
		}
	}
	frostMu.Unlock()
	if len(culprits) > 0 {
		names := make([]string, len(culprits))
		for i, p := range culprits {
			names[i] = p.String()
		}
		r.FailLocked(r.Errorf(2, culprits, "the signature share of %s does not verify under its public share", strings.Join(names, " and of ")))
		return
	}
	if err != nil {
		r.FailLocked(r.Errorf(2, nil, "aggregating the signature shares: %v", err))
		return
	}
	enc := make([]byte, 0, SignatureSize)
	enc = append(enc, sig.R.Encode()...)
	enc = append(enc, sig.Z.Encode()...)
	if len(enc) != SignatureSize || !ed25519.Verify(r.key.publicKey.Encode(), r.msg, enc) {
		// Every share checked out, so the key's public data must be inconsistent.
		r.FailLocked(r.Errorf(2, nil, "the aggregated signature does not verify under the group key"))
		return
	}
	r.EndLocked(protocol.Result{Signature: &protocol.Signature{Encoded: enc}})
}

// wipe zeroizes the key share and any nonces not yet used; called once, when the run ends.
func (r *signRun) wipe() {
	r.key.wipe()
	r.signer.ClearNonceCommitment(r.commitmentID)
}
