// Package chainkey checks the public keys the chain packages are given and the signatures
// their Signer returns, in the forms the threshold engine produces them: a 33-byte compressed
// SEC1 secp256k1 key with 64-byte r||s ECDSA signatures (s in the lower half of the order, as
// every chain here requires), and a 32-byte Ed25519 key with 64-byte signatures.
//
// A malformed public key is an input error (chains.ErrInvalid); a signature that is malformed
// or does not verify means the signer misbehaved, so those errors wrap chains.ErrSignature.
// Every message starts with the caller's prefix (the chain's name).
//
// It only verifies: it must never hold a private key or sign, do I/O, or hold anything
// chain-specific (how a chain encodes a signature, or recovers a key from it, stays in the
// chain's package).
package chainkey

import (
	"crypto/ed25519"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ecdsa"

	"github.com/mpcsigner/mpcsigner/chains"
)

// Secp256k1KeySize is the length of a compressed SEC1 secp256k1 key.
const Secp256k1KeySize = 33

// signatureSize is the length of both an ECDSA r||s and an Ed25519 signature.
const signatureSize = 64

// ParseSecp256k1 checks that pub is a compressed secp256k1 point on the curve.
func ParseSecp256k1(prefix string, pub []byte) (*btcec.PublicKey, error) {
	if len(pub) != Secp256k1KeySize || (pub[0] != 2 && pub[0] != 3) {
		return nil, chains.Invalid("%s: public key is %d bytes, want a %d-byte compressed secp256k1 key", prefix, len(pub), Secp256k1KeySize)
	}
	key, err := btcec.ParsePubKey(pub)
	if err != nil {
		return nil, chains.Invalid("%s: public key is not a secp256k1 point: %v", prefix, err)
	}
	return key, nil
}

// VerifySecp256k1 checks the signer's r||s over digest under key and returns it parsed: 64
// bytes, r and s in range, s low (the chains refuse the malleable high-s twin), and valid.
func VerifySecp256k1(prefix string, key *btcec.PublicKey, digest [32]byte, sig []byte) (*ecdsa.Signature, error) {
	if len(sig) != signatureSize {
		return nil, signatureError(prefix, "a %d-byte signature, want 64-byte r||s", len(sig))
	}
	var r, s btcec.ModNScalar
	if r.SetByteSlice(sig[:32]) || s.SetByteSlice(sig[32:]) || r.IsZero() || s.IsZero() {
		return nil, signatureError(prefix, "a signature with r or s out of range")
	}
	if s.IsOverHalfOrder() {
		return nil, signatureError(prefix, "a high-s signature, which the chain refuses")
	}
	parsed := ecdsa.NewSignature(&r, &s)
	if !parsed.Verify(digest[:], key) {
		return nil, signatureError(prefix, "a signature that does not verify under the key")
	}
	return parsed, nil
}

// CheckEd25519 checks that pub has the length of an Ed25519 public key. Only the length: 32
// bytes that are not a curve point still make an address on the chains here, and no signature
// verifies under them.
func CheckEd25519(prefix string, pub []byte) error {
	if len(pub) != ed25519.PublicKeySize {
		return chains.Invalid("%s: public key is %d bytes, want %d", prefix, len(pub), ed25519.PublicKeySize)
	}
	return nil
}

// VerifyEd25519 checks the signer's Ed25519 signature of msg under pub.
func VerifyEd25519(prefix string, pub, msg, sig []byte) error {
	if err := CheckEd25519(prefix, pub); err != nil {
		return err
	}
	if len(sig) != ed25519.SignatureSize {
		return signatureError(prefix, "a %d-byte signature, want %d", len(sig), ed25519.SignatureSize)
	}
	if !ed25519.Verify(pub, msg, sig) {
		return signatureError(prefix, "a signature that does not verify under the key")
	}
	return nil
}

// signatureError is an error about what the signer returned, wrapping chains.ErrSignature.
func signatureError(prefix, format string, args ...any) error {
	return fmt.Errorf("%s: signer returned %s: %w", prefix, fmt.Sprintf(format, args...), chains.ErrSignature)
}
