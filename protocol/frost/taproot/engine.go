package taproot

import (
	"context"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// Engine is the threshold BIP340 engine (protocol.SchemeBIP340). It holds no state.
type Engine struct{}

var _ protocol.Engine = Engine{}

// Scheme implements protocol.Engine.
func (Engine) Scheme() protocol.Scheme { return protocol.SchemeBIP340 }

// NeedsPreParams implements protocol.Engine: FROST keygen needs none.
func (Engine) NeedsPreParams() bool { return false }

// GeneratePreParams implements protocol.Engine; there is nothing to generate.
func (Engine) GeneratePreParams(context.Context) ([]byte, error) { return nil, nil }

// Keygen returns a run of the distributed key generation for p.Self. p.PreParams must be
// empty; p.Import is refused (this engine does not import keys).
func (Engine) Keygen(p protocol.KeygenParams) (protocol.Run, error) {
	return newKeygen(p)
}

// Sign returns a signing run for p.Self over p.Digest (for a key-path spend, the BIP341
// signature hash): p.Signers must be exactly the key's threshold of holders of the key,
// p.Self among them.
func (Engine) Sign(p protocol.SignParams) (protocol.Run, error) {
	if err := p.DigestOnly(protocol.SchemeBIP340); err != nil {
		return nil, err
	}
	return newSign(p)
}

// PublicKey returns the 32-byte x-only BIP86 output key recorded in a share: the key
// signatures verify under and a P2TR output commits to (scriptPubKey 0x5120 || key).
func (Engine) PublicKey(share []byte) ([]byte, error) {
	s, err := decodeShare(share)
	if err != nil {
		return nil, err
	}
	defer s.wipe()
	return s.outputKeyBytes(), nil
}
