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
	share, err := DecodeShare(cfg.Share)
	if err != nil {
		return nil, err
	}
	if cfg.Self != share.self {
		return nil, fmt.Errorf("ecdsa: sign config: self is %s but the share belongs to %s", cfg.Self, share.self)
	}
	if err := checkPartyList("signers", cfg.Signers); err != nil {
		return nil, fmt.Errorf("ecdsa: sign config: %w", err)
	}
	if len(cfg.Signers) != share.threshold {
		return nil, fmt.Errorf("ecdsa: sign config: %d signers; the key needs exactly %d", len(cfg.Signers), share.threshold)
	}
	for _, p := range cfg.Signers {
		if !slices.Contains(share.parties, p) {
			return nil, fmt.Errorf("ecdsa: sign config: signer %s is not a party of the key %v", p, share.parties)
		}
	}
	if !slices.Contains(cfg.Signers, cfg.Self) {
		return nil, fmt.Errorf("ecdsa: sign config: self (%s) is not one of the signers", cfg.Self)
	}
	if err := checkSessionNonce(cfg.SessionNonce); err != nil {
		return nil, fmt.Errorf("ecdsa: sign config: %w", err)
	}
	c := share.curve
	m := new(big.Int).SetBytes(cfg.Digest[:])
	m.Mod(m, c.ec.Params().N)
	if m.Sign() == 0 {
		return nil, errors.New("ecdsa: sign config: digest is zero (mod the curve order)")
	}
	delta, pub, err := deriveShare(share, cfg.Derivation)
	if err != nil {
		return nil, fmt.Errorf("ecdsa: sign config: %w", err)
	}

	ps := newPartySet(cfg.Signers)
	params := tss.NewParameters(c.ec, tss.NewPeerContext(ps.tss), ps.byID[cfg.Self], len(ps.ids), share.threshold-1)
	params.SetSessionNonce(new(big.Int).SetBytes(cfg.SessionNonce))

	r := newRun("sign", cfg.Self, ps, signMessage)
	end := make(chan *common.SignatureData, 1)
	party, err := construct(func() tss.Party {
		return signing.NewLocalPartyWithKDD(m, params, share.save, delta, r.tssOut, end, len(cfg.Digest))
	})
	if err != nil {
		return nil, fmt.Errorf("ecdsa: sign: %w", err)
	}
	r.party = party
	digest := cfg.Digest
	r.takeEnd = func() (protocol.Result, bool) {
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
	return r, nil
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
