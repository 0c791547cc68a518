package taproot

import (
	"fmt"
	"slices"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// signRun is one signer's side of a FROST signing (SignTaproot of the wrapped library) under
// the BIP86 output key:
//
// Round 1: every signer draws a fresh nonce pair (d, e) and broadcasts D = d·G, E = e·G.
// Round 2: every signer computes the binding factors, the group nonce R and the BIP340
// challenge, broadcasts its signature share z_i, and checks every other share against that
// signer's public share; the shares add up to the signature (R.x, Σ z_i).
//
// The run then verifies the signature with btcec's BIP340 verifier under the output key
// before reporting it. The nonces exist only inside the run: they are drawn at Start, used
// once, never stored, and dropped when the run ends, so a crash loses them instead of
// reusing them.
type signRun struct {
	libRun
	key    *tweakedKey // the run's copy; its secret is wiped once the library has its own
	digest [32]byte
	signer *signingKey // the library's copy of the tweaked share; wiped when the run ends
}

var _ protocol.Run = (*signRun)(nil)

func newSign(p protocol.SignParams) (*signRun, error) {
	if len(p.SessionNonce) != nonceSize {
		return nil, fmt.Errorf("bip340: session nonce of %d bytes (want %d)", len(p.SessionNonce), nonceSize)
	}
	key, err := tweakedKeys.Get(p.Share)
	if err != nil {
		return nil, err
	}
	signers := slices.Clone(p.Signers)
	slices.Sort(signers)
	if err := checkSigners(key, p.Self, signers); err != nil {
		key.wipe()
		return nil, fmt.Errorf("bip340: sign: %w", err)
	}
	r := &signRun{libRun: newLibRun("sign", p.Self, signers, p.SessionNonce), key: key, digest: p.Digest}
	r.start = r.startSign
	r.check = func(protocol.PartyID, *message) error { return nil }
	r.finish = r.finishSign
	r.Release = func() {
		r.key.wipe()
		r.signer.wipe()
		r.releaseLib()
	}
	return r, nil
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
	return fmt.Sprintf("bip340 sign run (%s of %v)", r.Self, r.Participants)
}

// startSign hands the tweaked share to the library and runs its first round, which draws the
// nonces.
func (r *signRun) startSign() (*libSession, libOutcome, error) {
	secret := r.key.secret.Bytes()
	r.key.wipe()
	var err error
	r.signer, err = newSigningKey(r.Self, r.key.threshold, r.key.outputKey, secret[:], r.key.publicShares)
	clear(secret[:])
	if err != nil {
		return nil, libOutcome{}, err
	}
	return startSignSession(r.signer, r.Participants, r.digest[:], r.nonce)
}

// finishSign verifies the library's signature under the output key, independently of the
// library, before it is reported.
func (r *signRun) finishSign(result any) (protocol.Result, error) {
	sig, err := signResult(result)
	if err != nil {
		return protocol.Result{}, err
	}
	if err := verifyBIP340(r.key.outputKey, r.digest[:], sig); err != nil {
		return protocol.Result{}, fmt.Errorf("the combined signature failed BIP340 verification under the output key: %w", err)
	}
	return protocol.Result{Signature: &protocol.Signature{Encoded: sig}}, nil
}
