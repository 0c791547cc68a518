package ecdsa

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil/hdkeychain"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/derive"
)

// hdChild is the child public key btcutil's hdkeychain (an implementation independent of
// package derive and tss-lib) derives from pub and chainCode along path.
func hdChild(t testing.TB, pub []byte, chainCode [32]byte, path []uint32) []byte {
	t.Helper()
	k := hdkeychain.NewExtendedKey(chaincfg.MainNetParams.HDPublicKeyID[:], pub, chainCode[:], []byte{0, 0, 0, 0}, 0, 0, false)
	for _, idx := range path {
		var err error
		if k, err = k.Derive(idx); err != nil {
			t.Fatalf("hdkeychain: %v", err)
		}
	}
	child, err := k.ECPubKey()
	if err != nil {
		t.Fatal(err)
	}
	return child.SerializeCompressed()
}

func testChainCode(label string) [32]byte { return sha256.Sum256([]byte("ecdsa derive test " + label)) }

func TestDerivePublicKeyMatchesHDKeychain(t *testing.T) {
	seed := sha256.Sum256([]byte("ecdsa derive test key"))
	priv, _ := btcec.PrivKeyFromBytes(seed[:])
	pub := priv.PubKey().SerializeCompressed()
	cc := testChainCode("public")
	for _, path := range [][]uint32{{}, {0}, {0, 7}, {44, 60, 0, 0, 3}, {derive.HardenedStart - 1}} {
		got, err := Engine{}.DerivePublicKey(pub, protocol.Derivation{ChainCode: cc, Path: path})
		if err != nil {
			t.Fatalf("%s: %v", derive.FormatPath(path), err)
		}
		if want := hdChild(t, pub, cc, path); !bytes.Equal(got, want) {
			t.Fatalf("%s: %x, hdkeychain %x", derive.FormatPath(path), got, want)
		}
	}
	if _, err := (Engine{}).DerivePublicKey(pub, protocol.Derivation{ChainCode: cc, Path: []uint32{1 << 31}}); !errors.Is(err, derive.ErrHardened) {
		t.Fatalf("a hardened index: %v", err)
	}
}

func TestDerivationRefusedOnP256(t *testing.T) {
	pub := append([]byte{2}, bytes.Repeat([]byte{1}, 32)...)
	d := protocol.Derivation{Path: []uint32{1}}
	if _, err := (Engine{Curve: CurveP256}).DerivePublicKey(pub, d); !errors.Is(err, ErrDerivationUnsupported) || !strings.Contains(err.Error(), "secp256k1 keys only") {
		t.Fatalf("P-256 engine: %v", err)
	}
	// Signing: a P-256 share is refused before any protocol starts.
	if _, _, err := deriveShare(&Share{curve: p256Curve}, &d); !errors.Is(err, ErrDerivationUnsupported) {
		t.Fatalf("P-256 share: %v", err)
	}
}

// signDerived runs one 2-of-3 signing of the fixture key with a derivation at every signer
// (derivations[p], or d) and returns the results.
func signDerived(t *testing.T, fx *keygenFixture, signers []protocol.PartyID, digest [32]byte, d *protocol.Derivation, derivations map[protocol.PartyID]*protocol.Derivation) map[protocol.PartyID]protocol.Result {
	t.Helper()
	nonce := newNonce()
	runs := map[protocol.PartyID]protocol.Run{}
	for _, p := range signers {
		dp := d
		if x, ok := derivations[p]; ok {
			dp = x
		}
		r, err := Engine{}.Sign(protocol.SignParams{Self: p, Signers: signers, Share: fx.shares[p], Digest: digest, SessionNonce: nonce, Derivation: dp})
		if err != nil {
			t.Fatal(err)
		}
		runs[p] = r
	}
	results, err := execute(runs, nil, signTimeout)
	if err != nil {
		t.Fatal(err)
	}
	return results
}

// The signature a 2-of-3 signing with a derivation produces verifies (go-ethereum) against
// the child key hdkeychain derives, and not against the parent.
func TestSignWithDerivation(t *testing.T) {
	fx := getKeygenFixture(t)
	cc := testChainCode("sign")
	path := []uint32{44, 60, 0, 0, 7}
	child := hdChild(t, fx.pub, cc, path)
	if got, err := (Engine{}).DerivePublicKey(fx.pub, protocol.Derivation{ChainCode: cc, Path: path}); err != nil || !bytes.Equal(got, child) {
		t.Fatalf("DerivePublicKey = %x, %v; hdkeychain %x", got, err, child)
	}
	digest := sha256.Sum256([]byte("derived signing"))
	signers := []protocol.PartyID{3, 1}
	results := signDerived(t, fx, signers, digest, &protocol.Derivation{ChainCode: cc, Path: path}, nil)
	var sig *protocol.Signature
	for p, res := range results {
		if res.Err != nil || res.Signature == nil {
			t.Fatalf("%s: %+v", p, res)
		}
		if sig != nil && !bytes.Equal(sig.Bytes(), res.Signature.Bytes()) {
			t.Fatalf("%s: signatures differ", p)
		}
		sig = res.Signature
	}
	verifyWithEthereum(t, child, digest, sig)
	if crypto.VerifySignature(fx.pub, digest[:], sig.Bytes()) {
		t.Fatal("the signature also verifies against the parent key")
	}

	// The share itself is unchanged: signing without a derivation still signs for the parent.
	plain := signOnce(t, fx, []protocol.PartyID{1, 2}, digest)
	verifyWithEthereum(t, fx.pub, digest, plain)
}

// An empty path is the key itself.
func TestSignWithEmptyDerivationPath(t *testing.T) {
	fx := getKeygenFixture(t)
	digest := sha256.Sum256([]byte("empty path"))
	results := signDerived(t, fx, []protocol.PartyID{1, 2}, digest, &protocol.Derivation{ChainCode: testChainCode("empty")}, nil)
	for p, res := range results {
		if res.Err != nil {
			t.Fatalf("%s: %v", p, res.Err)
		}
		verifyWithEthereum(t, fx.pub, digest, res.Signature)
	}
}

// Signers given different paths produce no signature.
func TestSignWithMismatchedDerivationFails(t *testing.T) {
	fx := getKeygenFixture(t)
	cc := testChainCode("mismatch")
	results := signDerived(t, fx, []protocol.PartyID{1, 2}, [32]byte{5}, &protocol.Derivation{ChainCode: cc, Path: []uint32{1}},
		map[protocol.PartyID]*protocol.Derivation{2: {ChainCode: cc, Path: []uint32{2}}})
	for p, res := range results {
		if res.Err == nil {
			t.Fatalf("%s: signing succeeded although the signers derived different keys", p)
		}
		t.Logf("%s: %v", p, protoErr(t, res.Err))
	}
}

func TestSignRefusesBadDerivation(t *testing.T) {
	fx := getKeygenFixture(t)
	for _, tc := range []struct {
		name string
		path []uint32
		want error
	}{
		{"hardened", []uint32{0, 1 << 31}, derive.ErrHardened},
		{"too deep", make([]uint32, protocol.MaxDerivationDepth+1), nil},
	} {
		_, err := Engine{}.Sign(protocol.SignParams{Self: 1, Signers: []protocol.PartyID{1, 2}, Share: fx.shares[1], Digest: [32]byte{1}, SessionNonce: newNonce(),
			Derivation: &protocol.Derivation{Path: tc.path}})
		if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Fatalf("%s: %v", tc.name, err)
		}
	}
}
