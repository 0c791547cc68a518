package bls

import (
	"context"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// Engine is the threshold-BLS engine (protocol.SchemeBLS12381). It holds no state.
type Engine struct{}

var _ protocol.Engine = Engine{}

// Scheme implements protocol.Engine.
func (Engine) Scheme() protocol.Scheme { return protocol.SchemeBLS12381 }

// NeedsPreParams implements protocol.Engine: BLS keygen needs none.
func (Engine) NeedsPreParams() bool { return false }

// GeneratePreParams implements protocol.Engine; there is nothing to generate.
func (Engine) GeneratePreParams(context.Context) ([]byte, error) { return nil, nil }

// Keygen returns a run of the Joint-Feldman DKG for p.Self. p.PreParams must be empty.
func (Engine) Keygen(p protocol.KeygenParams) (protocol.Run, error) {
	return newKeygen(p, defaultRand)
}

// Sign returns a signing run for p.Self: p.Signers must be exactly the key's threshold of
// holders of the key, p.Self among them.
func (Engine) Sign(p protocol.SignParams) (protocol.Run, error) {
	if err := p.DigestOnly(protocol.SchemeBLS12381); err != nil {
		return nil, err
	}
	return newSign(p)
}

// PublicKey returns the 48-byte compressed group public key recorded in a share.
func (Engine) PublicKey(share []byte) ([]byte, error) {
	s, err := decodeShare(share)
	if err != nil {
		return nil, err
	}
	defer s.wipe()
	return s.publicKey.Compress(), nil
}
