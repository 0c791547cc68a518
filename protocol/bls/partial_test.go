package bls

import (
	"bytes"
	"slices"
	"testing"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// loadShares decodes every party's share of fx.
func loadShares(t *testing.T, fx *keygenFixture) map[protocol.PartyID]*KeyShare {
	t.Helper()
	out := make(map[protocol.PartyID]*KeyShare)
	for p, b := range fx.shares {
		k, err := LoadKeyShare(b)
		if err != nil {
			t.Fatal(err)
		}
		if k.Party() != p || !bytes.Equal(k.PublicKey(), fx.publicKey) {
			t.Fatalf("share of %s loads as %s with key %x", p, k.Party(), k.PublicKey())
		}
		out[p] = k
	}
	return out
}

func TestPartialsCombineForEverySignerSet(t *testing.T) {
	fx := getFixture(t, 3, 2)
	keys := loadShares(t, fx)
	group := keys[1].Group()
	digest := digestOf("direct partials")
	for _, signers := range [][]protocol.PartyID{ids(1, 2), ids(1, 3), ids(2, 3)} {
		partials := map[protocol.PartyID][]byte{}
		for _, p := range signers {
			partials[p] = keys[p].SignPartial(digest[:])
		}
		sig, err := group.Combine(digest[:], partials)
		if err != nil {
			t.Fatalf("%v: %v", signers, err)
		}
		gnarkVerify(t, fx.publicKey, digest, sig)
		// The session protocol and the direct path produce the same (unique) BLS signature.
		if want := signOnce(t, fx, signers, digest); !bytes.Equal(sig, want) {
			t.Fatalf("%v: direct signature differs from the session protocol's", signers)
		}
	}
}

func TestCombineNamesTheBadPartial(t *testing.T) {
	fx := getFixture(t, 3, 2)
	keys := loadShares(t, fx)
	group := keys[2].Group()
	digest, other := digestOf("right"), digestOf("wrong")
	partials := map[protocol.PartyID][]byte{1: keys[1].SignPartial(digest[:]), 3: keys[3].SignPartial(other[:])}
	_, err := group.Combine(digest[:], partials)
	if pe := protoErr(t, err); !slices.Equal(pe.Culprits, ids(3)) {
		t.Fatalf("culprits %v, want [3]: %v", pe.Culprits, err)
	}
	partials[3] = bytes.Repeat([]byte{0xff}, SignatureSize)
	_, err = group.Combine(digest[:], partials)
	if pe := protoErr(t, err); !slices.Equal(pe.Culprits, ids(3)) {
		t.Fatalf("malformed partial: culprits %v, want [3]: %v", pe.Culprits, err)
	}
}

func TestCombineRefusesWrongCounts(t *testing.T) {
	fx := getFixture(t, 3, 2)
	keys := loadShares(t, fx)
	group := keys[1].Group()
	d := digestOf("count")
	if _, err := group.Combine(d[:], map[protocol.PartyID][]byte{1: keys[1].SignPartial(d[:])}); err == nil {
		t.Fatal("one partial for a threshold of two was accepted")
	}
	if _, err := group.Combine(d[:], map[protocol.PartyID][]byte{1: keys[1].SignPartial(d[:]), 9: keys[2].SignPartial(d[:])}); err == nil {
		t.Fatal("a partial from a party without a share was accepted")
	}
}

func TestNewGroupKeyChecksTheShares(t *testing.T) {
	fx := getFixture(t, 3, 2)
	groupKey, byParty, err := PublicShares(fx.shares[1])
	if err != nil {
		t.Fatal(err)
	}
	g, err := NewGroupKey(groupKey, 2, byParty)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(g.PublicKey(), fx.publicKey) || g.Threshold() != 2 || !slices.Equal(g.Parties(), ids(1, 2, 3)) {
		t.Fatalf("group key %x t=%d parties %v", g.PublicKey(), g.Threshold(), g.Parties())
	}
	swapped := map[protocol.PartyID][]byte{1: byParty[2], 2: byParty[1], 3: byParty[3]}
	if _, err := NewGroupKey(groupKey, 2, swapped); err == nil {
		t.Fatal("public shares that do not interpolate to the group key were accepted")
	}
	if _, err := NewGroupKey(groupKey, 4, byParty); err == nil {
		t.Fatal("a threshold above the number of shares was accepted")
	}
	if _, err := NewGroupKey(groupKey[:47], 2, byParty); err == nil {
		t.Fatal("a truncated group key was accepted")
	}
}

// BenchmarkSignPartial is one enclave's work per eth2 signature: hash to G2 and one G2
// multiplication.
func BenchmarkSignPartial(b *testing.B) {
	fx := getFixture(b, 3, 2)
	k, err := LoadKeyShare(fx.shares[1])
	if err != nil {
		b.Fatal(err)
	}
	msg := digestOf("partial")
	for b.Loop() {
		k.SignPartial(msg[:])
	}
}

// BenchmarkGroupCombine is the host's work per eth2 signature: Lagrange combination of two
// partials and a full verification of the result.
func BenchmarkGroupCombine(b *testing.B) {
	fx := getFixture(b, 3, 2)
	k1, _ := LoadKeyShare(fx.shares[1])
	k2, _ := LoadKeyShare(fx.shares[2])
	msg := digestOf("combine")
	partials := map[protocol.PartyID][]byte{1: k1.SignPartial(msg[:]), 2: k2.SignPartial(msg[:])}
	g := k1.Group()
	for b.Loop() {
		if _, err := g.Combine(msg[:], partials); err != nil {
			b.Fatal(err)
		}
	}
}
