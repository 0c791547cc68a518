package bls

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"

	blst "github.com/supranational/blst/bindings/go"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// signRun is one signer's side of a threshold signing: broadcast σ_self = x_self·H(m), check
// every other signer's partial against its public share, combine by Lagrange interpolation at
// 0 and verify the result under the group key.
type signRun struct {
	core
	key    *share // its secret is wiped once the own partial exists
	digest [32]byte
	nonce  []byte
	h      *blst.P2Affine // H(digest)

	// Guarded by core.mu.
	partials map[protocol.PartyID]*blst.P2Affine // checked partials, own included
	seen     map[protocol.PartyID][sha256.Size]byte
}

var _ protocol.Run = (*signRun)(nil)

func newSign(p protocol.SignParams) (*signRun, error) {
	if len(p.SessionNonce) != nonceSize {
		return nil, fmt.Errorf("bls: session nonce of %d bytes (want %d)", len(p.SessionNonce), nonceSize)
	}
	key, err := decodeShare(p.Share)
	if err != nil {
		return nil, err
	}
	signers := slices.Clone(p.Signers)
	slices.Sort(signers)
	if err := checkSigners(key, p.Self, signers); err != nil {
		key.wipe()
		return nil, fmt.Errorf("bls: sign: %w", err)
	}
	r := &signRun{
		core:     newCore("sign", p.Self, signers),
		key:      key,
		digest:   p.Digest,
		nonce:    slices.Clone(p.SessionNonce),
		h:        hashToG2(p.Digest[:]),
		partials: make(map[protocol.PartyID]*blst.P2Affine, len(signers)),
		seen:     make(map[protocol.PartyID][sha256.Size]byte, len(signers)),
	}
	r.Release = key.wipe
	return r, nil
}

// checkSigners checks that signers (sorted) are exactly t distinct holders of the key, self
// among them.
func checkSigners(key *share, self protocol.PartyID, signers []protocol.PartyID) error {
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
	return fmt.Sprintf("bls sign run (%s of %v)", r.Self, r.Participants)
}

// Start computes and broadcasts this signer's partial signature.
func (r *signRun) Start() error {
	r.Mu.Lock()
	defer r.Mu.Unlock()
	if err := r.BeginLocked(); err != nil {
		return err
	}
	own := partialSign(r.key.secret, r.h)
	r.key.wipe()
	r.partials[r.Self] = own
	r.EmitLocked(protocol.Outgoing{Broadcast: true, Payload: encodePartial(r.nonce, r.Self, own)})
	return nil
}

// partialSign returns x·h.
func partialSign(x *blst.Scalar, h *blst.P2Affine) *blst.P2Affine {
	var p blst.P2
	p.FromAffine(h)
	return p.MultAssign(x).ToAffine()
}

// Handle takes one other signer's partial signature.
func (r *signRun) Handle(from protocol.PartyID, broadcast bool, payload []byte) error {
	r.Mu.Lock()
	err := r.AdmitLocked(from, payload)
	r.Mu.Unlock()
	if err != nil {
		return err
	}
	m, derr := decodePayload(payload)
	dup, err := r.register(from, broadcast, m, derr, payload)
	if err != nil || dup {
		return err
	}
	// Outside the lock, so that partials from several signers are checked in parallel.
	valid := partialValid(r.key.publicShare(from), r.h, m.partial)

	r.Mu.Lock()
	defer r.Mu.Unlock()
	if r.Ended {
		return ErrEnded
	}
	if !valid {
		return r.FailLocked(r.Errorf(1, []protocol.PartyID{from}, "the partial signature of %s does not verify under its public share", from))
	}
	r.partials[from] = m.partial
	if len(r.partials) == len(r.Participants) {
		r.finishLocked()
	}
	return nil
}

// register checks a decoded payload and marks its sender as heard from; dup reports an
// identical replay, to be ignored.
func (r *signRun) register(from protocol.PartyID, broadcast bool, m *message, derr error, payload []byte) (dup bool, err error) {
	r.Mu.Lock()
	defer r.Mu.Unlock()
	if r.Ended {
		return false, ErrEnded
	}
	culprit := []protocol.PartyID{from}
	if derr != nil {
		return false, r.FailLocked(r.Errorf(1, culprit, "malformed payload from %s: %v", from, derr))
	}
	if err := checkEnvelope(&r.core, from, broadcast, m, r.nonce); err != nil {
		return false, r.FailLocked(err)
	}
	if m.kind != kindPartial {
		return false, r.FailLocked(r.Errorf(1, culprit, "%s sent a %s payload, which has no place in signing", from, kindName(m.kind)))
	}
	sum := sha256.Sum256(payload)
	if prev, ok := r.seen[from]; ok {
		if prev == sum {
			return true, nil
		}
		return false, r.FailLocked(r.Errorf(1, culprit, "%s sent two different partial signatures", from))
	}
	r.seen[from] = sum
	return false, nil
}

// finishLocked combines the partials, verifies the signature under the group key and ends the
// run with it.
func (r *signRun) finishLocked() {
	sig, err := r.combineLocked()
	if err != nil {
		r.FailLocked(&protocol.Error{Task: r.Task, Round: 1, Cause: err})
		return
	}
	r.EndLocked(protocol.Result{Signature: &protocol.Signature{Encoded: sig.Compress()}})
}

func (r *signRun) combineLocked() (*blst.P2Affine, error) {
	partials := make([]*blst.P2Affine, len(r.Participants))
	for i, p := range r.Participants {
		partials[i] = r.partials[p]
	}
	sig, err := combine(r.Participants, partials)
	if err != nil {
		return nil, err
	}
	if !verifySignature(r.key.publicKey, r.digest[:], sig) {
		// Every partial checked out, so the share's public data must be inconsistent.
		return nil, errors.New("the combined signature does not verify under the group key")
	}
	return sig, nil
}
