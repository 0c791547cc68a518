// Package chaintest gives chain packages' unit tests a Signer backed by one ordinary local key,
// so that each chain's encoding can be tested quickly without a cluster, and the checks and
// input writers those tests share: the refusal checks every chain must pass (SignRefused,
// SignTampered, AddressRefusals, WantInvalid), MustHex for vectors, and writers of the binary
// formats the chains decode (BCS, PBBytes, PBVarint, Cat). The threshold path is tested end
// to end elsewhere (cmd/mpcsigner, interop/chains).
//
// It is for tests only: it holds whole private keys, which the product never does. Nothing
// outside _test.go files may import it.
package chaintest

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ecdsa"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/btcsuite/btcd/txscript"

	"github.com/mpcsigner/mpcsigner/chains"
	"github.com/mpcsigner/mpcsigner/protocol"
)

// Signer is a chains.Signer over one local key. Calls counts the signatures it made.
type Signer struct {
	scheme   protocol.Scheme
	ed       ed25519.PrivateKey
	k1       *btcec.PrivateKey // ECDSA key, or the BIP340 output (tweaked) key
	internal *btcec.PrivateKey // BIP340 only: the untweaked internal key
	Calls    int
	// Tamper, when set, flips a bit of every signature it returns, so that tests can check
	// that a chain refuses a wrong signature instead of returning it.
	Tamper bool
}

// seedFor derives a deterministic 32-byte key seed from a name, so tests are reproducible.
func seedFor(name string) []byte {
	s := sha256.Sum256([]byte("mpcsigner chaintest " + name))
	return s[:]
}

// Ed25519 returns an Ed25519 signer whose key is derived from name.
func Ed25519(name string) *Signer {
	return &Signer{scheme: protocol.SchemeEd25519, ed: ed25519.NewKeyFromSeed(seedFor(name))}
}

// Secp256k1 returns an ECDSA secp256k1 signer whose key is derived from name.
func Secp256k1(name string) *Signer {
	k, _ := btcec.PrivKeyFromBytes(seedFor(name))
	return &Signer{scheme: protocol.SchemeECDSASecp256k1, k1: k}
}

// BIP340 returns a BIP340 signer whose internal key is derived from name; it signs with the
// BIP86-tweaked output key, as the threshold engine does.
func BIP340(name string) *Signer {
	internal, _ := btcec.PrivKeyFromBytes(seedFor(name))
	return &Signer{scheme: protocol.SchemeBIP340, internal: internal, k1: txscript.TweakTaprootPrivKey(*internal, nil)}
}

// Ed25519Key returns the signer's Ed25519 private key, for tests that need to compare with a
// chain library's own signing.
func (s *Signer) Ed25519Key() ed25519.PrivateKey { return s.ed }

// Secp256k1Key returns the signer's secp256k1 private key (the output key for BIP340).
func (s *Signer) Secp256k1Key() *btcec.PrivateKey { return s.k1 }

// InternalKey returns a BIP340 signer's 32-byte x-only internal key.
func (s *Signer) InternalKey() []byte { return schnorr.SerializePubKey(s.internal.PubKey()) }

func (s *Signer) Scheme() protocol.Scheme { return s.scheme }

func (s *Signer) PublicKey() []byte {
	switch s.scheme {
	case protocol.SchemeEd25519:
		return append([]byte(nil), s.ed.Public().(ed25519.PublicKey)...)
	case protocol.SchemeBIP340:
		return schnorr.SerializePubKey(s.k1.PubKey())
	default:
		return s.k1.PubKey().SerializeCompressed()
	}
}

func (s *Signer) SignDigest(ctx context.Context, digest [32]byte) (chains.Signature, error) {
	switch s.scheme {
	case protocol.SchemeEd25519:
		return s.SignMessage(ctx, digest[:])
	case protocol.SchemeBIP340:
		sig, err := schnorr.Sign(s.k1, digest[:])
		if err != nil {
			return chains.Signature{}, err
		}
		return s.tamper(chains.Signature{Sig: sig.Serialize()}), nil
	default:
		compact := ecdsa.SignCompact(s.k1, digest[:], true) // [27+4+recid] || r || s, low-S
		return s.tamper(chains.Signature{Sig: compact[1:], RecoveryID: int(compact[0] - 31)}), nil
	}
}

func (s *Signer) SignMessage(_ context.Context, msg []byte) (chains.Signature, error) {
	if s.scheme != protocol.SchemeEd25519 {
		return chains.Signature{}, fmt.Errorf("chaintest: %s keys sign digests, not messages", s.scheme)
	}
	return s.tamper(chains.Signature{Sig: ed25519.Sign(s.ed, msg)}), nil
}

func (s *Signer) tamper(sig chains.Signature) chains.Signature {
	s.Calls++
	if s.Tamper {
		sig.Sig[len(sig.Sig)-1] ^= 1
	}
	return sig
}
