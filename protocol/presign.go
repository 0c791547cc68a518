package protocol

import "fmt"

// Presigner is an Engine that can run the message-independent part of a signing ahead of time:
// ECDSA's rounds up to the one that would reveal the nonce point, FROST's nonce commitments.
// Presign returns a Run whose Done yields a Result with a Presignature; the caller parks it in
// memory until exactly one request is bound to it.
type Presigner interface {
	Presign(PresignParams) (Run, error)
}

// PresignParams configures one signer's side of a presign run: a SignParams without what is
// signed. Everything here is fixed for the presignature's life: its signers, the key after
// derivation, and the session nonce that binds its proofs.
type PresignParams struct {
	Self         PartyID
	Signers      []PartyID // exactly Threshold parties
	Share        []byte
	SessionNonce []byte // 32 bytes, identical at every signer, unique per presignature
	Derivation   *Derivation
}

// String describes the parameters without the share.
func (p PresignParams) String() string {
	return fmt.Sprintf("protocol.PresignParams{Self: %s, Signers: %v, Share: (%d bytes, redacted), SessionNonce: %x, Derivation: %v}",
		p.Self, p.Signers, len(p.Share), p.SessionNonce, p.Derivation)
}

// GoString is String, so that %#v does not print the share either.
func (p PresignParams) GoString() string { return p.String() }

// SignInput is what a request binds to a presignature: a digest, or for engines that hash the
// message themselves (Ed25519) a whole message, as in SignParams.
type SignInput struct {
	Digest  [32]byte
	Message []byte
}

// SignedBytes is what an Ed25519 signing signs: Message when set, else the 32 bytes of Digest.
func (in SignInput) SignedBytes() []byte {
	return SignParams{Digest: in.Digest, Message: in.Message}.SignedBytes()
}

// Presignature is one signer's parked half of a signing. It is consumed by the first call to
// Sign or Discard: a second call of either fails or does nothing, so no presignature can sign
// twice. It holds secrets; it must never be serialized or leave the enclave that made it.
type Presignature interface {
	// Sign binds in to the presignature and returns the run of the remaining (online) rounds,
	// which the caller starts like any other Run and which ends with a Signature. Every signer
	// of the presignature must be given the same input, or the run fails.
	Sign(in SignInput) (Run, error)
	// Discard erases the presignature's secrets without signing.
	Discard()
}
