package taproot

import (
	"errors"
	"fmt"
	"slices"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// keygenRun is one party's side of FROST's distributed key generation (KeygenTaproot of the
// wrapped library: Pedersen's DKG with Schnorr proofs of the constant terms):
//
// Round 1: every party draws a polynomial of degree t-1 and broadcasts Feldman commitments to
// it, a proof of knowledge of its constant term and a commitment to a chaining value.
// Round 2: every party broadcasts its chaining value (which taproot keys do not use) and sends
// every other party its polynomial's value at that party's index; each checks what it
// receives against the sender's commitments.
//
// The result is a Shamir share of the internal key P (normalized to an even y, as BIP340
// wants) and the BIP86 output key Q = P + H_TapTweak(P)·G, which is the key reported.
type keygenRun struct {
	libRun
	threshold int
}

var _ protocol.Run = (*keygenRun)(nil)

func newKeygen(p protocol.KeygenParams) (*keygenRun, error) {
	if p.Import != nil {
		return nil, errors.New("bip340: importing an existing key is not supported: the engine only generates keys by DKG (no party ever holds the whole key); generate a new key and move the funds to its address")
	}
	if len(p.SessionNonce) != nonceSize {
		return nil, fmt.Errorf("bip340: session nonce of %d bytes (want %d)", len(p.SessionNonce), nonceSize)
	}
	if len(p.PreParams) != 0 {
		return nil, errors.New("bip340: keygen takes no pre-params")
	}
	parties := slices.Clone(p.Parties)
	slices.Sort(parties)
	if err := protocol.CheckCluster(parties, p.Threshold, p.Self, maxParties); err != nil {
		return nil, fmt.Errorf("bip340: keygen: %w", err)
	}
	r := &keygenRun{libRun: newLibRun("keygen", p.Self, parties, p.SessionNonce), threshold: p.Threshold}
	r.start = func() (*libSession, libOutcome, error) {
		return startKeygenSession(r.Self, r.Participants, r.threshold, r.nonce)
	}
	r.check = r.checkPayload
	r.finish = r.finishKeygen
	r.Release = r.releaseLib
	return r, nil
}

func (r *keygenRun) String() string {
	return fmt.Sprintf("bip340 keygen run (%s of %v, threshold %d)", r.Self, r.Participants, r.threshold)
}

// checkPayload does the keygen checks of a payload the library would not do, or do too late.
func (r *keygenRun) checkPayload(from protocol.PartyID, m *message) error {
	switch m.kind {
	case kindKeygenCommit:
		if len(m.coefficients) != r.threshold {
			return fmt.Errorf("%s committed to a polynomial with %d coefficients (want %d, for threshold %d)", from, len(m.coefficients), r.threshold, r.threshold)
		}
	case kindKeygenShare:
		if m.to != r.Self {
			return fmt.Errorf("%s sent this party a share addressed to %s", from, m.to)
		}
	}
	return nil
}

// finishKeygen turns the library's result into this party's share and checks it as a share is
// checked when decoded.
func (r *keygenRun) finishKeygen(result any) (protocol.Result, error) {
	out, err := keygenResult(result, r.Self)
	if err != nil {
		return protocol.Result{}, err
	}
	defer clear(out.secret)
	if out.threshold != r.threshold {
		return protocol.Result{}, fmt.Errorf("multi-party-sig returned a key of threshold %d (want %d)", out.threshold, r.threshold)
	}
	s, err := newShare(r.threshold, r.Participants, r.Self, out)
	if err != nil {
		return protocol.Result{}, fmt.Errorf("the generated share: %w", err)
	}
	defer s.wipe()
	enc, err := s.encode()
	if err != nil {
		return protocol.Result{}, fmt.Errorf("encoding the share: %w", err)
	}
	return protocol.Result{Keygen: &protocol.KeygenOutput{PublicKey: s.outputKeyBytes(), Share: enc}}, nil
}
