package ecdsa

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"slices"

	"github.com/bnb-chain/tss-lib/v3/crypto"
	"github.com/bnb-chain/tss-lib/v3/ecdsa/keygen"
	"github.com/bnb-chain/tss-lib/v3/ecdsa/signing"
	"github.com/btcsuite/btcd/btcec/v2"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/derive"
)

// ErrDerivationUnsupported is returned when a derivation is asked of a key that is not on
// secp256k1: BIP32 is defined on secp256k1 only, and P-256 keys (PKCS#11 users) have no
// wallets that would derive from them.
var ErrDerivationUnsupported = errors.New("ecdsa: key derivation (BIP32) is offered for secp256k1 keys only, not P-256 keys")

var _ protocol.Deriver = Engine{}

// DerivePublicKey implements protocol.Deriver: the 33-byte compressed public key of the
// non-hardened child d names below publicKey (BIP32 CKDpub, see derive.Child). Engines for
// P-256 refuse it with ErrDerivationUnsupported.
func (e Engine) DerivePublicKey(publicKey []byte, d protocol.Derivation) ([]byte, error) {
	if e.curve() != secp256k1Curve {
		return nil, ErrDerivationUnsupported
	}
	child, err := derive.Child(publicKey, d)
	if err != nil {
		return nil, fmt.Errorf("ecdsa: %w", err)
	}
	defer child.Wipe()
	return child.PublicKey, nil
}

// deriveShare makes share a share of the child key d names, for signing with it: it returns
// the child's public key and the additive delta that tss-lib adds to the own secret share
// (NewLocalPartyWithKDD), and moves every public share and the group key in the save data by
// delta·G to match (a Shamir sharing of x plus a constant is a sharing of x + delta). With d
// nil, or an empty path, it returns the key's own public key and a nil delta, and leaves the
// share alone: signing is then exactly signing without derivation.
func deriveShare(share *Share, d *protocol.Derivation) (delta *big.Int, pub []byte, err error) {
	if d == nil || len(d.Path) == 0 {
		return nil, slices.Clone(share.publicKey), nil
	}
	c := share.curve
	if c != secp256k1Curve {
		return nil, nil, ErrDerivationUnsupported
	}
	child, err := derive.Child(share.publicKey, *d)
	if err != nil {
		return nil, nil, err
	}
	defer child.Wipe()
	delta = child.DeltaInt()

	childKey, err := btcec.ParsePubKey(child.PublicKey)
	if err != nil {
		return nil, nil, fmt.Errorf("derived public key: %w", err)
	}
	childPoint, err := crypto.NewECPoint(c.ec, childKey.X(), childKey.Y())
	if err != nil {
		return nil, nil, fmt.Errorf("derived public key: %w", err)
	}
	// The delta must move the group key to the child key: check it with tss-lib's arithmetic,
	// which shares no code with the btcec arithmetic derive uses.
	if moved, err := share.save.ECDSAPub.Add(crypto.ScalarBaseMult(c.ec, delta)); err != nil || !moved.Equals(childPoint) {
		return nil, nil, errors.New("derived public key and delta disagree")
	}
	keys := []keygen.LocalPartySaveData{share.save}
	if err := signing.UpdatePublicKeyAndAdjustBigXj(delta, keys, &ecdsa.PublicKey{Curve: c.ec, X: childKey.X(), Y: childKey.Y()}, c.ec); err != nil {
		return nil, nil, fmt.Errorf("moving the public shares to the derived key: %w", err)
	}
	share.save = keys[0]
	sd := &share.save
	if y, err := interpolate(c.ec.Params().N, sd.Ks[:share.threshold], sd.BigXj[:share.threshold]); err != nil || !y.Equals(childPoint) {
		return nil, nil, errors.New("moved public shares do not interpolate to the derived key")
	}
	return delta, slices.Clone(child.PublicKey), nil
}
