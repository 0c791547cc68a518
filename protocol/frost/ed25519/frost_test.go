package ed25519

import (
	"crypto/ed25519"
	"encoding/hex"
	"math/big"
	"strings"
	"testing"

	"filippo.io/edwards25519"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/protocoltest"
)

func vecSecret(t *testing.T, s string) *secretScalar {
	t.Helper()
	x := &secretScalar{}
	if _, err := x.s.SetCanonicalBytes(unhex(t, s)); err != nil {
		t.Fatal(err)
	}
	return x
}

// TestRFC9591VectorsOwnSigning runs this package's own FROST functions (frost.go) on RFC 9591's
// FROST(Ed25519, SHA-512) vector (Appendix E.1): nonce_generate on the vector's randomness,
// then, from the vector's fixed hiding and binding nonces, the commitments, the binding
// factors, the signature shares, their verification and the aggregate signature, each
// compared byte for byte with the vector; crypto/ed25519 must accept the signature.
func TestRFC9591VectorsOwnSigning(t *testing.T) {
	v := rfc9591
	var groupKey [elementSize]byte
	copy(groupKey[:], unhex(t, v.groupPublicKey))
	msg := unhex(t, v.message)

	var list []signerCommitment
	nonces := map[uint16]*noncePair{}
	for _, id := range v.signers {
		r1 := v.round1[id]
		secret := vecSecret(t, v.shares[id])
		for _, n := range []struct{ name, random, want string }{
			{"hiding_nonce", r1.hidingRandomness, r1.hidingNonce},
			{"binding_nonce", r1.bindingRandomness, r1.bindingNonce},
		} {
			var random [32]byte
			copy(random[:], unhex(t, n.random))
			if got := hex.EncodeToString(nonceGenerate(&random, secret).s.Bytes()); got != n.want {
				t.Fatalf("P%d nonce_generate for %s: got %s, want %s", id, n.name, got, n.want)
			}
		}
		// From here on, the vector's nonces themselves.
		nonces[id] = &noncePair{HidingNonce: vecSecret(t, r1.hidingNonce), BindingNonce: vecSecret(t, r1.bindingNonce)}
		c := nonces[id].commitment(id)
		if got, want := hex.EncodeToString(c.enc[:]), r1.hidingCommitment+r1.bindingCommitment; got != want {
			t.Fatalf("P%d commitments: got %s, want %s", id, got, want)
		}
		list = append(list, c)
	}

	s, err := newSession(groupKey, list, msg)
	if err != nil {
		t.Fatal(err)
	}
	var shares []*edwards25519.Scalar
	for i, id := range v.signers {
		if got, want := hex.EncodeToString(s.bindingFactors[i].Bytes()), v.round1[id].bindingFactor; got != want {
			t.Fatalf("P%d binding_factor: got %s, want %s", id, got, want)
		}
		z := s.signatureShare(i, vecSecret(t, v.shares[id]), nonces[id])
		if got := hex.EncodeToString(z.Bytes()); got != v.sigShares[id] {
			t.Fatalf("P%d sig_share: got %s, want %s", id, got, v.sigShares[id])
		}
		publicShare := new(edwards25519.Point).ScalarBaseMult(&vecSecret(t, v.shares[id]).s)
		if !s.verifySignatureShare(i, z, publicShare) {
			t.Fatalf("P%d: verify_signature_share refuses the vector's share", id)
		}
		wrong := new(edwards25519.Scalar).Add(z, smallScalar(1))
		if s.verifySignatureShare(i, wrong, publicShare) {
			t.Fatalf("P%d: verify_signature_share accepts a share off by one", id)
		}
		shares = append(shares, z)
	}
	sig := s.aggregate(shares)
	if got := hex.EncodeToString(sig); got != v.sig {
		t.Fatalf("sig: got %s, want %s", got, v.sig)
	}
	if got := hex.EncodeToString(s.groupCommitment[:]); got != v.sig[:64] {
		t.Fatalf("group commitment: got %s, want %s", got, v.sig[:64])
	}
	if !ed25519.Verify(groupKey[:], msg, sig) {
		t.Fatal("crypto/ed25519 refuses the signature")
	}
}

// TestRFC9591BindingFactorInput checks encode_group_commitment_list and the binding factor
// inputs against the vector's binding_factor_input, built here from the RFC's definition
// (group key || H4(msg) || H5(encoded list) || identifier) with the package's H4 and H5.
func TestRFC9591BindingFactorInput(t *testing.T) {
	v := rfc9591
	var list []signerCommitment
	for _, id := range v.signers {
		r1 := v.round1[id]
		c := signerCommitment{id: id}
		copy(c.enc[:], unhex(t, r1.hidingCommitment+r1.bindingCommitment))
		list = append(list, c)
	}
	msgHash, listHash := h4(unhex(t, v.message)), h5(encodeGroupCommitmentList(list))
	for _, c := range list {
		input := hex.EncodeToString(unhex(t, v.groupPublicKey)) + hex.EncodeToString(msgHash[:]) + hex.EncodeToString(listHash[:]) + hex.EncodeToString(serializeIdentifier(c.id))
		if input != v.round1[c.id].bindingFactorInput {
			t.Fatalf("P%d binding_factor_input: got %s", c.id, input)
		}
		if got := hex.EncodeToString(h1(unhex(t, input)).Bytes()); got != v.round1[c.id].bindingFactor {
			t.Fatalf("P%d H1: got %s", c.id, got)
		}
	}
}

// TestDeriveInterpolatingValue compares the Lagrange coefficients with math/big over ℓ, for
// signer sets with small and large identifiers (the inverse table and beyond it).
func TestDeriveInterpolatingValue(t *testing.T) {
	order, _ := new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)
	for _, ids := range [][]uint16{{1, 3}, {1, 2}, {2, 3}, {1, 2, 3}, {2, 4, 5}, {1, 100, 256}, {7, 255}, {1, 300, 1000, 65535}} {
		for _, xi := range ids {
			num, den := big.NewInt(1), big.NewInt(1)
			for _, xj := range ids {
				if xj != xi {
					num.Mul(num, big.NewInt(int64(xj)))
					den.Mul(den, big.NewInt(int64(xj)-int64(xi)))
				}
			}
			want := new(big.Int).Mul(num, new(big.Int).ModInverse(new(big.Int).Mod(den, order), order))
			want.Mod(want, order)
			got := deriveInterpolatingValue(ids, xi).Bytes()
			for i, j := 0, len(got)-1; i < j; i, j = i+1, j-1 {
				got[i], got[j] = got[j], got[i]
			}
			if new(big.Int).SetBytes(got).Cmp(want) != 0 {
				t.Fatalf("λ_%d of %v: got %x, want %x", xi, ids, got, want)
			}
		}
	}
}

func TestSign2of3TamperedShareBlamesSigner(t *testing.T) {
	// With two signers, the signature check stands for the other's share check: a bad share
	// must still be named.
	fx := getFixture(t, 3, 2)
	tamper := func(from, to protocol.PartyID, broadcast bool, payload []byte) []byte {
		if from == 3 && payload[1] == kindSigShare {
			payload[headerSize] ^= 1 // still a valid scalar, but not z_3
		}
		return payload
	}
	results := executeFor(t, signRuns(t, fx.shares, protocoltest.IDs(1, 3), protocoltest.DigestOf("tampered share, 2 of 3"), newNonce(t)), tamper, protocoltest.IDs(1))
	protocoltest.WantCulprits(t, results[1], 3)
	if pe := protocoltest.ProtoErr(t, results[1].Err); pe.Round != 2 || !strings.Contains(pe.Error(), "does not verify under its public share") {
		t.Fatalf("error %v", pe)
	}
}

func TestNonceStoreTakesOnce(t *testing.T) {
	var s nonceStore
	n := commit(&secretScalar{s: *smallScalar(5)})
	id := s.add(n)
	if s.take(id) != n || s.take(id) != nil || len(s.NonceCommitments) != 0 {
		t.Fatal("a nonce pair can be taken twice")
	}
	other := commit(&secretScalar{s: *smallScalar(5)})
	if other.HidingNonce.s.Equal(&n.HidingNonce.s) == 1 || other.BindingNonce.s.Equal(&n.HidingNonce.s) == 1 {
		t.Fatal("commit drew the same nonce twice")
	}
	s.add(other)
	s.wipe()
	if !other.HidingNonce.IsZero() || !other.BindingNonce.IsZero() || len(s.NonceCommitments) != 0 {
		t.Fatal("wipe left a nonce")
	}
}
