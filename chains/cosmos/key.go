package cosmos

import (
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ecdsa"

	"github.com/mpcsigner/mpcsigner/chains"
)

// compressedKeyLen is the length of a SEC1 compressed secp256k1 key, the form both the
// threshold engine and the SDK's secp256k1.PubKey use.
const compressedKeyLen = 33

// parseKey checks that pub is a compressed secp256k1 point on the curve.
func parseKey(pub []byte) (*btcec.PublicKey, error) {
	if len(pub) != compressedKeyLen || (pub[0] != 2 && pub[0] != 3) {
		return nil, chains.Invalid("cosmos: public key is %d bytes, want a %d-byte compressed secp256k1 key", len(pub), compressedKeyLen)
	}
	key, err := btcec.ParsePubKey(pub)
	if err != nil {
		return nil, chains.Invalid("cosmos: public key is not a secp256k1 point: %v", err)
	}
	return key, nil
}

// verify checks a signature the way the SDK does before it is returned: 64 bytes r||s, both
// in range, s in the lower half of the order (the SDK refuses the malleable high-s twin), and
// valid over digest under key. A failure means the signer misbehaved, not that the input was
// wrong, so the error wraps chains.ErrSignature, not chains.ErrInvalid.
func verify(key *btcec.PublicKey, digest [32]byte, sig []byte) error {
	if len(sig) != 64 {
		return fmt.Errorf("cosmos: signer returned a %d-byte signature, want 64-byte r||s: %w", len(sig), chains.ErrSignature)
	}
	var r, s btcec.ModNScalar
	if r.SetByteSlice(sig[:32]) || s.SetByteSlice(sig[32:]) || r.IsZero() || s.IsZero() {
		return fmt.Errorf("cosmos: signer returned a signature with r or s out of range: %w", chains.ErrSignature)
	}
	if s.IsOverHalfOrder() {
		return fmt.Errorf("cosmos: signer returned a high-s signature, which the chain refuses: %w", chains.ErrSignature)
	}
	if !ecdsa.NewSignature(&r, &s).Verify(digest[:], key) {
		return fmt.Errorf("cosmos: signer returned a signature that does not verify under the key: %w", chains.ErrSignature)
	}
	return nil
}
