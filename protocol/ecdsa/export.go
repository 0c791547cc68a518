package ecdsa

import (
	"fmt"
	"math"
	"slices"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// ExportedShare is one party's secret share of a key, in the form offline reconstruction
// (package backup, for a quorum-approved disaster recovery) needs it. Secret is secret: the
// caller wipes it (Wipe) once done, and nothing else may ever read it out of an enclave.
type ExportedShare struct {
	Scheme protocol.Scheme // SchemeECDSASecp256k1 or SchemeECDSAP256
	Self   protocol.PartyID
	// X is the point at which Secret is the value of the key's sharing polynomial: tss-lib's
	// ShareID, which this package sets to the party number (DecodeShare refuses any other).
	X           uint16
	Threshold   int
	Parties     []protocol.PartyID // ascending
	Secret      []byte             // tss-lib's Xi, 32 bytes big-endian
	PublicKey   []byte             // the 33-byte compressed SEC1 group key
	PublicShare []byte             // Xi·G, 33 bytes compressed SEC1
}

// ExportSecretShare decodes and validates a serialized share (as DecodeShare does) and
// returns its secret with what is needed to interpolate it with other shares of the key. It
// exists for offline reconstruction only: signing never needs the secret outside the engine.
func ExportSecretShare(share []byte) (*ExportedShare, error) {
	s, err := DecodeShare(share)
	if err != nil {
		return nil, err
	}
	xi := s.save.Xi
	defer clear(xi.Bits()) // the decoded share is dropped: leave no copy of the secret in it
	id := s.save.ShareID
	if !id.IsUint64() || id.Uint64() == 0 || id.Uint64() > math.MaxUint16 {
		return nil, fmt.Errorf("ecdsa: invalid share: share id out of range") // unreachable: check ties it to self
	}
	selfIdx := slices.Index(s.parties, s.self)
	publicShare, err := s.curve.compress(s.save.BigXj[selfIdx])
	if err != nil {
		return nil, fmt.Errorf("ecdsa: invalid share: own public share: %w", err)
	}
	secret := make([]byte, 32)
	xi.FillBytes(secret)
	return &ExportedShare{
		Scheme:      s.curve.scheme,
		Self:        s.self,
		X:           uint16(id.Uint64()),
		Threshold:   s.threshold,
		Parties:     slices.Clone(s.parties),
		Secret:      secret,
		PublicKey:   s.PublicKey(),
		PublicShare: publicShare,
	}, nil
}

// Wipe zeroizes the secret.
func (e *ExportedShare) Wipe() { clear(e.Secret) }

// String describes the share without its secret.
func (e ExportedShare) String() string {
	return fmt.Sprintf("ecdsa.ExportedShare{%s %s (x = %d) of %v, threshold %d, public key %x, secret (%d bytes, redacted)}",
		e.Scheme, e.Self, e.X, e.Parties, e.Threshold, e.PublicKey, len(e.Secret))
}

// GoString is String, so that %#v does not print the secret either.
func (e ExportedShare) GoString() string { return e.String() }
