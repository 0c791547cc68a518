package ecdsa

import (
	"errors"
	"fmt"
	"math/big"
	"slices"

	"github.com/bnb-chain/tss-lib/v3/ecdsa/keygen"
	"github.com/bnb-chain/tss-lib/v3/tss"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// KeygenConfig configures one party's side of a distributed key generation.
type KeygenConfig struct {
	// Self is this party; it must be one of Parties.
	Self protocol.PartyID
	// Parties are all n parties of the key (n >= 2), no duplicates, in any order.
	Parties []protocol.PartyID
	// Threshold is t, the number of parties needed to sign (2 <= t <= n). tss-lib's own
	// threshold is t-1.
	Threshold int
	// SessionNonce is 32 bytes, not all zero, identical at every party and fresh for every
	// keygen; it binds the run's proofs to this session.
	SessionNonce []byte
	// PreParams are this party's pre-params (GeneratePreParams). Secret.
	PreParams []byte
	// Curve is CurveSecp256k1 (the default when empty) or CurveP256.
	Curve string
}

// String describes the config without the pre-params.
func (c KeygenConfig) String() string {
	return fmt.Sprintf("ecdsa.KeygenConfig{Self: %s, Parties: %v, Threshold: %d, SessionNonce: %x, PreParams: (%d bytes, redacted)}",
		c.Self, c.Parties, c.Threshold, c.SessionNonce, len(c.PreParams))
}

// GoString is String, so that %#v does not print the pre-params either.
func (c KeygenConfig) GoString() string { return c.String() }

// NewKeygen returns a keygen run for cfg. On success its Done yields a Result whose Keygen
// holds the 33-byte compressed group public key and this party's serialized share (see
// DecodeShare).
func NewKeygen(cfg KeygenConfig) (protocol.Run, error) {
	if err := checkPartyList("parties", cfg.Parties); err != nil {
		return nil, fmt.Errorf("ecdsa: keygen config: %w", err)
	}
	n := len(cfg.Parties)
	if n < 2 {
		return nil, fmt.Errorf("ecdsa: keygen config: %d parties; at least 2 needed", n)
	}
	if cfg.Threshold < 2 || cfg.Threshold > n {
		return nil, fmt.Errorf("ecdsa: keygen config: threshold %d out of range [2, %d]", cfg.Threshold, n)
	}
	if !slices.Contains(cfg.Parties, cfg.Self) {
		return nil, fmt.Errorf("ecdsa: keygen config: self (%s) is not one of the parties", cfg.Self)
	}
	if err := checkSessionNonce(cfg.SessionNonce); err != nil {
		return nil, fmt.Errorf("ecdsa: keygen config: %w", err)
	}
	c, err := curveByName(cfg.Curve)
	if err != nil {
		return nil, fmt.Errorf("ecdsa: keygen config: %w", err)
	}
	pp, err := decodePreParams(cfg.PreParams)
	if err != nil {
		return nil, err
	}

	ps := newPartySet(cfg.Parties)
	params := tss.NewParameters(c.ec, tss.NewPeerContext(ps.tss), ps.byID[cfg.Self], n, cfg.Threshold-1)
	params.SetSessionNonce(new(big.Int).SetBytes(cfg.SessionNonce))

	r := newRun("keygen", cfg.Self, ps, keygenMessage)
	end := make(chan *keygen.LocalPartySaveData, 1)
	party, err := construct(func() tss.Party { return keygen.NewLocalParty(params, r.tssOut, end, *pp) })
	if err != nil {
		return nil, fmt.Errorf("ecdsa: keygen: %w", err)
	}
	r.party = party
	threshold, parties, self := cfg.Threshold, slices.Clone(ps.ids), cfg.Self
	r.takeEnd = func() (protocol.Result, bool) {
		select {
		case save := <-end:
			return keygenResult(c, save, threshold, parties, self), true
		default:
			return protocol.Result{}, false
		}
	}
	return r, nil
}

// keygenResult turns tss-lib's save data into the run's result, checking it on the way.
func keygenResult(c *curve, save *keygen.LocalPartySaveData, threshold int, parties []protocol.PartyID, self protocol.PartyID) protocol.Result {
	fail := func(err error) protocol.Result {
		return protocol.Result{Err: &protocol.Error{Task: "keygen", Cause: fmt.Errorf("key data produced is unusable: %w", err)}}
	}
	if save == nil {
		return fail(errors.New("no save data"))
	}
	s := &Share{curve: c, threshold: threshold, parties: parties, self: self, save: *save}
	if err := s.check(); err != nil {
		return fail(err)
	}
	b, err := s.encode()
	if err != nil {
		return fail(err)
	}
	// What we hand out must decode: check the round trip.
	if back, err := decodeShare(b); err != nil || !slices.Equal(back.publicKey, s.publicKey) {
		return fail(errors.New("share does not survive encoding"))
	}
	return protocol.Result{Keygen: &protocol.KeygenOutput{PublicKey: slices.Clone(s.publicKey), Share: b}}
}

// keygenMessage classifies keygen message contents.
func keygenMessage(c tss.MessageContent) (broadcast, known bool) {
	switch c.(type) {
	case *keygen.KGRound1Message, *keygen.KGRound2Message2, *keygen.KGRound3Message:
		return true, true
	case *keygen.KGRound2Message1:
		return false, true
	}
	return false, false
}

// construct calls a tss-lib constructor, turning a panic into an error.
func construct(f func() tss.Party) (p tss.Party, err error) {
	defer func() {
		if rec := recover(); rec != nil {
			p, err = nil, fmt.Errorf("tss-lib rejected the input: %v", rec)
		}
	}()
	return f(), nil
}
