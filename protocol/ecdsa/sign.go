package ecdsa

import (
	"errors"
	"fmt"
	"math/big"
	"slices"

	"github.com/bnb-chain/tss-lib/v3/common"
	"github.com/bnb-chain/tss-lib/v3/ecdsa/signing"
	"github.com/bnb-chain/tss-lib/v3/tss"
	"github.com/btcsuite/btcd/btcec/v2"
	btcecdsa "github.com/btcsuite/btcd/btcec/v2/ecdsa"

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
}

// String describes the config without the share.
func (c SignConfig) String() string {
	return fmt.Sprintf("ecdsa.SignConfig{Self: %s, Signers: %v, Share: (%d bytes, redacted), Digest: %x, SessionNonce: %x}",
		c.Self, c.Signers, len(c.Share), c.Digest, c.SessionNonce)
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
	curveN := tss.S256().Params().N
	m := new(big.Int).SetBytes(cfg.Digest[:])
	m.Mod(m, curveN)
	if m.Sign() == 0 {
		return nil, errors.New("ecdsa: sign config: digest is zero (mod the curve order)")
	}
	pub, err := btcec.ParsePubKey(share.publicKey)
	if err != nil {
		return nil, fmt.Errorf("ecdsa: share public key: %w", err)
	}

	ps := newPartySet(cfg.Signers)
	params := tss.NewParameters(tss.S256(), tss.NewPeerContext(ps.tss), ps.byID[cfg.Self], len(ps.ids), share.threshold-1)
	params.SetSessionNonce(new(big.Int).SetBytes(cfg.SessionNonce))

	r := newRun("sign", cfg.Self, ps, signMessage)
	end := make(chan *common.SignatureData, 1)
	party, err := construct(func() tss.Party {
		return signing.NewLocalParty(m, params, share.save, r.tssOut, end, len(cfg.Digest))
	})
	if err != nil {
		return nil, fmt.Errorf("ecdsa: sign: %w", err)
	}
	r.party = party
	digest := cfg.Digest
	r.takeEnd = func() (protocol.Result, bool) {
		select {
		case sd := <-end:
			sig, err := checkSignature(sd, digest, pub)
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

// checkSignature checks tss-lib's signature independently of tss-lib (btcec's secp256k1):
// r and s in [1, N-1], s low, (r, s) valid for digest under pub; and it computes the recovery
// id by recovering the key.
func checkSignature(sd *common.SignatureData, digest [32]byte, pub *btcec.PublicKey) (*protocol.Signature, error) {
	if sd == nil {
		return nil, errors.New("no signature produced")
	}
	if len(sd.R) == 0 || len(sd.R) > 32 || len(sd.S) == 0 || len(sd.S) > 32 {
		return nil, errors.New("signature components have the wrong size")
	}
	var r, s btcec.ModNScalar
	if overflow := r.SetByteSlice(sd.R); overflow || r.IsZero() {
		return nil, errors.New("signature r out of range")
	}
	if overflow := s.SetByteSlice(sd.S); overflow || s.IsZero() {
		return nil, errors.New("signature s out of range")
	}
	if s.IsOverHalfOrder() {
		return nil, errors.New("signature s is not low (> N/2)")
	}
	if !btcecdsa.NewSignature(&r, &s).Verify(digest[:], pub) {
		return nil, errors.New("signature does not verify against the group public key")
	}
	sig := &protocol.Signature{}
	r.PutBytes(&sig.R)
	s.PutBytes(&sig.S)
	id, err := recoveryID(sig, digest, pub)
	if err != nil {
		return nil, err
	}
	sig.RecoveryID = id
	return sig, nil
}

// recoveryID returns the id in 0..3 with which (r, s) and digest recover pub.
func recoveryID(sig *protocol.Signature, digest [32]byte, pub *btcec.PublicKey) (byte, error) {
	var compact [65]byte
	copy(compact[1:33], sig.R[:])
	copy(compact[33:], sig.S[:])
	for id := byte(0); id < 4; id++ {
		compact[0] = 27 + 4 + id // 27: compact-signature magic; +4: compressed key
		got, _, err := btcecdsa.RecoverCompact(compact[:], digest[:])
		if err == nil && got.IsEqual(pub) {
			return id, nil
		}
	}
	return 0, errors.New("no recovery id recovers the group public key")
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
