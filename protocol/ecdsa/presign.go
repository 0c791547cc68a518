package ecdsa

import (
	"errors"
	"fmt"
	"math/big"
	"sync"

	"github.com/bnb-chain/tss-lib/v3/common"
	"github.com/bnb-chain/tss-lib/v3/ecdsa/signing"
	"github.com/bnb-chain/tss-lib/v3/tss"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// Presignatures. tss-lib v3 first reads the message in round 5, through the pointer it was
// built with, so a signing party can run rounds 1-4 ahead of time with a placeholder message
// and be resumed later with the real one. The nonce point R can be computed by anyone holding
// every signer's round-4 message (the decommitments of Γ_i), so each signer holds its own
// round-4 message back (withhold) until a request is bound to the presignature: before that,
// R stays behind commitments. Sign consumes the presignature; the caller keeps it in memory
// only, so a restart destroys it.

var _ protocol.Presigner = Engine{}

// Presign implements protocol.Presigner.
func (Engine) Presign(p protocol.PresignParams) (protocol.Run, error) {
	return NewPresign(PresignConfig{Self: p.Self, Signers: p.Signers, Share: p.Share, SessionNonce: p.SessionNonce, Derivation: p.Derivation})
}

// PresignConfig configures one party's side of a presigning: a SignConfig without the digest.
type PresignConfig struct {
	Self         protocol.PartyID
	Signers      []protocol.PartyID
	Share        []byte
	SessionNonce []byte
	Derivation   *protocol.Derivation
}

// String describes the config without the share.
func (c PresignConfig) String() string {
	return fmt.Sprintf("ecdsa.PresignConfig{Self: %s, Signers: %v, Share: (%d bytes, redacted), SessionNonce: %x, Derivation: %v}",
		c.Self, c.Signers, len(c.Share), c.SessionNonce, c.Derivation)
}

// GoString is String, so that %#v does not print the share either.
func (c PresignConfig) GoString() string { return c.String() }

// ErrPresignatureUsed is returned by a presignature's Sign once it was used or discarded.
var ErrPresignatureUsed = errors.New("ecdsa: presignature already used or discarded")

// NewPresign returns a run of signing rounds 1-4 for cfg. Its Done yields a Result whose
// Presignature resumes the signing with a digest.
func NewPresign(cfg PresignConfig) (protocol.Run, error) {
	su, err := newSignSetup(cfg.Self, cfg.Signers, cfg.Share, cfg.SessionNonce, cfg.Derivation)
	if err != nil {
		return nil, err
	}
	// The placeholder: round 1 checks it is below N, and nothing before round 5 reads it.
	m := big.NewInt(1)
	r := newRun("presign", cfg.Self, su.ps, presignMessage)
	end := make(chan *common.SignatureData, 1)
	party, err := su.construct(m, r.tssOut, end)
	if err != nil {
		return nil, err
	}
	r.party = party
	r.takeEnd = func() (protocol.Result, bool) { return protocol.Result{}, false }
	r.withhold = isRound4
	r.parked = func(held tss.Message) protocol.Result {
		return protocol.Result{Presignature: &presignature{su: su, m: m, party: r.party, held: held, tssOut: r.tssOut, end: end, previous: r.pumpGone}}
	}
	return r, nil
}

func isRound4(m tss.Message) bool {
	pm, ok := m.(tss.ParsedMessage)
	if !ok {
		return false
	}
	_, ok = pm.Content().(*signing.SignRound4Message)
	return ok
}

// presignMessage classifies the messages of rounds 1-3; a round-4 message during a presign is
// a peer releasing what it must hold back, and fails the run.
func presignMessage(c tss.MessageContent) (broadcast, known bool) {
	switch c.(type) {
	case *signing.SignRound1Message1, *signing.SignRound2Message:
		return false, true
	case *signing.SignRound1Message2, *signing.SignRound3Message:
		return true, true
	}
	return false, false
}

// onlineMessage classifies the messages of rounds 4-9.
func onlineMessage(c tss.MessageContent) (broadcast, known bool) {
	switch c.(type) {
	case *signing.SignRound4Message, *signing.SignRound5Message, *signing.SignRound6Message,
		*signing.SignRound7Message, *signing.SignRound8Message, *signing.SignRound9Message:
		return true, true
	}
	return false, false
}

// presignature is a tss-lib signing party parked after its round 4, with its round-4 message.
type presignature struct {
	su       *signSetup
	m        *big.Int // the pointer the party reads the message through
	tssOut   chan tss.Message
	end      chan *common.SignatureData
	previous chan struct{} // closed once the presign run's pump has stopped reading tssOut

	mu    sync.Mutex
	party tss.Party   // nil once used or discarded
	held  tss.Message // this party's round-4 message, never sent before Sign
}

var _ protocol.Presignature = (*presignature)(nil)

// take hands out the party and its held message once.
func (p *presignature) take() (tss.Party, tss.Message, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	party, held := p.party, p.held
	p.party, p.held = nil, nil
	return party, held, party != nil
}

// Sign implements protocol.Presignature: it consumes the presignature whether or not it
// succeeds, and returns the run of rounds 4-9, whose Start releases the held round-4 message.
func (p *presignature) Sign(in protocol.SignInput) (protocol.Run, error) {
	party, held, ok := p.take()
	if !ok {
		return nil, ErrPresignatureUsed
	}
	if in.Message != nil {
		return nil, errors.New("ecdsa: sign: ECDSA signs a 32-byte digest, not a message: hash the message first")
	}
	m, err := p.su.message(in.Digest)
	if err != nil {
		return nil, fmt.Errorf("ecdsa: sign: %w", err)
	}
	r := newRun("sign", p.su.self, p.su.ps, onlineMessage)
	r.tssOut = p.tssOut
	r.party = party
	r.takeEnd = p.su.takeSignature(p.end, in.Digest)
	r.begin = func() *tss.Error {
		<-p.previous // the presign run's pump no longer reads tssOut; this run's does
		p.m.Set(m)   // before any peer's round-4 message can start round 5 (gate is held)
		r.tssOut <- held
		return nil
	}
	return r, nil
}

// Discard implements protocol.Presignature. tss-lib's party holds the secrets; dropping the
// last reference to it is all that can be done from outside.
func (p *presignature) Discard() { p.take() }
