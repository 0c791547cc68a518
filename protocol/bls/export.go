package bls

import (
	"fmt"
	"slices"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// ExportedShare is one party's secret share of a key, in the form offline reconstruction
// (package backup, for a quorum-approved disaster recovery) needs it. Secret is secret: the
// caller wipes it (Wipe) once done, and nothing else may ever read it out of an enclave.
type ExportedShare struct {
	Self protocol.PartyID
	// X is the point at which Secret is the value of the key's sharing polynomial: the party
	// number (indexScalar).
	X           uint16
	Threshold   int
	Parties     []protocol.PartyID // ascending
	Secret      []byte             // x_self in Fr, 32 bytes big-endian
	PublicKey   []byte             // the 48-byte compressed G1 group key
	PublicShare []byte             // x_self·G1, 48 bytes compressed
}

// ExportSecretShare decodes and validates a serialized share and returns its secret with
// what is needed to interpolate it with other shares of the key. It exists for offline
// reconstruction only: signing never needs the secret outside the engine.
func ExportSecretShare(share []byte) (*ExportedShare, error) {
	s, err := decodeShare(share)
	if err != nil {
		return nil, err
	}
	defer s.wipe()
	return &ExportedShare{
		Self:        s.self,
		X:           uint16(s.self),
		Threshold:   s.threshold,
		Parties:     slices.Clone(s.parties),
		Secret:      s.secret.Serialize(),
		PublicKey:   s.publicKey.Compress(),
		PublicShare: s.publicShare(s.self).Compress(),
	}, nil
}

// Wipe zeroizes the secret.
func (e *ExportedShare) Wipe() { clear(e.Secret) }

// String describes the share without its secret.
func (e ExportedShare) String() string {
	return fmt.Sprintf("bls.ExportedShare{%s (x = %d) of %v, threshold %d, public key %x, secret (%d bytes, redacted)}",
		e.Self, e.X, e.Parties, e.Threshold, e.PublicKey, len(e.Secret))
}

// GoString is String, so that %#v does not print the secret either.
func (e ExportedShare) GoString() string { return e.String() }
