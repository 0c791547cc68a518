package backup

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"slices"
	"testing"

	"filippo.io/age"
	"filippo.io/edwards25519"
	"github.com/btcsuite/btcd/btcec/v2"
	btcecdsa "github.com/btcsuite/btcd/btcec/v2/ecdsa"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/btcsuite/btcd/txscript"
	"github.com/ethereum/go-ethereum/crypto"
	blst "github.com/supranational/blst/bindings/go"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/bls"
	"github.com/mpcsigner/mpcsigner/protocol/protocoltest"
)

var message = []byte("disaster recovery drill, 2025-01-02")

// signAndVerify signs message with the reconstructed secret using a library of the scheme
// and verifies the signature under the public key keygen reported with a library that shares
// no code with package backup.
func signAndVerify(t *testing.T, scheme protocol.Scheme, secret, publicKey []byte) {
	t.Helper()
	digest := sha256.Sum256(message)
	switch scheme {
	case protocol.SchemeECDSASecp256k1:
		// go-ethereum signs; btcec verifies.
		priv, err := crypto.ToECDSA(secret)
		if err != nil {
			t.Fatal(err)
		}
		sig, err := crypto.Sign(digest[:], priv)
		if err != nil {
			t.Fatal(err)
		}
		pub, err := btcec.ParsePubKey(publicKey)
		if err != nil {
			t.Fatal(err)
		}
		var r, s btcec.ModNScalar
		r.SetByteSlice(sig[:32])
		s.SetByteSlice(sig[32:64])
		if !btcecdsa.NewSignature(&r, &s).Verify(digest[:], pub) {
			t.Fatal("btcec refuses the signature made with the reconstructed secp256k1 key")
		}
	case protocol.SchemeECDSAP256:
		priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), secret)
		if err != nil {
			t.Fatal(err)
		}
		sig, err := ecdsa.SignASN1(rand.Reader, priv, digest[:])
		if err != nil {
			t.Fatal(err)
		}
		x, y := elliptic.UnmarshalCompressed(elliptic.P256(), publicKey)
		if x == nil || !ecdsa.VerifyASN1(&ecdsa.PublicKey{Curve: elliptic.P256(), X: x, Y: y}, digest[:], sig) {
			t.Fatal("crypto/ecdsa refuses the signature made with the reconstructed P-256 key")
		}
	case protocol.SchemeBLS12381:
		sk := new(blst.SecretKey).Deserialize(secret)
		if sk == nil {
			t.Fatal("blst refuses the secret")
		}
		sig := new(blst.P2Affine).Sign(sk, message, []byte(bls.DST))
		pk := new(blst.P1Affine).Uncompress(publicKey)
		if pk == nil || !new(blst.P2Affine).Uncompress(sig.Compress()).Verify(true, pk, true, message, []byte(bls.DST)) {
			t.Fatal("blst refuses the signature made with the reconstructed BLS key")
		}
	case protocol.SchemeEd25519:
		sig := signEd25519WithScalar(t, secret, publicKey, message)
		if !ed25519.Verify(publicKey, message, sig) {
			t.Fatal("crypto/ed25519 refuses the signature made with the reconstructed scalar")
		}
	case protocol.SchemeBIP340:
		priv, _ := btcec.PrivKeyFromBytes(secret)
		tweaked := txscript.TweakTaprootPrivKey(*priv, nil)
		sig, err := schnorr.Sign(tweaked, digest[:])
		if err != nil {
			t.Fatal(err)
		}
		pub, err := schnorr.ParsePubKey(publicKey)
		if err != nil {
			t.Fatal(err)
		}
		if !sig.Verify(digest[:], pub) {
			t.Fatal("btcec refuses the BIP340 signature made with the tweaked reconstructed key")
		}
	default:
		t.Fatalf("no signer for %s", scheme)
	}
}

// signEd25519WithScalar signs msg per RFC 8032 section 5.1.6 from step 2 on, with the secret
// scalar s (little-endian) in place of the seed's expansion and a random nonce in place of
// the hash of the seed's second half (which a FROST key does not have).
func signEd25519WithScalar(t *testing.T, sLE, publicKey, msg []byte) []byte {
	t.Helper()
	s, err := edwards25519.NewScalar().SetCanonicalBytes(sLE)
	if err != nil {
		t.Fatal(err)
	}
	var seed [64]byte
	rand.Read(seed[:])
	r, _ := edwards25519.NewScalar().SetUniformBytes(seed[:])
	R := new(edwards25519.Point).ScalarBaseMult(r).Bytes()
	h := sha512.New()
	h.Write(R)
	h.Write(publicKey)
	h.Write(msg)
	k, _ := edwards25519.NewScalar().SetUniformBytes(h.Sum(nil))
	S := edwards25519.NewScalar().MultiplyAdd(k, s, r)
	return append(R, S.Bytes()...)
}

func sharesOf(k *testKey, parties ...protocol.PartyID) [][]byte {
	var out [][]byte
	for _, p := range parties {
		out = append(out, k.shares[p])
	}
	return out
}

func TestReconstructEveryScheme(t *testing.T) {
	for _, scheme := range []protocol.Scheme{protocol.SchemeEd25519, protocol.SchemeBIP340, protocol.SchemeBLS12381, protocol.SchemeECDSASecp256k1, protocol.SchemeECDSAP256} {
		t.Run(string(scheme), func(t *testing.T) {
			skipSlowKeygen(t, scheme)
			k := keyOf(t, scheme)
			var first []byte
			for _, set := range [][]protocol.PartyID{{1, 2}, {3, 1}, {2, 3}, {1, 2, 3}} {
				secret, err := Reconstruct(scheme, sharesOf(k, set...), k.publicKey)
				if err != nil {
					t.Fatalf("%v: %v", set, err)
				}
				if len(secret) != 32 {
					t.Fatalf("%d-byte secret", len(secret))
				}
				if first == nil {
					first = secret
				} else if !bytes.Equal(first, secret) {
					t.Fatalf("parties %v reconstruct another secret", set)
				}
			}
			signAndVerify(t, scheme, first, k.publicKey)
		})
	}
}

func TestReconstructBIP340WithInternalKey(t *testing.T) {
	k := keyOf(t, protocol.SchemeBIP340)
	viaOutput, err := Reconstruct(protocol.SchemeBIP340, sharesOf(k, 1, 3), k.publicKey)
	if err != nil {
		t.Fatal(err)
	}
	priv, _ := btcec.PrivKeyFromBytes(viaOutput)
	internal := schnorr.SerializePubKey(priv.PubKey())
	viaInternal, err := Reconstruct(protocol.SchemeBIP340, sharesOf(k, 2, 3), internal)
	if err != nil || !bytes.Equal(viaInternal, viaOutput) {
		t.Fatalf("with the internal key: %v", err)
	}
	if bytes.Equal(internal, k.publicKey) {
		t.Fatal("the output key is the untweaked internal key")
	}
}

// TestReconstructImportedBLSKey imports a known secret and gets exactly it back.
func TestReconstructImportedBLSKey(t *testing.T) {
	var ikm [32]byte
	rand.Read(ikm[:])
	sk := blst.KeyGen(ikm[:])
	want := sk.Serialize()
	pub := new(blst.P1Affine).From(sk).Compress()
	parties := protocoltest.IDs(1, 2, 3, 4)
	k := keygen(t, protocol.SchemeBLS12381, parties, 3, func(p protocol.PartyID) *protocol.ImportParams {
		imp := &protocol.ImportParams{Dealer: 2, PublicKey: pub}
		if p == 2 {
			imp.Secret = slices.Clone(want)
		}
		return imp
	})
	got, err := Reconstruct(protocol.SchemeBLS12381, sharesOf(k, 4, 1, 3), pub)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("the reconstructed secret is not the imported one")
	}
}

// TestReconstructEd25519OtherParties uses parties whose numbers are not their FROST
// identifiers.
func TestReconstructEd25519OtherParties(t *testing.T) {
	k := keygen(t, protocol.SchemeEd25519, protocoltest.IDs(3, 8, 20), 2, nil)
	secret, err := Reconstruct(protocol.SchemeEd25519, sharesOf(k, 20, 3), k.publicKey)
	if err != nil {
		t.Fatal(err)
	}
	signAndVerify(t, protocol.SchemeEd25519, secret, k.publicKey)
}

func TestReconstructRefuses(t *testing.T) {
	k := keyOf(t, protocol.SchemeEd25519)
	other := keygen(t, protocol.SchemeEd25519, protocoltest.IDs(1, 2, 3), 2, nil)
	wider := keygen(t, protocol.SchemeEd25519, protocoltest.IDs(1, 2, 3), 3, nil)
	for _, tc := range []struct {
		name   string
		scheme protocol.Scheme
		shares [][]byte
		pub    []byte
		want   []string
	}{
		{"none", protocol.SchemeEd25519, nil, k.publicKey, []string{"no shares"}},
		{"too few", protocol.SchemeEd25519, sharesOf(k, 2), k.publicKey, []string{"1 shares given, the key needs 2"}},
		{"too few of 3", protocol.SchemeEd25519, sharesOf(wider, 1, 3), wider.publicKey, []string{"2 shares given, the key needs 3"}},
		{"duplicate", protocol.SchemeEd25519, sharesOf(k, 2, 2), k.publicKey, []string{"shares 1 and 2 are both the share of party 2"}},
		{"different keys", protocol.SchemeEd25519, [][]byte{k.shares[1], other.shares[2]}, k.publicKey, []string{"shares 1 and 2 are not shares of one key", "one is of public key"}},
		{"wrong public key", protocol.SchemeEd25519, sharesOf(k, 1, 2), other.publicKey, []string{"the shares are of public key"}},
		{"wrong scheme", protocol.SchemeBLS12381, sharesOf(k, 1, 2), k.publicKey, []string{"share 1", "bls: invalid share"}},
		{"unknown scheme", "rsa", sharesOf(k, 1, 2), k.publicKey, []string{"unknown scheme"}},
		{"garbage", protocol.SchemeEd25519, [][]byte{k.shares[1], []byte("{}")}, k.publicKey, []string{"share 2", "invalid share"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			secret, err := Reconstruct(tc.scheme, tc.shares, tc.pub)
			if secret != nil {
				t.Fatal("a secret came back with the error")
			}
			wantErr(t, err, tc.want...)
		})
	}
}

func TestReconstructRefusesECDSAOtherCurve(t *testing.T) {
	skipSlowKeygen(t, protocol.SchemeECDSAP256)
	k := keyOf(t, protocol.SchemeECDSAP256)
	_, err := Reconstruct(protocol.SchemeECDSASecp256k1, sharesOf(k, 1, 2), k.publicKey)
	wantErr(t, err, "share 1", "a ecdsa-p256 share, not ecdsa-secp256k1")
}

// TestDisasterRecovery is the whole path: keygen, every enclave seals its share with the
// key's chain code to a split recovery identity and an operator's ssh key, the host
// assembles and checks the bundle, and later 2 of 3 piece holders combine the identity,
// open t entries and reconstruct a key that signs.
func TestDisasterRecovery(t *testing.T) {
	for _, scheme := range []protocol.Scheme{protocol.SchemeBIP340, protocol.SchemeBLS12381} {
		t.Run(string(scheme), func(t *testing.T) {
			k := keyOf(t, scheme)
			recovery := NewRecoveryIdentity()
			pieces, err := SplitIdentity(recovery, 2, 3)
			if err != nil {
				t.Fatal(err)
			}
			sshOp := newSSHOperator(t)
			chainCode := make([]byte, ChainCodeSize)
			rand.Read(chainCode)
			entries := sealAll(t, k, chainCode, operator{recipient: recovery.Recipient().String()}, sshOp)
			b, err := Assemble(k.bundleMeta([]string{recovery.Recipient().String(), sshOp.recipient}), entries)
			if err != nil {
				t.Fatal(err)
			}
			data, err := b.Marshal()
			if err != nil {
				t.Fatal(err)
			}

			restored, err := ParseBundle(data)
			if err != nil {
				t.Fatal(err)
			}
			id, err := CombinePieces([]string{pieces[2], pieces[0]})
			if err != nil {
				t.Fatal(err)
			}
			var shares [][]byte
			for _, p := range []protocol.PartyID{3, 1} {
				o, err := restored.Open(p, []age.Identity{id})
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(o.Meta.ChainCode, chainCode) {
					t.Fatal("the chain code did not survive")
				}
				shares = append(shares, o.Share)
			}
			secret, err := Reconstruct(restored.Scheme, shares, restored.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			signAndVerify(t, scheme, secret, k.publicKey)
		})
	}
}
