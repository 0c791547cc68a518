package bench

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	btcecdsa "github.com/btcsuite/btcd/btcec/v2/ecdsa"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"
)

// LocalSigner is one whole private key in this process: what a single machine signing alone
// achieves, the baseline a threshold cluster is compared with.
type LocalSigner interface {
	Scheme() string
	PublicKey() []byte // in the encoding Verify takes
	Sign(msg []byte) ([]byte, error)
}

// NewLocalSigner makes a fresh key of scheme with the library the ecosystem uses for it:
// crypto/ecdsa for P-256, btcec for secp256k1 and BIP340, crypto/ed25519. BLS is in
// bench/blstkey (blst is a C library).
func NewLocalSigner(scheme string) (LocalSigner, error) {
	switch scheme {
	case SchemeP256:
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		return p256Signer{k}, nil
	case SchemeSecp256k1:
		k, err := btcec.NewPrivateKey()
		if err != nil {
			return nil, err
		}
		return secp256k1Signer{k}, nil
	case SchemeBIP340:
		k, err := btcec.NewPrivateKey()
		if err != nil {
			return nil, err
		}
		return bip340Signer{k}, nil
	case SchemeEd25519:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		return ed25519Signer{k}, nil
	}
	return nil, fmt.Errorf("no pure-Go single-key signer for scheme %q", scheme)
}

type p256Signer struct{ k *ecdsa.PrivateKey }

func (s p256Signer) Scheme() string { return SchemeP256 }
func (s p256Signer) PublicKey() []byte {
	b, _ := s.k.PublicKey.Bytes() // a generated key is always on the curve
	return b
}
func (s p256Signer) Sign(digest []byte) ([]byte, error) {
	r, sc, err := ecdsa.Sign(rand.Reader, s.k, digest)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 64)
	r.FillBytes(out[:32])
	sc.FillBytes(out[32:])
	return out, nil
}

type secp256k1Signer struct{ k *btcec.PrivateKey }

func (s secp256k1Signer) Scheme() string    { return SchemeSecp256k1 }
func (s secp256k1Signer) PublicKey() []byte { return s.k.PubKey().SerializeCompressed() }

// Sign makes r||s with a recovery id computed alongside (as the cluster returns one), and
// drops the id byte.
func (s secp256k1Signer) Sign(digest []byte) ([]byte, error) {
	return btcecdsa.SignCompact(s.k, digest, true)[1:], nil
}

type bip340Signer struct{ k *btcec.PrivateKey }

func (s bip340Signer) Scheme() string    { return SchemeBIP340 }
func (s bip340Signer) PublicKey() []byte { return schnorr.SerializePubKey(s.k.PubKey()) }
func (s bip340Signer) Sign(digest []byte) ([]byte, error) {
	sig, err := schnorr.Sign(s.k, digest)
	if err != nil {
		return nil, err
	}
	return sig.Serialize(), nil
}

type ed25519Signer struct{ k ed25519.PrivateKey }

func (s ed25519Signer) Scheme() string    { return SchemeEd25519 }
func (s ed25519Signer) PublicKey() []byte { return s.k.Public().(ed25519.PublicKey) }
func (s ed25519Signer) Sign(msg []byte) ([]byte, error) {
	return ed25519.Sign(s.k, msg), nil
}

// SingleKey is the in-process baseline: a LocalSigner signing random 32-byte messages on every
// worker at once.
type SingleKey struct {
	signer LocalSigner
	pub    []byte
}

// NewSingleKey makes the baseline driver for a signer.
func NewSingleKey(s LocalSigner) *SingleKey { return &SingleKey{signer: s, pub: s.PublicKey()} }

func (d *SingleKey) Name() string { return "single-key" }
func (d *SingleKey) Close() error { return nil }

func (d *SingleKey) NewWorker(context.Context, int, int) (Worker, error) {
	return singleKeyWorker{d}, nil
}

type singleKeyWorker struct{ d *SingleKey }

func (w singleKeyWorker) Close() error { return nil }

func (w singleKeyWorker) Sign(context.Context) (Signed, error) {
	msg := random32()
	sig, err := w.d.signer.Sign(msg)
	if err != nil {
		return Signed{}, err
	}
	return Signed{Scheme: w.d.signer.Scheme(), PublicKey: w.d.pub, Message: msg, Signature: sig}, nil
}
