package bls

import (
	"bytes"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/protocoltest"
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
	digest := protocoltest.DigestOf("direct partials")
	for _, signers := range [][]protocol.PartyID{protocoltest.IDs(1, 2), protocoltest.IDs(1, 3), protocoltest.IDs(2, 3)} {
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
	digest, other := protocoltest.DigestOf("right"), protocoltest.DigestOf("wrong")
	partials := map[protocol.PartyID][]byte{1: keys[1].SignPartial(digest[:]), 3: keys[3].SignPartial(other[:])}
	_, err := group.Combine(digest[:], partials)
	if pe := protocoltest.ProtoErr(t, err); !slices.Equal(pe.Culprits, protocoltest.IDs(3)) {
		t.Fatalf("culprits %v, want [3]: %v", pe.Culprits, err)
	}
	partials[3] = bytes.Repeat([]byte{0xff}, SignatureSize)
	_, err = group.Combine(digest[:], partials)
	if pe := protocoltest.ProtoErr(t, err); !slices.Equal(pe.Culprits, protocoltest.IDs(3)) {
		t.Fatalf("malformed partial: culprits %v, want [3]: %v", pe.Culprits, err)
	}
}

func TestCombineRefusesWrongCounts(t *testing.T) {
	fx := getFixture(t, 3, 2)
	keys := loadShares(t, fx)
	group := keys[1].Group()
	d := protocoltest.DigestOf("count")
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
	if !bytes.Equal(g.PublicKey(), fx.publicKey) || g.Threshold() != 2 || !slices.Equal(g.Parties(), protocoltest.IDs(1, 2, 3)) {
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
	msg := protocoltest.DigestOf("partial")
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
	msg := protocoltest.DigestOf("combine")
	partials := map[protocol.PartyID][]byte{1: k1.SignPartial(msg[:]), 2: k2.SignPartial(msg[:])}
	g := k1.Group()
	for b.Loop() {
		if _, err := g.Combine(msg[:], partials); err != nil {
			b.Fatal(err)
		}
	}
}

func TestBatchVerifierAcceptsGoodAndRefusesBad(t *testing.T) {
	fx := getFixture(t, 3, 2)
	keys := loadShares(t, fx)
	group := keys[1].Group()
	v := NewBatchVerifier(16)
	defer v.Close()
	const n = 40
	type result struct {
		i   int
		sig []byte
		err error
	}
	results := make(chan result, n)
	for i := range n {
		go func() {
			msg := protocoltest.DigestOf(fmt.Sprintf("batch %d", i))
			signer := protocol.PartyID(2)
			partial := keys[signer].SignPartial(msg[:])
			if i%7 == 3 { // a wrong partial from party 2: blamed, and the others still pass
				other := protocoltest.DigestOf("something else")
				partial = keys[signer].SignPartial(other[:])
			}
			sig, err := group.CombineWith(v, msg[:], map[protocol.PartyID][]byte{1: keys[1].SignPartial(msg[:]), signer: partial})
			results <- result{i, sig, err}
		}()
	}
	for range n {
		r := <-results
		msg := protocoltest.DigestOf(fmt.Sprintf("batch %d", r.i))
		if r.i%7 == 3 {
			if pe := protocoltest.ProtoErr(t, r.err); !slices.Equal(pe.Culprits, protocoltest.IDs(2)) {
				t.Fatalf("request %d: culprits %v", r.i, pe.Culprits)
			}
			continue
		}
		if r.err != nil {
			t.Fatalf("request %d: %v", r.i, r.err)
		}
		gnarkVerify(t, fx.publicKey, msg, r.sig)
	}
}

// BenchmarkGroupCombineBatched is BenchmarkGroupCombine with the verification batched across
// concurrent callers.
func BenchmarkGroupCombineBatched(b *testing.B) {
	fx := getFixture(b, 3, 2)
	k1, _ := LoadKeyShare(fx.shares[1])
	k2, _ := LoadKeyShare(fx.shares[2])
	g := k1.Group()
	v := NewBatchVerifier(64)
	defer v.Close()
	const distinct = 64
	type job struct {
		msg      [32]byte
		partials map[protocol.PartyID][]byte
	}
	jobs := make([]job, distinct)
	for i := range jobs {
		jobs[i].msg = protocoltest.DigestOf(fmt.Sprintf("bench %d", i))
		jobs[i].partials = map[protocol.PartyID][]byte{1: k1.SignPartial(jobs[i].msg[:]), 2: k2.SignPartial(jobs[i].msg[:])}
	}
	var next atomic.Int64
	b.SetParallelism(32)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			j := jobs[next.Add(1)%distinct]
			if _, err := g.CombineWith(v, j.msg[:], j.partials); err != nil {
				b.Error(err)
			}
		}
	})
}
