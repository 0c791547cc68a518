package tron

import (
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ecdsa"

	"github.com/mpcsigner/mpcsigner/chains"
)

// compressedKeyLen is the length of a SEC1 compressed secp256k1 key, the threshold engine's form.
const compressedKeyLen = 33

// parseKey checks that pub is a compressed secp256k1 point on the curve.
func parseKey(pub []byte) (*btcec.PublicKey, error) {
	if len(pub) != compressedKeyLen || (pub[0] != 2 && pub[0] != 3) {
		return nil, chains.Invalid("tron: public key is %d bytes, want a %d-byte compressed secp256k1 key", len(pub), compressedKeyLen)
	}
	key, err := btcec.ParsePubKey(pub)
	if err != nil {
		return nil, chains.Invalid("tron: public key is not a secp256k1 point: %v", err)
	}
	return key, nil
}

// signatureBytes checks the signer's answer and returns r || s || v as TRON writes it. Nodes
// recover the signer's address from the signature, so beyond verifying it the recovery id
// must be 0 or 1 and recover this key. A failure means the signer misbehaved, not that the
// input was wrong, so the errors wrap chains.ErrSignature, not chains.ErrInvalid.
func signatureBytes(key *btcec.PublicKey, digest [32]byte, sig chains.Signature) ([]byte, error) {
	if len(sig.Sig) != 64 {
		return nil, fmt.Errorf("tron: signer returned a %d-byte signature, want 64-byte r||s: %w", len(sig.Sig), chains.ErrSignature)
	}
	if sig.RecoveryID != 0 && sig.RecoveryID != 1 {
		return nil, fmt.Errorf("tron: signer returned recovery id %d, want 0 or 1: %w", sig.RecoveryID, chains.ErrSignature)
	}
	var r, s btcec.ModNScalar
	if r.SetByteSlice(sig.Sig[:32]) || s.SetByteSlice(sig.Sig[32:]) || r.IsZero() || s.IsZero() {
		return nil, fmt.Errorf("tron: signer returned a signature with r or s out of range: %w", chains.ErrSignature)
	}
	if s.IsOverHalfOrder() {
		return nil, fmt.Errorf("tron: signer returned a high-s signature: %w", chains.ErrSignature)
	}
	if !ecdsa.NewSignature(&r, &s).Verify(digest[:], key) {
		return nil, fmt.Errorf("tron: signer returned a signature that does not verify under the key: %w", chains.ErrSignature)
	}
	compact := append([]byte{27 + 4 + byte(sig.RecoveryID)}, sig.Sig...) // btcec's form: compressed-key header, r, s
	got, _, err := ecdsa.RecoverCompact(compact, digest[:])
	if err != nil || !got.IsEqual(key) {
		return nil, fmt.Errorf("tron: signer's recovery id %d does not recover the key: %w", sig.RecoveryID, chains.ErrSignature)
	}
	return append(append([]byte(nil), sig.Sig...), byte(sig.RecoveryID)), nil
}
