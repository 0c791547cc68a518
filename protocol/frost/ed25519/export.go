package ed25519

import (
	"fmt"
	"slices"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// ExportedShare is one party's secret share of a key, in the form offline reconstruction
// (package backup, for a quorum-approved disaster recovery) needs it. Secret is secret: the
// caller wipes it (Wipe) once done, and nothing else may ever read it out of an enclave.
//
// The shared secret is the Ed25519 secret scalar s of the group key A = s·B, not an RFC 8032
// seed: FROST's key generation never made a seed, and no seed hashes to a given scalar, so a
// reconstructed key can sign (with the scalar and a fresh nonce) but cannot be written as a
// seed-based private key.
type ExportedShare struct {
	Self protocol.PartyID
	// X is the point at which Secret is the value of the key's sharing polynomial: the FROST
	// identifier of Self, its 1-based position in Parties, which equals the party number only
	// when the parties are 1..n.
	X           uint16
	Threshold   int
	Parties     []protocol.PartyID // ascending
	Secret      []byte             // x_self mod ℓ, 32 bytes big-endian (the share stores it little-endian)
	PublicKey   []byte             // the 32-byte RFC 8032 group key
	PublicShare []byte             // x_self·B, 32 bytes
}

// ExportSecretShare decodes and validates a serialized share and returns its secret with
// what is needed to interpolate it with other shares of the key. It exists for offline
// reconstruction only: signing never needs the secret outside the engine.
func ExportSecretShare(share []byte) (*ExportedShare, error) {
	k, err := decodeSigningKey(share)
	if err != nil {
		return nil, err
	}
	defer k.wipe()
	secret := k.secret.s.Bytes()
	slices.Reverse(secret)
	return &ExportedShare{
		Self:        k.self,
		X:           k.id(k.self),
		Threshold:   k.threshold,
		Parties:     slices.Clone(k.parties),
		Secret:      secret,
		PublicKey:   slices.Clone(k.groupKey[:]),
		PublicShare: k.publicShare(k.self).Bytes(),
	}, nil
}

// Wipe zeroizes the secret.
func (e *ExportedShare) Wipe() { clear(e.Secret) }

// String describes the share without its secret.
func (e ExportedShare) String() string {
	return fmt.Sprintf("ed25519.ExportedShare{%s (x = %d) of %v, threshold %d, public key %x, secret (%d bytes, redacted)}",
		e.Self, e.X, e.Parties, e.Threshold, e.PublicKey, len(e.Secret))
}

// GoString is String, so that %#v does not print the secret either.
func (e ExportedShare) GoString() string { return e.String() }
