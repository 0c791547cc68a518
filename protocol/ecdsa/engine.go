package ecdsa

import (
	"context"
	"errors"

	"github.com/bnb-chain/tss-lib/v3/common"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// Engine is threshold ECDSA as a protocol.Engine, on secp256k1 (Curve empty or
// CurveSecp256k1) or P-256 (CurveP256).
type Engine struct {
	Curve string
}

var _ protocol.Engine = Engine{}

func (e Engine) curve() *curve {
	if c, err := curveByName(e.Curve); err == nil {
		return c
	}
	return secp256k1Curve
}

// Scheme implements protocol.Engine.
func (e Engine) Scheme() protocol.Scheme { return e.curve().scheme }

// NeedsPreParams implements protocol.Engine: every keygen party needs its own Paillier key and
// safe primes, which take 8-45 s to make.
func (Engine) NeedsPreParams() bool { return true }

// GeneratePreParams implements protocol.Engine.
func (Engine) GeneratePreParams(ctx context.Context) ([]byte, error) { return GeneratePreParams(ctx) }

// Keygen implements protocol.Engine. It refuses p.Import (see refuseImport).
func (e Engine) Keygen(p protocol.KeygenParams) (protocol.Run, error) {
	if err := refuseImport(p); err != nil {
		return nil, err
	}
	return NewKeygen(KeygenConfig{Self: p.Self, Parties: p.Parties, Threshold: p.Threshold, SessionNonce: p.SessionNonce, PreParams: p.PreParams, Curve: e.curve().name})
}

// Sign implements protocol.Engine. The share says which curve it is on.
func (Engine) Sign(p protocol.SignParams) (protocol.Run, error) {
	if err := p.DigestOnly(protocol.SchemeECDSASecp256k1); err != nil {
		return nil, err
	}
	return NewSign(SignConfig{Self: p.Self, Signers: p.Signers, Share: p.Share, Digest: p.Digest, SessionNonce: p.SessionNonce, Derivation: p.Derivation})
}

// PublicKey implements protocol.Engine.
func (Engine) PublicKey(share []byte) ([]byte, error) { return PublicKeyFromShare(share) }

// EnableConstantTime switches tss-lib's big-number arithmetic on secrets to its constant-time
// code paths, for the whole process. tss-lib leaves them off by default; an enclave process,
// which holds shares, turns them on at start.
func EnableConstantTime() { common.EnableConstantTimeOps() }

// ErrImportUnsupported is returned by Keygen when asked to import an existing key.
var ErrImportUnsupported = errors.New("ecdsa: importing an existing key is not supported: tss-lib keygen only makes new keys (import is available for BLS keys only)")

// refuseImport refuses keygen parameters that ask for the import of an existing key, which
// tss-lib's keygen cannot do. It never looks at the secret.
func refuseImport(p protocol.KeygenParams) error {
	if p.Import != nil {
		return ErrImportUnsupported
	}
	return nil
}
