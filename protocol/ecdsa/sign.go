package ecdsa

import (
	"errors"
	"fmt"
	"math/big"
	"slices"

	"github.com/bnb-chain/tss-lib/v3/common"
	"github.com/bnb-chain/tss-lib/v3/ecdsa/signing"
	"github.com/bnb-chain/tss-lib/v3/tss"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// SignConfig configures one party's side of a threshold signing.
type SignConfig struct {
	// Self is this party; it must be one of Signers and the owner of Share.
	Self protocol.PartyID
	// Signers are exactly Threshold parties of the key, no duplicates, in any order.
	Signers []protocol.PartyID
	// Share is this party's serialized key share (KeygenOutput.Share). Secret.
	Share []byte
	// Digest is the 32-byte message hash to sign. It must not be zero (mod the curve order);
	// a digest above the curve order is signed as ECDSA does, reduced mod N.
	Digest [32]byte
	// SessionNonce is 32 bytes, not all zero, identical at every signer and fresh for every
	// signing; it binds the run's proofs to this session.
	SessionNonce []byte
	// Derivation, when set, signs with the non-hardened child of the share's key it names
	// (secp256k1 only; see DerivePublicKey). Every signer must be given the same one.
	Derivation *protocol.Derivation
}

// String describes the config without the share.
func (c SignConfig) String() string {
	return fmt.Sprintf("ecdsa.SignConfig{Self: %s, Signers: %v, Share: (%d bytes, redacted), Digest: %x, SessionNonce: %x, Derivation: %v}",
		c.Self, c.Signers, len(c.Share), c.Digest, c.SessionNonce, c.Derivation)
}

// GoString is String, so that %#v does not print the share either.
func (c SignConfig) GoString() string { return c.String() }

// NewSign returns a signing run for cfg. On success its Done yields a Result whose Signature
// verifies against the share's group key, has a low S and the recovery id that recovers the
// group key from (r, s) and the digest.
func NewSign(cfg SignConfig) (protocol.Run, error) {
	su, err := newSignSetup(cfg.Self, cfg.Signers, cfg.Share, cfg.SessionNonce, cfg.Derivation)
	if err != nil {
		return nil, err
	}
	m, err := su.message(cfg.Digest)
	if err != nil {
		return nil, fmt.Errorf("ecdsa: sign config: %w", err)
	}
	r := newRun("sign", cfg.Self, su.ps, signMessage)
	end := make(chan *common.SignatureData, 1)
	party, err := su.construct(m, r.tssOut, end)
	if err != nil {
		return nil, err
	}
	r.party = party
	r.takeEnd = su.takeSignature(end, cfg.Digest)
	return r, nil
}

// signSetup is what a signing and a presigning share: the checked share and signer set, the
// tss-lib parameters bound to the session nonce, and the derivation.
type signSetup struct {
	self   protocol.PartyID
	share  *Share
	ps     *partySet
	params *tss.Parameters
	delta  *big.Int // nil without derivation
	pub    []byte   // the public key signatures must verify under (the child's, when derived)
}

func newSignSetup(self protocol.PartyID, signers []protocol.PartyID, shareBytes, nonce []byte, d *protocol.Derivation) (*signSetup, error) {
	share, err := DecodeShare(shareBytes)
	if err != nil {
		return nil, err
	}
	if self != share.self {
		return nil, fmt.Errorf("ecdsa: sign config: self is %s but the share belongs to %s", self, share.self)
	}
	if err := checkPartyList("signers", signers); err != nil {
		return nil, fmt.Errorf("ecdsa: sign config: %w", err)
	}
	if len(signers) != share.threshold {
		return nil, fmt.Errorf("ecdsa: sign config: %d signers; the key needs exactly %d", len(signers), share.threshold)
	}
	for _, p := range signers {
		if !slices.Contains(share.parties, p) {
			return nil, fmt.Errorf("ecdsa: sign config: signer %s is not a party of the key %v", p, share.parties)
		}
	}
	if !slices.Contains(signers, self) {
		return nil, fmt.Errorf("ecdsa: sign config: self (%s) is not one of the signers", self)
	}
	if err := checkSessionNonce(nonce); err != nil {
		return nil, fmt.Errorf("ecdsa: sign config: %w", err)
	}
	delta, pub, err := deriveShare(share, d)
	if err != nil {
		return nil, fmt.Errorf("ecdsa: sign config: %w", err)
	}
	ps := newPartySet(signers)
	params := tss.NewParameters(share.curve.ec, tss.NewPeerContext(ps.tss), ps.byID[self], len(ps.ids), share.threshold-1)
	// Without its own nonce tss-lib would use the message as the session's nonce, and every
	// presignature (all made with one placeholder message) would share one session id.
	params.SetSessionNonce(new(big.Int).SetBytes(nonce))
	return &signSetup{self: self, share: share, ps: ps, params: params, delta: delta, pub: pub}, nil
}

// message returns the digest as the integer ECDSA signs, reduced mod N as ECDSA does, and
// refuses zero (tss-lib's round 1 range-checks the message it was built with; a presignature
// was built with a placeholder, so this check is the real digest's).
func (su *signSetup) message(digest [32]byte) (*big.Int, error) {
	m := new(big.Int).SetBytes(digest[:])
	m.Mod(m, su.share.curve.ec.Params().N)
	if m.Sign() == 0 {
		return nil, errors.New("digest is zero (mod the curve order)")
	}
	return m, nil
}

// construct makes the tss-lib signing party for message m, writing to out and end. tss-lib
// keeps the pointer m and first reads it in round 5.
func (su *signSetup) construct(m *big.Int, out chan tss.Message, end chan *common.SignatureData) (tss.Party, error) {
	party, err := construct(func() tss.Party {
		return signing.NewLocalPartyWithKDD(m, su.params, su.share.save, su.delta, out, end, 32)
	})
	if err != nil {
		return nil, fmt.Errorf("ecdsa: sign: %w", err)
	}
	return party, nil
}

// takeSignature returns a run's takeEnd for a signing of digest: it polls end and checks what
// tss-lib produced independently of tss-lib.
func (su *signSetup) takeSignature(end chan *common.SignatureData, digest [32]byte) func() (protocol.Result, bool) {
	c, pub := su.share.curve, su.pub
	return func() (protocol.Result, bool) {
		select {
		case sd := <-end:
			sig, err := checkSignature(c, sd, digest, pub)
			if err != nil {
				return protocol.Result{Err: &protocol.Error{Task: "sign", Cause: err}}, true
			}
			return protocol.Result{Signature: sig}, true
		default:
			return protocol.Result{}, false
		}
	}
}

// checkSignature checks tss-lib's signature independently of tss-lib: r and s in [1, N-1], s
// low, (r, s) valid for digest under pub (see curve.verify), and it computes the recovery id
// by recovering the key.
func checkSignature(c *curve, sd *common.SignatureData, digest [32]byte, pub []byte) (*protocol.Signature, error) {
	if sd == nil {
		return nil, errors.New("no signature produced")
	}
	if len(sd.R) == 0 || len(sd.R) > 32 || len(sd.S) == 0 || len(sd.S) > 32 {
		return nil, errors.New("signature components have the wrong size")
	}
	n := c.ec.Params().N
	r, s := new(big.Int).SetBytes(sd.R), new(big.Int).SetBytes(sd.S)
	if r.Sign() == 0 || r.Cmp(n) >= 0 {
		return nil, errors.New("signature r out of range")
	}
	if s.Sign() == 0 || s.Cmp(n) >= 0 {
		return nil, errors.New("signature s out of range")
	}
	if s.Cmp(new(big.Int).Rsh(n, 1)) > 0 {
		return nil, errors.New("signature s is not low (> N/2)")
	}
	id, err := c.verify(pub, digest, r, s)
	if err != nil {
		return nil, err
	}
	sig := &protocol.Signature{RecoveryID: id}
	r.FillBytes(sig.R[:])
	s.FillBytes(sig.S[:])
	return sig, nil
}

// signMessage classifies signing message contents.
func signMessage(c tss.MessageContent) (broadcast, known bool) {
	switch c.(type) {
	case *signing.SignRound1Message1, *signing.SignRound2Message:
		return false, true
	case *signing.SignRound1Message2, *signing.SignRound3Message, *signing.SignRound4Message,
		*signing.SignRound5Message, *signing.SignRound6Message, *signing.SignRound7Message,
		*signing.SignRound8Message, *signing.SignRound9Message:
		return true, true
	}
	return false, false
}
