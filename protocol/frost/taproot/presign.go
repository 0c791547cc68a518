package taproot

import (
	"errors"
	"fmt"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/internal/oneshot"
)

// Presignatures: FROST's round 1 ahead of time (protocol.Presigner).
//
// A presign run is a signRun of mode roundOneOnly: each signer draws its nonces, broadcasts
// their commitments in the sign run's round-1 payload and checks everyone else's exactly as a
// sign run does, then ends with a presignature instead of going on to round 2. The
// presignature's Sign returns a signRun of mode roundTwoOnly: the same round 2 (the share and
// the digest of the commitment list it was computed over), checks and BIP340 verification as a
// sign run, on the same wire format.
//
// Why this is sound: RFC 9591 lets commit (section 5.1) run before the message is known; the
// binding factors hash the message, the output key and the whole commitment list into every
// share, so a share is good for one message and one list only, and a signer bound to another
// digest or shown other commitments makes every honest signer's run fail (the shares do not
// verify, or the list digests differ) without a signature. What changes from a sign run is how
// long the nonces live: from the presign run's end until the presignature signs or is
// discarded. They still exist only in this process's memory (never serialized, persisted or
// sent) and make at most one signature share: a presignature hands its nonces to exactly one
// online run, under a mutex, and that run wipes them as soon as its own share exists. A crash
// destroys them, so, as for a sign run, trust rule 4 has nothing to record about them; the
// enclave still must bind exactly one request to each presignature before calling Sign.

var _ protocol.Presigner = Engine{}

// ErrPresignatureUsed is returned by Sign on a presignature that has signed already.
var ErrPresignatureUsed = errors.New("bip340: presignature already used")

// ErrPresignatureDiscarded is returned by Sign on a presignature that was discarded.
var ErrPresignatureDiscarded = errors.New("bip340: presignature discarded: draw a new one")

// Presign returns a presign run for p.Self: the message-independent first round of a signing
// by p.Signers, which must be exactly the key's threshold of holders of the key, p.Self among
// them. The run ends with a protocol.Result whose Presignature signs once. p.Derivation must
// be nil: BIP340 keys of this engine are not derived.
func (Engine) Presign(p protocol.PresignParams) (protocol.Run, error) {
	if p.Derivation != nil {
		return nil, errors.New("bip340: presign: BIP340 keys have no derived children: presign with the key itself (Derivation nil)")
	}
	key, signers, err := signSetup("presign", p.Self, p.Signers, p.Share, p.SessionNonce)
	if err != nil {
		return nil, err
	}
	return newSignRun(roundOneOnly, p.Self, signers, key, p.SessionNonce, [32]byte{}), nil
}

// endWithPresignatureLocked ends a presign run whose commitment list is complete with a
// presignature, which takes over the run's round-1 state: the own nonces, the checked
// commitments, signature shares that arrived early and the record of payloads seen (so that
// the online run blames a signer that sends other commitments now). It gets its own copy of
// the key, as the run wipes its copy when it ends.
func (r *signRun) endWithPresignatureLocked() error {
	nonces := r.nonces
	r.nonces = nil
	if nonces == nil { // unreachable: the list completes once
		return r.Errorf(1, nil, "the own nonces are gone")
	}
	state := &presigned{
		nonce:       r.nonce,
		key:         r.key.clone(),
		nonces:      nonces,
		commitments: r.commitments,
		pending:     r.pending,
		seen:        r.seen,
	}
	r.commitments, r.pending, r.seen = nil, nil, nil
	r.EndLocked(protocol.Result{Presignature: newPresignature(r.Self, r.Participants, state)})
	return nil
}

// startOnlineLocked is an online run's Start: round 2 over the presignature's commitments,
// which also handles the shares that reached the presign run early; if every other share was
// among them, the run ends here.
func (r *signRun) startOnlineLocked() error {
	if err := r.startRound2Locked(); err != nil {
		return r.FailLocked(err)
	}
	if r.heard == len(r.Participants)-1 {
		r.finishLocked()
	}
	return nil
}

// presignature is one signer's parked round 1 (protocol.Presignature). Its state moves to
// exactly one online run (Sign) or is wiped (Discard), whichever comes first: the holder makes
// the two exclusive, so no nonce pair can make two signature shares.
type presignature struct {
	self    protocol.PartyID
	signers []protocol.PartyID // ascending
	state   *oneshot.Holder[*presigned]
}

var _ protocol.Presignature = (*presignature)(nil)

// newPresignature parks state for self, one of signers.
func newPresignature(self protocol.PartyID, signers []protocol.PartyID, state *presigned) *presignature {
	return &presignature{self: self, signers: signers, state: oneshot.New(state)}
}

// presigned is what a presign run hands to its online run. Only key and nonces are secret;
// the rest is public and, once the presign run has ended, read by nobody else.
type presigned struct {
	nonce       []byte      // the session nonce, which the online payloads carry too
	key         *tweakedKey // a copy of the key, wiped with the nonces
	nonces      *noncePair
	commitments map[protocol.PartyID]signerCommitment // checked, own included
	pending     map[protocol.PartyID]*message         // signature shares that came early
	seen        replays
}

// Wipe implements oneshot.Wiper: it overwrites the key copy and the nonces.
func (s *presigned) Wipe() {
	s.key.wipe()
	s.nonces.wipe()
}

// String describes the presignature without its secrets.
func (p *presignature) String() string {
	if gone := p.state.Gone(); gone != nil {
		return fmt.Sprintf("bip340 presignature (%v)", gone)
	}
	return fmt.Sprintf("bip340 presignature (%s of %v)", p.self, p.signers)
}

// GoString is String, so that %#v does not print the secrets either.
func (p *presignature) GoString() string { return p.String() }

// Sign binds in.Digest (for a key-path spend, the BIP341 signature hash) to the presignature
// and returns the online run. in.Message is refused: BIP340 signs a 32-byte digest. The first
// call consumes the presignature whatever its outcome: an input refused here burns it too, as
// the enclave must burn a presignature on any error.
func (p *presignature) Sign(in protocol.SignInput) (protocol.Run, error) {
	state, err := p.state.Take(ErrPresignatureUsed)
	if err != nil {
		return nil, err
	}
	if in.Message != nil {
		state.Wipe()
		return nil, fmt.Errorf("bip340: %w; the presignature is spent", protocol.SignParams{Message: in.Message}.DigestOnly(protocol.SchemeBIP340))
	}
	r := newSignRun(roundTwoOnly, p.self, p.signers, state.key, state.nonce, in.Digest)
	r.commitments, r.pending, r.seen = state.commitments, state.pending, state.seen
	r.nonces = state.nonces // the run wipes key and nonces from here on
	return r, nil
}

// Discard wipes the presignature's secrets unless Sign has taken them; later calls do nothing.
func (p *presignature) Discard() { p.state.Discard(ErrPresignatureDiscarded) }
