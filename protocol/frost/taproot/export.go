package taproot

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// ExportedShare is one party's secret share of a key, in the form offline reconstruction
// (package backup, for a quorum-approved disaster recovery) needs it. Secret is secret: the
// caller wipes it (Wipe) once done, and nothing else may ever read it out of an enclave.
//
// The shared secret is d, the secret key of the internal key P = d·G (with its even y), not
// of the output key: the output key Q = P + int(hash_TapTweak(x(P)))·G has the secret
// d + int(hash_TapTweak(x(P))) mod n, negated when Q has an odd y (BIP341's taproot_tweak_seckey
// with no script tree).
type ExportedShare struct {
	Self protocol.PartyID
	// X is the point at which Secret is the value of the key's sharing polynomial: the party
	// number.
	X           uint16
	Threshold   int
	Parties     []protocol.PartyID // ascending
	Secret      []byte             // x_self, a share of d, 32 bytes big-endian
	PublicKey   []byte             // the 32-byte x-only BIP86 output key Q (Engine.PublicKey)
	InternalKey []byte             // the 32-byte x-only internal key P
	PublicShare []byte             // x_self·G, 33 bytes compressed SEC1
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
	secret := s.secret.Bytes()
	defer clear(secret[:])
	return &ExportedShare{
		Self:        s.self,
		X:           uint16(s.self),
		Threshold:   s.threshold,
		Parties:     slices.Clone(s.parties),
		Secret:      bytes.Clone(secret[:]),
		PublicKey:   s.outputKeyBytes(),
		InternalKey: bytes.Clone(s.internalKey),
		PublicShare: encodePoint(s.publicShare(s.self)),
	}, nil
}

// Wipe zeroizes the secret.
func (e *ExportedShare) Wipe() { clear(e.Secret) }

// String describes the share without its secret.
func (e ExportedShare) String() string {
	return fmt.Sprintf("taproot.ExportedShare{%s (x = %d) of %v, threshold %d, output key %x, internal key %x, secret (%d bytes, redacted)}",
		e.Self, e.X, e.Parties, e.Threshold, e.PublicKey, e.InternalKey, len(e.Secret))
}

// GoString is String, so that %#v does not print the secret either.
func (e ExportedShare) GoString() string { return e.String() }
