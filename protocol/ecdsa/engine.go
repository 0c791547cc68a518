package ecdsa

import (
	"github.com/bnb-chain/tss-lib/v3/common"

	"context"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// Engine is threshold ECDSA on secp256k1 as a protocol.Engine.
type Engine struct{}

var _ protocol.Engine = Engine{}

// Scheme implements protocol.Engine.
func (Engine) Scheme() protocol.Scheme { return protocol.SchemeECDSASecp256k1 }

// NeedsPreParams implements protocol.Engine: every keygen party needs its own Paillier key and
// safe primes, which take 8-45 s to make.
func (Engine) NeedsPreParams() bool { return true }

// GeneratePreParams implements protocol.Engine.
func (Engine) GeneratePreParams(ctx context.Context) ([]byte, error) { return GeneratePreParams(ctx) }

// Keygen implements protocol.Engine.
func (Engine) Keygen(p protocol.KeygenParams) (protocol.Run, error) {
	return NewKeygen(KeygenConfig{Self: p.Self, Parties: p.Parties, Threshold: p.Threshold, SessionNonce: p.SessionNonce, PreParams: p.PreParams})
}

// Sign implements protocol.Engine.
func (Engine) Sign(p protocol.SignParams) (protocol.Run, error) {
	return NewSign(SignConfig{Self: p.Self, Signers: p.Signers, Share: p.Share, Digest: p.Digest, SessionNonce: p.SessionNonce})
}

// PublicKey implements protocol.Engine.
func (Engine) PublicKey(share []byte) ([]byte, error) { return PublicKeyFromShare(share) }

// EnableConstantTime switches tss-lib's big-number arithmetic on secrets to its constant-time
// code paths, for the whole process. tss-lib leaves them off by default; an enclave process,
// which holds shares, turns them on at start.
func EnableConstantTime() { common.EnableConstantTimeOps() }
