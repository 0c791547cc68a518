package taproot

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/btcsuite/btcd/btcec/v2"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// signRun is one signer's side of a FROST signing under the BIP86 output key (frost.go), with
// this signer also acting as the coordinator.
//
// Round 1 (Start): draw the nonces (d, e) and broadcast their commitments D = d·G, E = e·G.
// Round 2 (once every signer's commitments are here): compute the binding factors, the group
// commitment R and the BIP340 challenge over the commitment list, and broadcast the signature
// share z_i with the digest of that list. On receipt: check that the sender used the same list
// as this party. End (every share here): check every other signer's share against its public
// share (naming the signers whose shares fail), add the shares up and verify the signature with
// btcec's BIP340 verifier under the output key before reporting it.
//
// A presign run (mode roundOneOnly) stops where round 2 would begin and ends with a
// presignature instead; the presignature's online run (roundTwoOnly) is a signRun that starts
// with round 1's state already in place, so both kinds of signing share round 2 and the end.
type signRun struct {
	core
	mode   signMode
	key    *tweakedKey // this run's copy; its secret is wiped once the own signature share exists
	digest [32]byte    // the message signed (zero in a presign run, which signs nothing)
	nonce  []byte

	// Guarded by core.Mu.
	nonces      *noncePair                             // the own nonces, from Start until the own share; then wiped and nil
	commitments map[protocol.PartyID]signerCommitment  // checked, own included
	session     *session                               // once every commitment is here
	shares      map[protocol.PartyID]*btcec.ModNScalar // over this party's list, own included
	pending     map[protocol.PartyID]*message          // shares that came before the list was complete
	heard       int                                    // other signers whose share was accepted
	seen        replays
}

var _ protocol.Run = (*signRun)(nil)

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
	return newSignRun(bothRounds, p.Self, signers, key, p.SessionNonce, p.Digest), nil
}

// signSetup checks what every run of a signing needs (the session nonce's size, the share,
// the signers) and returns this run's copy of the key and the signers, ascending. task names
// the run in errors.
func signSetup(task string, self protocol.PartyID, signers []protocol.PartyID, share, nonce []byte) (*tweakedKey, []protocol.PartyID, error) {
	if len(nonce) != nonceSize {
		return nil, nil, fmt.Errorf("bip340: session nonce of %d bytes (want %d)", len(nonce), nonceSize)
	}
	key, err := tweakedKeys.Get(share)
	if err != nil {
		return nil, nil, err
	}
	signers = slices.Clone(signers)
	slices.Sort(signers)
	if err := checkSigners(key, self, signers); err != nil {
		key.wipe()
		return nil, nil, fmt.Errorf("bip340: %s: %w", task, err)
	}
	return key, signers, nil
}

// newSignRun returns a run of mode over a checked key and signer list (ascending); the run
// owns key and wipes it.
func newSignRun(mode signMode, self protocol.PartyID, signers []protocol.PartyID, key *tweakedKey, nonce []byte, digest [32]byte) *signRun {
	task := "sign"
	if mode == roundOneOnly {
		task = "presign"
	}
	t := len(signers)
	r := &signRun{
		core:        newCore(task, self, signers),
		mode:        mode,
		key:         key,
		digest:      digest,
		nonce:       slices.Clone(nonce),
		commitments: make(map[protocol.PartyID]signerCommitment, t),
		shares:      make(map[protocol.PartyID]*btcec.ModNScalar, t),
		pending:     make(map[protocol.PartyID]*message),
		seen:        make(replays, 2*t),
	}
	r.Release = r.wipe
	return r
}

// checkSigners checks that signers (sorted) are exactly t distinct holders of the key, self
// among them.
func checkSigners(key *tweakedKey, self protocol.PartyID, signers []protocol.PartyID) error {
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
		if !key.holds(p) {
			return fmt.Errorf("signer %s holds no share of the key", p)
		}
	}
	if !slices.Contains(signers, self) {
		return fmt.Errorf("self (%s) is not one of the signers", self)
	}
	return nil
}

func (r *signRun) String() string {
	return fmt.Sprintf("bip340 %s run (%s of %v)", r.Task, r.Self, r.Participants)
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
	nonces, own := commit(r.Self, r.key.secret)
	r.nonces = nonces
	r.commitments[r.Self] = own
	r.EmitLocked(protocol.Outgoing{Broadcast: true, Payload: encodeNonceCommit(r.nonce, r.Self, own.enc[:pointSize], own.enc[pointSize:])})
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
	m, derr := decodePayload(payload) // outside the lock: point decoding costs
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
	if r.session != nil && !r.Ended && r.heard == len(r.Participants)-1 {
		r.finishLocked()
	}
	return nil
}

func (r *signRun) acceptLocked(from protocol.PartyID, broadcast bool, m *message, payload []byte) error {
	culprit := []protocol.PartyID{from}
	if err := checkEnvelope(&r.core, from, broadcast, m, r.nonce); err != nil {
		return err
	}
	if m.kind != kindNonceCommit && m.kind != kindSigShare {
		return r.Errorf(kindRound(m.kind), culprit, "%s sent a %s payload, which has no place in signing", from, kindName(m.kind))
	}
	if dup, err := r.seen.check(&r.core, from, m.kind, payload); err != nil || dup {
		return err // nil for an identical replay
	}
	if m.kind == kindNonceCommit {
		return r.acceptCommitmentLocked(from, m)
	}
	// Not every commitment is here yet, or this is a presign run, whose online run takes the
	// share over: handle it once this party's own share exists.
	if r.session == nil {
		r.pending[from] = m
		return nil
	}
	return r.acceptShareLocked(from, m)
}

// acceptCommitmentLocked records a signer's nonce commitments (decoding has checked that they
// are points on the curve) and, once the list is complete, goes on to round 2 or ends the
// presign run.
func (r *signRun) acceptCommitmentLocked(from protocol.PartyID, m *message) error {
	// The replay check has already refused a second commitment from anyone; this keeps the
	// list an online run took over from its presignature from ever being overwritten.
	if _, ok := r.commitments[from]; ok {
		return r.Errorf(1, []protocol.PartyID{from}, "%s sent nonce commitments after it had sent others", from)
	}
	r.commitments[from] = newSignerCommitment(from, m.hidingPoint, m.bindingPoint, m.hiding, m.binding)
	if len(r.commitments) < len(r.Participants) {
		return nil
	}
	if r.mode == roundOneOnly {
		return r.endWithPresignatureLocked()
	}
	return r.startRound2Locked()
}

// startRound2Locked computes and broadcasts this signer's signature share, wipes its nonces and
// key share, then handles the shares that came early.
func (r *signRun) startRound2Locked() error {
	list := make([]signerCommitment, 0, len(r.Participants))
	for _, p := range r.Participants {
		list = append(list, r.commitments[p])
	}
	nonces := r.nonces
	r.nonces = nil
	if nonces == nil { // unreachable: the list completes once
		return r.Errorf(2, nil, "the own nonces are gone")
	}
	defer nonces.wipe()
	defer r.key.wipe()
	s, err := newSession(r.key.outputKey, list, r.digest[:])
	if err != nil {
		return r.Errorf(2, nil, "computing the signature share: %v", err)
	}
	own := s.signatureShare(slices.Index(r.Participants, r.Self), r.key.secret, nonces)
	r.session = s
	r.shares[r.Self] = own
	r.EmitLocked(protocol.Outgoing{Broadcast: true, Payload: encodeSigShare(r.nonce, r.Self, s.listDigest[:], own)})
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
	if !bytes.Equal(m.view, r.session.listDigest[:]) {
		// Either some signer showed different nonce commitments to different signers, or from
		// misreports the list it used. Which, no one can tell from here: the commitments carry
		// no signatures, so blame would be a guess.
		return r.Errorf(2, nil, "%s computed its signature share over other nonce commitments than this party received: a signer equivocated (sent different nonce commitments to different signers) or %s misreports; the culprit cannot be identified", from, from)
	}
	r.shares[from] = m.z
	r.heard++
	return nil
}

// finishLocked adds the shares up, checks every other signer's share and the signature with
// btcec's BIP340 verifier under the output key, and ends the run.
func (r *signRun) finishLocked() {
	shares := make([]*btcec.ModNScalar, 0, len(r.Participants))
	for _, p := range r.Participants {
		shares = append(shares, r.shares[p])
	}
	sig := r.session.aggregate(shares)
	// With one other signer, btcec accepting the signature is that signer's share verifying:
	// BIP340 accepts (x(R'), s) iff s·G - c·Q is the point with x-coordinate x(R') and an even
	// y, c being this session's challenge; x(R') = x(R) and -R or R has the even y, so that
	// point is ±R = C_self + C_j (C_i the signers' contributions, negated with R); Q =
	// λ_self·Q_self + λ_j·Q_j, because the share check proved every public share on one
	// polynomial through the internal key and the tweak is the same for all; and the own
	// share satisfies z_self·G = C_self + (c·λ_self)·Q_self by construction, from the checked
	// key share and the own nonces. So the signature verifies iff z_j·G = C_j + (c·λ_j)·Q_j,
	// which is verify_signature_share for j, and the shares are checked one by one only when
	// the signature fails, to name the culprit. With more signers, errors in two shares could
	// cancel out in the sum: every other share is checked on its own, then the signature.
	verified := len(r.Participants) == 2 && verifyBIP340Key(r.key.outputPub, r.digest[:], sig) == nil
	if !verified {
		if culprits := r.invalidSharesLocked(); len(culprits) > 0 {
			names := make([]string, len(culprits))
			for i, p := range culprits {
				names[i] = p.String()
			}
			r.FailLocked(r.Errorf(2, culprits, "the signature share of %s does not verify under its public share", strings.Join(names, " and of ")))
			return
		}
		if err := verifyBIP340Key(r.key.outputPub, r.digest[:], sig); err != nil {
			// Every share checked out, so the key's public data must be inconsistent.
			r.FailLocked(r.Errorf(2, nil, "the combined signature failed BIP340 verification under the output key: %v", err))
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

// wipe zeroizes the key share and the nonces if they are still here; called once, when the
// run ends (core.Mu held).
func (r *signRun) wipe() {
	r.key.wipe()
	if r.nonces != nil {
		r.nonces.wipe()
		r.nonces = nil
	}
}
