package bitcoin

import (
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ecdsa"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"

	"github.com/mpcsigner/mpcsigner/chains"
)

// ErrSignature is wrapped when a Signer returns a signature that is malformed or does not
// verify under its key for the digest it was asked to sign. It is not an input error: it
// means the signing backend misbehaved, and nothing was written.
var ErrSignature = errors.New("signature check failed")

// ecdsaDER checks an ECDSA signature (r || s, s in the lower half of the order) against the
// digest and key, and returns it DER-encoded as Bitcoin scripts carry it (without the
// sighash byte).
func ecdsaDER(sig chains.Signature, digest [32]byte, pub *btcec.PublicKey) ([]byte, error) {
	if len(sig.Sig) != 64 {
		return nil, fmt.Errorf("%w: ECDSA signature is %d bytes, want 64 (r || s)", ErrSignature, len(sig.Sig))
	}
	var r, s btcec.ModNScalar
	if overflow := r.SetByteSlice(sig.Sig[:32]); overflow || r.IsZero() {
		return nil, fmt.Errorf("%w: ECDSA r is zero or not below the group order", ErrSignature)
	}
	if overflow := s.SetByteSlice(sig.Sig[32:]); overflow || s.IsZero() {
		return nil, fmt.Errorf("%w: ECDSA s is zero or not below the group order", ErrSignature)
	}
	// Standardness (BIP146 LOW_S) requires the lower s; the Signer contract promises it, so
	// a higher one means the backend is not what it claims.
	if s.IsOverHalfOrder() {
		return nil, fmt.Errorf("%w: ECDSA s is in the upper half of the group order", ErrSignature)
	}
	es := ecdsa.NewSignature(&r, &s)
	if !es.Verify(digest[:], pub) {
		return nil, fmt.Errorf("%w: ECDSA signature does not verify under key %x", ErrSignature, pub.SerializeCompressed())
	}
	return es.Serialize(), nil
}

// schnorrSig checks a BIP340 signature against the digest and the x-only output key.
func schnorrSig(sig chains.Signature, digest [32]byte, outputKey *btcec.PublicKey) ([]byte, error) {
	if len(sig.Sig) != schnorr.SignatureSize {
		return nil, fmt.Errorf("%w: BIP340 signature is %d bytes, want %d", ErrSignature, len(sig.Sig), schnorr.SignatureSize)
	}
	s, err := schnorr.ParseSignature(sig.Sig)
	if err != nil {
		return nil, fmt.Errorf("%w: BIP340 signature: %v", ErrSignature, err)
	}
	if !s.Verify(digest[:], outputKey) {
		return nil, fmt.Errorf("%w: BIP340 signature does not verify under output key %x", ErrSignature, schnorr.SerializePubKey(outputKey))
	}
	return append([]byte(nil), sig.Sig...), nil
}
