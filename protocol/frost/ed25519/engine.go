package ed25519

import (
	"context"
	"fmt"
	"slices"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// Engine is the threshold Ed25519 engine (protocol.SchemeEd25519). It holds no state.
type Engine struct{}

var _ protocol.Engine = Engine{}

// Scheme implements protocol.Engine.
func (Engine) Scheme() protocol.Scheme { return protocol.SchemeEd25519 }

// NeedsPreParams implements protocol.Engine: the DKG needs none.
func (Engine) NeedsPreParams() bool { return false }

// GeneratePreParams implements protocol.Engine; there is nothing to generate.
func (Engine) GeneratePreParams(context.Context) ([]byte, error) { return nil, nil }

// Keygen returns a run of the FROST DKG for p.Self. p.PreParams must be empty, and p.Import
// nil: importing an existing Ed25519 key is not supported.
func (Engine) Keygen(p protocol.KeygenParams) (protocol.Run, error) {
	return newKeygen(p)
}

// Sign returns a signing run for p.Self: p.Signers must be exactly the key's threshold of
// holders of the key, p.Self among them. The run signs p.Message (up to
// protocol.MaxMessageBytes) when it is set, else the 32 bytes of p.Digest, as the Ed25519 message.
func (Engine) Sign(p protocol.SignParams) (protocol.Run, error) {
	if len(p.Message) > protocol.MaxMessageBytes {
		return nil, fmt.Errorf("ed25519: a message of %d bytes (at most %d)", len(p.Message), protocol.MaxMessageBytes)
	}
	return newSign(p)
}

// PublicKey returns the 32-byte Ed25519 group public key recorded in a share.
func (Engine) PublicKey(share []byte) ([]byte, error) {
	k, err := decodeSigningKey(share)
	if err != nil {
		return nil, err
	}
	defer k.wipe()
	return slices.Clone(k.groupKey[:]), nil
}
