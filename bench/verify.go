package bench

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"errors"
	"fmt"
	"math/big"

	"github.com/btcsuite/btcd/btcec/v2"
	btcecdsa "github.com/btcsuite/btcd/btcec/v2/ecdsa"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
)

// Schemes this package can verify.
const (
	SchemeSecp256k1 = "ecdsa-secp256k1"
	SchemeP256      = "ecdsa-p256"
	SchemeEd25519   = "ed25519"
	SchemeBIP340    = "bip340"
	SchemeBLS       = "bls12-381"
)

// Schemes lists every scheme in a fixed order.
var Schemes = []string{SchemeSecp256k1, SchemeP256, SchemeEd25519, SchemeBIP340, SchemeBLS}

// blsDST is the ciphersuite of Ethereum's BLS signatures (proof-of-possession scheme).
var blsDST = []byte("BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_")

// errBadSignature is what Verify returns for a well-formed signature that does not verify.
var errBadSignature = errors.New("signature does not verify")

// Verify checks a signature with an implementation independent of the cluster: btcec for
// secp256k1 and BIP340, crypto/ecdsa for P-256, crypto/ed25519, and gnark-crypto for BLS (the
// enclaves and hosts use blst). Encodings: ECDSA public keys are SEC1 (33 bytes compressed or
// 65 uncompressed) and signatures r||s (64 bytes); Ed25519 keys 32 bytes; BIP340 keys 32-byte
// x-only; BLS keys 48-byte compressed G1 and signatures 96-byte compressed G2. It never panics.
func Verify(s Signed) error {
	switch s.Scheme {
	case SchemeSecp256k1:
		return verifySecp256k1(s)
	case SchemeP256:
		return verifyP256(s)
	case SchemeEd25519:
		return verifyEd25519(s)
	case SchemeBIP340:
		return verifyBIP340(s)
	case SchemeBLS:
		return verifyBLS(s)
	}
	return fmt.Errorf("no verifier for scheme %q", s.Scheme)
}

func verifySecp256k1(s Signed) error {
	pub, err := btcec.ParsePubKey(s.PublicKey)
	if err != nil {
		return fmt.Errorf("secp256k1 public key: %w", err)
	}
	if len(s.Message) != 32 || len(s.Signature) != 64 {
		return fmt.Errorf("secp256k1: want a 32-byte digest and a 64-byte r||s, got %d and %d bytes", len(s.Message), len(s.Signature))
	}
	var r, sc btcec.ModNScalar
	if r.SetByteSlice(s.Signature[:32]) || sc.SetByteSlice(s.Signature[32:]) || r.IsZero() || sc.IsZero() {
		return fmt.Errorf("secp256k1: r or s is zero or not below the group order")
	}
	if !btcecdsa.NewSignature(&r, &sc).Verify(s.Message, pub) {
		return errBadSignature
	}
	if s.RecoveryID == nil {
		return nil
	}
	return checkRecovery(s, pub)
}

// checkRecovery recovers the public key from r||s and the recovery id, as an Ethereum client
// would, and requires it to be the key.
func checkRecovery(s Signed, pub *btcec.PublicKey) error {
	v := *s.RecoveryID
	if v < 0 || v > 3 {
		return fmt.Errorf("recovery id %d is not 0-3", v)
	}
	compact := append([]byte{byte(27 + v)}, s.Signature...)
	got, _, err := btcecdsa.RecoverCompact(compact, s.Message)
	if err != nil || !got.IsEqual(pub) {
		return fmt.Errorf("recovery id %d does not recover the key: %w", v, errBadSignature)
	}
	return nil
}

func verifyP256(s Signed) error {
	curve := elliptic.P256()
	var x, y *big.Int
	switch len(s.PublicKey) {
	case 33:
		x, y = elliptic.UnmarshalCompressed(curve, s.PublicKey)
	case 65:
		pub, err := ecdsa.ParseUncompressedPublicKey(curve, s.PublicKey)
		if err != nil {
			return fmt.Errorf("P-256 public key: %w", err)
		}
		x, y = pub.X, pub.Y
	}
	if x == nil {
		return fmt.Errorf("P-256 public key: not a 33- or 65-byte SEC1 point on the curve")
	}
	if len(s.Message) != 32 || len(s.Signature) != 64 {
		return fmt.Errorf("P-256: want a 32-byte digest and a 64-byte r||s, got %d and %d bytes", len(s.Message), len(s.Signature))
	}
	r, sc := new(big.Int).SetBytes(s.Signature[:32]), new(big.Int).SetBytes(s.Signature[32:])
	if !ecdsa.Verify(&ecdsa.PublicKey{Curve: curve, X: x, Y: y}, s.Message, r, sc) {
		return errBadSignature
	}
	return nil
}

func verifyEd25519(s Signed) error {
	if len(s.PublicKey) != ed25519.PublicKeySize || len(s.Signature) != ed25519.SignatureSize {
		return fmt.Errorf("ed25519: want a 32-byte key and a 64-byte signature, got %d and %d bytes", len(s.PublicKey), len(s.Signature))
	}
	if !ed25519.Verify(s.PublicKey, s.Message, s.Signature) {
		return errBadSignature
	}
	return nil
}

func verifyBIP340(s Signed) error {
	pub, err := schnorr.ParsePubKey(s.PublicKey)
	if err != nil {
		return fmt.Errorf("BIP340 public key: %w", err)
	}
	sig, err := schnorr.ParseSignature(s.Signature)
	if err != nil {
		return fmt.Errorf("BIP340 signature: %w", err)
	}
	if len(s.Message) != 32 {
		return fmt.Errorf("BIP340: want a 32-byte digest, got %d bytes", len(s.Message))
	}
	if !sig.Verify(s.Message, pub) {
		return errBadSignature
	}
	return nil
}

// verifyBLS checks e(pk, H(m)) == e(g1, sig) as one pairing product. SetBytes checks that both
// points are on the curve and in the prime-order subgroup.
func verifyBLS(s Signed) error {
	if len(s.PublicKey) != bls.SizeOfG1AffineCompressed || len(s.Signature) != bls.SizeOfG2AffineCompressed {
		return fmt.Errorf("BLS: want a 48-byte key and a 96-byte signature, got %d and %d bytes", len(s.PublicKey), len(s.Signature))
	}
	var pk bls.G1Affine
	if _, err := pk.SetBytes(s.PublicKey); err != nil {
		return fmt.Errorf("BLS public key: %w", err)
	}
	if pk.IsInfinity() {
		return fmt.Errorf("BLS public key is the point at infinity")
	}
	var sig bls.G2Affine
	if _, err := sig.SetBytes(s.Signature); err != nil {
		return fmt.Errorf("BLS signature: %w", err)
	}
	h, err := bls.HashToG2(s.Message, blsDST)
	if err != nil {
		return err
	}
	_, _, g1, _ := bls.Generators()
	var negG1 bls.G1Affine
	negG1.Neg(&g1)
	ok, err := bls.PairingCheck([]bls.G1Affine{pk, negG1}, []bls.G2Affine{h, sig})
	if err != nil {
		return err
	}
	if !ok {
		return errBadSignature
	}
	return nil
}
