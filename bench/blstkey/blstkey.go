// Package blstkey is the single-key BLS baseline of `mpcsigner bench`: one whole BLS12-381 key
// in this process, signing with blst, the library the enclaves use for their partial
// signatures, so that a ratio against it compares the cluster with the same arithmetic done
// once.
//
// It is apart from package bench because blst is a C library: bench stays pure Go. The key is
// made fresh for each run and never leaves memory; it must never be used for anything but
// benchmarking.
package blstkey

import (
	"crypto/rand"
	"errors"

	blst "github.com/supranational/blst/bindings/go"

	"github.com/mpcsigner/mpcsigner/bench"
)

// dst is the ciphersuite of Ethereum's BLS signatures (proof-of-possession scheme).
var dst = []byte("BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_")

// Signer is a BLS key signing with blst; it implements bench.LocalSigner.
type Signer struct {
	sk  *blst.SecretKey
	pub []byte
}

// New makes a fresh key from 32 random bytes of key material.
func New() (*Signer, error) {
	ikm := make([]byte, 32)
	if _, err := rand.Read(ikm); err != nil {
		return nil, err
	}
	sk := blst.KeyGen(ikm)
	if sk == nil {
		return nil, errors.New("blst: key generation failed")
	}
	return &Signer{sk: sk, pub: new(blst.P1Affine).From(sk).Compress()}, nil
}

// Scheme is bls12-381.
func (s *Signer) Scheme() string { return bench.SchemeBLS }

// PublicKey is the 48-byte compressed G1 public key.
func (s *Signer) PublicKey() []byte { return s.pub }

// Sign returns the 96-byte compressed G2 signature of msg.
func (s *Signer) Sign(msg []byte) ([]byte, error) {
	sig := new(blst.P2Affine).Sign(s.sk, msg, dst)
	if sig == nil {
		return nil, errors.New("blst: signing failed")
	}
	return sig.Compress(), nil
}
