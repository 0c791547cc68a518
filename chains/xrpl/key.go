package xrpl

import (
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ecdsa"

	"github.com/mpcsigner/mpcsigner/chains"
)

// compressedKeyLen is the length of a SEC1 compressed secp256k1 key, the form of both the
// threshold engine's keys and SigningPubKey.
const compressedKeyLen = 33

// parseKey checks that pub is a compressed secp256k1 point on the curve.
func parseKey(pub []byte) (*btcec.PublicKey, error) {
	if len(pub) != compressedKeyLen || (pub[0] != 2 && pub[0] != 3) {
		return nil, chains.Invalid("xrpl: public key is %d bytes, want a %d-byte compressed secp256k1 key", len(pub), compressedKeyLen)
	}
	key, err := btcec.ParsePubKey(pub)
	if err != nil {
		return nil, chains.Invalid("xrpl: public key is not a secp256k1 point: %v", err)
	}
	return key, nil
}

// derSignature checks the signer's r||s over digest under key and returns it in DER, the form
// TxnSignature holds. s must be low: the ledger accepts only fully canonical secp256k1
// signatures. A failure means the signer misbehaved, not that the input was wrong, so the
// errors wrap chains.ErrSignature, not chains.ErrInvalid.
func derSignature(key *btcec.PublicKey, digest [32]byte, sig []byte) ([]byte, error) {
	if len(sig) != 64 {
		return nil, fmt.Errorf("xrpl: signer returned a %d-byte signature, want 64-byte r||s: %w", len(sig), chains.ErrSignature)
	}
	var r, s btcec.ModNScalar
	if r.SetByteSlice(sig[:32]) || s.SetByteSlice(sig[32:]) || r.IsZero() || s.IsZero() {
		return nil, fmt.Errorf("xrpl: signer returned a signature with r or s out of range: %w", chains.ErrSignature)
	}
	if s.IsOverHalfOrder() {
		return nil, fmt.Errorf("xrpl: signer returned a high-s signature, which the ledger refuses: %w", chains.ErrSignature)
	}
	parsed := ecdsa.NewSignature(&r, &s)
	if !parsed.Verify(digest[:], key) {
		return nil, fmt.Errorf("xrpl: signer returned a signature that does not verify under the key: %w", chains.ErrSignature)
	}
	return parsed.Serialize(), nil
}
