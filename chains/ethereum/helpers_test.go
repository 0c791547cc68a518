package ethereum

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	btcecdsa "github.com/btcsuite/btcd/btcec/v2/ecdsa"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// keySigner is a real single-key SignFunc: go-ethereum's crypto.Sign over one private key.
// It stands in for the threshold backend, which must answer exactly like this.
type keySigner struct {
	key   *ecdsa.PrivateKey
	addr  common.Address
	calls int
}

// newKeySigner makes a signer over a fresh random key.
func newKeySigner(t testing.TB) *keySigner {
	t.Helper()
	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return &keySigner{key: key, addr: crypto.PubkeyToAddress(key.PublicKey)}
}

// fixedKeySigner makes a signer over a known key, for published vectors.
func fixedKeySigner(t testing.TB, hexKey string) *keySigner {
	t.Helper()
	key, err := crypto.HexToECDSA(strings.TrimPrefix(hexKey, "0x"))
	if err != nil {
		t.Fatal(err)
	}
	return &keySigner{key: key, addr: crypto.PubkeyToAddress(key.PublicKey)}
}

// sign is the SignFunc.
func (k *keySigner) sign(_ context.Context, from common.Address, digest [32]byte) ([65]byte, error) {
	k.calls++
	if from != k.addr {
		return [65]byte{}, fmt.Errorf("no key for %s", from)
	}
	sig, err := crypto.Sign(digest[:], k.key)
	if err != nil {
		return [65]byte{}, err
	}
	return [65]byte(sig), nil
}

// compressed is the signer's SEC1 compressed public key.
func (k *keySigner) compressed() []byte {
	return crypto.CompressPubkey(&k.key.PublicKey)
}

// btcecVerify checks R||S||V (V the recovery id) over digest with btcec, independently of
// go-ethereum: the signature verifies under the public key, S is low, and public-key
// recovery with V finds the same key.
func btcecVerify(t testing.TB, pubCompressed []byte, digest []byte, rsv []byte) {
	t.Helper()
	if len(rsv) != 65 || rsv[64] > 1 {
		t.Fatalf("signature %x: want 65 bytes ending in a recovery id 0 or 1", rsv)
	}
	pub, err := btcec.ParsePubKey(pubCompressed)
	if err != nil {
		t.Fatal(err)
	}
	var r, s btcec.ModNScalar
	if r.SetByteSlice(rsv[:32]) || s.SetByteSlice(rsv[32:64]) {
		t.Fatalf("signature %x: R or S not below the group order", rsv)
	}
	if s.IsOverHalfOrder() {
		t.Fatalf("signature %x: S is not low", rsv)
	}
	if !btcecdsa.NewSignature(&r, &s).Verify(digest, pub) {
		t.Fatalf("btcec: signature %x does not verify over %x", rsv, digest)
	}
	compact := append([]byte{27 + 4 + rsv[64]}, rsv[:64]...) // btcec's compact form, compressed key
	rec, _, err := btcecdsa.RecoverCompact(compact, digest)
	if err != nil {
		t.Fatalf("btcec: recovery: %v", err)
	}
	if !rec.IsEqual(pub) {
		t.Fatalf("btcec: recovery id %d recovers another key", rsv[64])
	}
}
