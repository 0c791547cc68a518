package ed25519

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bytemare/ecc"
	"github.com/google/go-cmp/cmp"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/protocoltest"
)

func TestKeygenAndSign2of3(t *testing.T) {
	fx := getFixture(t, 3, 2)
	digest := protocoltest.DigestOf("2-of-3")
	seen := map[string]bool{}
	for _, signers := range combinations(fx.parties, 2) {
		sig := signOnce(t, fx, signers, digest)
		if seen[string(sig[:32])] {
			t.Fatalf("signers %v reused an R of an earlier signature", signers)
		}
		seen[string(sig[:32])] = true
	}
	checkAgainstSecret(t, fx, protocoltest.IDs(1, 3))
}

func TestKeygenAndSign3of5(t *testing.T) {
	fx := getFixture(t, 5, 3)
	sets := combinations(fx.parties, 3)
	if len(sets) != 10 {
		t.Fatalf("%d signer sets", len(sets))
	}
	for i, signers := range sets {
		signOnce(t, fx, signers, protocoltest.DigestOf(fmt.Sprintf("3-of-5 #%d", i)))
	}
	checkAgainstSecret(t, fx, protocoltest.IDs(2, 4, 5))
}

func TestKeygenOtherPartyNumbers(t *testing.T) {
	// Parties need not be 1..n: FROST identifiers are positions in the party list.
	fx := runKeygen(t, protocoltest.IDs(2, 5, 9), 2)
	for _, signers := range combinations(fx.parties, 2) {
		signOnce(t, fx, signers, protocoltest.DigestOf("2, 5, 9"))
	}
}

func TestSameDigestTwiceFreshNonces(t *testing.T) {
	fx := getFixture(t, 3, 2)
	digest := protocoltest.DigestOf("twice")
	a := signOnce(t, fx, protocoltest.IDs(1, 2), digest)
	b := signOnce(t, fx, protocoltest.IDs(1, 2), digest)
	if bytes.Equal(a[:32], b[:32]) {
		t.Fatal("two signings of one digest by one signer set share R: nonces were reused")
	}
}

// checkAgainstSecret reconstructs the secret key from the shares of parties (test only: the
// engine never does this) and checks that it is the secret key of the group key.
func checkAgainstSecret(t *testing.T, fx *keygenFixture, parties []protocol.PartyID) {
	t.Helper()
	sk := group.NewScalar()
	xs := make([]uint16, len(parties))
	for i, p := range parties {
		xs[i] = identifier(fx.parties, p)
	}
	for i, p := range parties {
		s, err := decodeShare(fx.shares[p])
		if err != nil {
			t.Fatal(err)
		}
		num, den := group.NewScalar().One(), group.NewScalar().One()
		for j, xj := range xs {
			if j != i {
				num.Multiply(scalarOf(xj))
				den.Multiply(scalarOf(xj).Subtract(scalarOf(xs[i])))
			}
		}
		sk.Add(num.Multiply(den.Invert()).Multiply(s.secret))
		s.wipe()
	}
	if pk := group.Base().Multiply(sk).Encode(); !bytes.Equal(pk, fx.publicKey) {
		t.Fatalf("sk·B from %v = %x, group key %x", parties, pk, fx.publicKey)
	}
}

func TestPublicShares(t *testing.T) {
	fx := getFixture(t, 3, 2)
	_, first, err := PublicShares(fx.shares[1])
	if err != nil {
		t.Fatal(err)
	}
	for p, enc := range fx.shares {
		gk, byParty, err := PublicShares(enc)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(gk, fx.publicKey) {
			t.Fatalf("%s: group key differs", p)
		}
		pk, err := Engine{}.PublicKey(enc)
		if err != nil || !bytes.Equal(pk, fx.publicKey) {
			t.Fatalf("%s: PublicKey = %x, %v", p, pk, err)
		}
		s, err := decodeShare(enc)
		if err != nil {
			t.Fatal(err)
		}
		if own := group.Base().Multiply(s.secret).Encode(); !bytes.Equal(own, byParty[p]) {
			t.Fatalf("%s: public share is not x·B", p)
		}
		s.wipe()
		if diff := cmp.Diff(first, byParty); diff != "" {
			t.Fatalf("%s and party 1 disagree on the public shares (-1 +%d):\n%s", p, p, diff)
		}
	}
}

// otherPoint returns a valid point of the prime-order subgroup that no run produced.
func otherPoint(k uint64) []byte {
	return group.Base().Multiply(scalarOf(uint16(k))).Encode()
}

func TestKeygenTamperedShareBlamesDealer(t *testing.T) {
	tamper := func(from, to protocol.PartyID, broadcast bool, payload []byte) []byte {
		if from == 2 && to == 1 && !broadcast {
			payload[headerSize+2] ^= 1 // still a valid scalar, but not f_2(1)
		}
		return payload
	}
	results := executeFor(t, keygenRuns(t, partiesUpTo(3), 2, newNonce(t)), tamper, protocoltest.IDs(1))
	protocoltest.WantCulprits(t, results[1], 2)
	if pe := protocoltest.ProtoErr(t, results[1].Err); pe.Round != 2 || !strings.Contains(pe.Error(), "does not match its commitments") {
		t.Fatalf("error %v", pe)
	}
}

func TestKeygenTamperedProofBlamesDealer(t *testing.T) {
	tamper := func(from, to protocol.PartyID, broadcast bool, payload []byte) []byte {
		if from == 3 && to == 1 && broadcast {
			payload[len(payload)-scalarSize] ^= 1 // the proof's z
		}
		return payload
	}
	results := executeFor(t, keygenRuns(t, partiesUpTo(3), 2, newNonce(t)), tamper, protocoltest.IDs(1))
	protocoltest.WantCulprits(t, results[1], 3)
	if pe := protocoltest.ProtoErr(t, results[1].Err); pe.Round != 1 || !strings.Contains(pe.Error(), "proof of knowledge") {
		t.Fatalf("error %v", pe)
	}
}

func TestKeygenEquivocatedCommitments(t *testing.T) {
	// Party 3 shows party 1 another C_3,1 than it shows party 2 (the proof covers C_3,0 only).
	tamper := func(from, to protocol.PartyID, broadcast bool, payload []byte) []byte {
		if from == 3 && to == 1 && broadcast {
			copy(payload[headerSize+2+elementSize:], otherPoint(7))
		}
		return payload
	}
	results := executeFor(t, keygenRuns(t, partiesUpTo(3), 2, newNonce(t)), tamper, protocoltest.IDs(1, 2))
	// Party 1 holds the evidence: 3's share does not match what 3 showed it.
	protocoltest.WantCulprits(t, results[1], 3)
	// Party 2 only sees that 1 received other commitments from 3: it cannot tell which of the
	// two lies, and blames nobody; but it makes no key.
	protocoltest.WantCulprits(t, results[2])
	if !strings.Contains(results[2].Err.Error(), "different commitments from party 3") {
		t.Fatalf("party 2: %v", results[2].Err)
	}
	if res, ok := results[3]; ok && res.Err == nil {
		t.Fatal("party 3 made a key")
	}
}

func TestKeygenNonceMismatch(t *testing.T) {
	runs := keygenRuns(t, partiesUpTo(3), 2, newNonce(t))
	r, err := Engine{}.Keygen(protocol.KeygenParams{Self: 2, Parties: partiesUpTo(3), Threshold: 2, SessionNonce: newNonce(t)})
	if err != nil {
		t.Fatal(err)
	}
	runs[2] = r
	results := execute(t, runs, nil)
	protocoltest.WantCulprits(t, results[1], 2)
	protocoltest.WantCulprits(t, results[3], 2)
	if results[2].Err == nil || !strings.Contains(results[2].Err.Error(), "another session") {
		t.Fatalf("party 2 accepted payloads of another session: %v", results[2].Err)
	}
}

func TestSignTamperedCommitment(t *testing.T) {
	// The tamper stands for signer 2 equivocating: it shows signer 1 other nonce commitments
	// than it shows everyone else.
	t.Run("2-of-3", func(t *testing.T) {
		fx := getFixture(t, 3, 2)
		tamper := func(from, to protocol.PartyID, broadcast bool, payload []byte) []byte {
			if from == 2 && to == 1 && payload[1] == kindCommitment {
				copy(payload[headerSize:], otherPoint(11))
			}
			return payload
		}
		results := executeFor(t, signRuns(t, fx.shares, protocoltest.IDs(1, 2), protocoltest.DigestOf("tampered commitment"), newNonce(t)), tamper, protocoltest.IDs(1))
		protocoltest.WantCulprits(t, results[1], 2)
	})
	t.Run("3-of-5", func(t *testing.T) {
		fx := getFixture(t, 5, 3)
		tamper := func(from, to protocol.PartyID, broadcast bool, payload []byte) []byte {
			if from == 2 && to == 1 && payload[1] == kindCommitment {
				copy(payload[headerSize+elementSize:], otherPoint(12))
			}
			return payload
		}
		results := executeFor(t, signRuns(t, fx.shares, protocoltest.IDs(1, 2, 4), protocoltest.DigestOf("tampered commitment"), newNonce(t)), tamper, protocoltest.IDs(1, 4))
		protocoltest.WantCulprits(t, results[1], 2)
		// Signer 4 sees only that 1 and 4 hold different commitments of 2: no culprit, no
		// signature.
		protocoltest.WantCulprits(t, results[4])
		if !strings.Contains(results[4].Err.Error(), "different nonce commitments from party 2") {
			t.Fatalf("signer 4: %v", results[4].Err)
		}
	})
	t.Run("not a point", func(t *testing.T) {
		fx := getFixture(t, 3, 2)
		tamper := func(from, to protocol.PartyID, broadcast bool, payload []byte) []byte {
			if from == 2 && payload[1] == kindCommitment {
				copy(payload[headerSize:], bytes.Repeat([]byte{0xff}, elementSize))
			}
			return payload
		}
		results := executeFor(t, signRuns(t, fx.shares, protocoltest.IDs(1, 2), protocoltest.DigestOf("bad point"), newNonce(t)), tamper, protocoltest.IDs(1))
		protocoltest.WantCulprits(t, results[1], 2)
	})
}

func TestSignTamperedShareBlamesSigner(t *testing.T) {
	fx := getFixture(t, 5, 3)
	tamper := func(from, to protocol.PartyID, broadcast bool, payload []byte) []byte {
		if from == 3 && payload[1] == kindSigShare {
			payload[headerSize] ^= 1 // still a valid scalar, but not z_3
		}
		return payload
	}
	results := executeFor(t, signRuns(t, fx.shares, protocoltest.IDs(1, 3, 5), protocoltest.DigestOf("tampered share"), newNonce(t)), tamper, protocoltest.IDs(1, 5))
	for _, p := range protocoltest.IDs(1, 5) {
		protocoltest.WantCulprits(t, results[p], 3)
		if pe := protocoltest.ProtoErr(t, results[p].Err); pe.Round != 2 || !strings.Contains(pe.Error(), "does not verify under its public share") {
			t.Fatalf("%s: %v", p, pe)
		}
	}
}

func TestSignTwoTamperedShares(t *testing.T) {
	fx := getFixture(t, 5, 3)
	tamper := func(from, to protocol.PartyID, broadcast bool, payload []byte) []byte {
		if (from == 3 || from == 5) && to == 1 && payload[1] == kindSigShare {
			payload[headerSize+1] ^= 1
		}
		return payload
	}
	results := executeFor(t, signRuns(t, fx.shares, protocoltest.IDs(1, 3, 5), protocoltest.DigestOf("two tampered shares"), newNonce(t)), tamper, protocoltest.IDs(1))
	protocoltest.WantCulprits(t, results[1], 3, 5)
}

func TestSignNonceMismatch(t *testing.T) {
	fx := getFixture(t, 3, 2)
	digest := protocoltest.DigestOf("nonce")
	runs := signRuns(t, fx.shares, protocoltest.IDs(1, 2), digest, newNonce(t))
	r, err := Engine{}.Sign(protocol.SignParams{Self: 2, Signers: protocoltest.IDs(1, 2), Share: fx.shares[2], Digest: digest, SessionNonce: newNonce(t)})
	if err != nil {
		t.Fatal(err)
	}
	runs[2] = r
	results := execute(t, runs, nil)
	protocoltest.WantCulprits(t, results[1], 2)
	protocoltest.WantCulprits(t, results[2], 1)
}

func TestSignDifferentDigestsFail(t *testing.T) {
	// Signers disagreeing on the digest: each sees the other's share fail.
	fx := getFixture(t, 3, 2)
	nonce := newNonce(t)
	runs := signRuns(t, fx.shares, protocoltest.IDs(1, 2), protocoltest.DigestOf("one"), nonce)
	r, err := Engine{}.Sign(protocol.SignParams{Self: 2, Signers: protocoltest.IDs(1, 2), Share: fx.shares[2], Digest: protocoltest.DigestOf("two"), SessionNonce: nonce})
	if err != nil {
		t.Fatal(err)
	}
	runs[2] = r
	results := execute(t, runs, nil)
	protocoltest.WantCulprits(t, results[1], 2)
	protocoltest.WantCulprits(t, results[2], 1)
}

// outputs starts runs and collects, per party, the payloads it emits until it has emitted
// want of them.
func outputs(t *testing.T, r protocol.Run, want int) []protocol.Outgoing {
	t.Helper()
	var out []protocol.Outgoing
	deadline := time.After(testTimeout)
	for len(out) < want {
		select {
		case o := <-r.Outgoing():
			out = append(out, o)
		case res := <-r.Done():
			t.Fatalf("%v ended early: %+v", r, res)
		case <-deadline:
			t.Fatalf("%v emitted %d payloads, want %d", r, len(out), want)
		}
	}
	return out
}

func mustHandle(t *testing.T, r protocol.Run, from protocol.PartyID, o protocol.Outgoing) {
	t.Helper()
	if err := r.Handle(from, o.Broadcast, o.Payload); err != nil {
		t.Fatalf("%v: Handle from %s: %v", r, from, err)
	}
}

func TestSignEarlySharesAreKept(t *testing.T) {
	// Signer 1 receives 2's and 3's signature shares before 3's commitments: it keeps them.
	fx := getFixture(t, 5, 3)
	digest := protocoltest.DigestOf("early shares")
	runs := signRuns(t, fx.shares, protocoltest.IDs(1, 2, 3), digest, newNonce(t))
	coms := map[protocol.PartyID]protocol.Outgoing{}
	for p, r := range runs {
		if err := r.Start(); err != nil {
			t.Fatal(err)
		}
		defer r.Abort(nil)
		coms[p] = outputs(t, r, 1)[0]
	}
	shares := map[protocol.PartyID]protocol.Outgoing{}
	for _, p := range protocoltest.IDs(2, 3) {
		for _, q := range protocoltest.IDs(1, 2, 3) {
			if q != p {
				mustHandle(t, runs[p], q, coms[q])
			}
		}
		shares[p] = outputs(t, runs[p], 1)[0]
	}
	r := runs[1]
	mustHandle(t, r, 2, coms[2])
	mustHandle(t, r, 3, shares[3])
	mustHandle(t, r, 2, shares[2])
	mustHandle(t, r, 2, shares[2]) // an identical replay is ignored
	mustHandle(t, r, 3, coms[3])
	outputs(t, r, 1) // its own share
	res := protocoltest.AwaitDone(t, r)
	if res.Err != nil || !ed25519.Verify(fx.publicKey, digest[:], res.Signature.Encoded) {
		t.Fatalf("result %+v", res)
	}
}

func TestKeygenEarlySharesAreKept(t *testing.T) {
	// Party 1 receives 2's and 3's shares before 3's round-1 broadcast: it keeps them.
	runs := keygenRuns(t, partiesUpTo(3), 2, newNonce(t))
	round1 := map[protocol.PartyID]protocol.Outgoing{}
	for p, r := range runs {
		if err := r.Start(); err != nil {
			t.Fatal(err)
		}
		defer r.Abort(nil)
		round1[p] = outputs(t, r, 1)[0]
	}
	toOne := map[protocol.PartyID]protocol.Outgoing{}
	round2 := map[protocol.PartyID][]protocol.Outgoing{}
	for _, p := range protocoltest.IDs(2, 3) {
		for _, q := range protocoltest.IDs(1, 2, 3) {
			if q != p {
				mustHandle(t, runs[p], q, round1[q])
			}
		}
		round2[p] = outputs(t, runs[p], 2)
		for _, o := range round2[p] {
			if o.To[0] == 1 {
				toOne[p] = o
			}
		}
	}
	r := runs[1]
	mustHandle(t, r, 2, round1[2])
	mustHandle(t, r, 3, toOne[3])
	mustHandle(t, r, 2, toOne[2])
	mustHandle(t, r, 2, round1[2]) // an identical replay is ignored
	mustHandle(t, r, 3, round1[3])
	own := outputs(t, r, 2)
	res := protocoltest.AwaitDone(t, r)
	if res.Err != nil || res.Keygen == nil {
		t.Fatalf("party 1: %+v", res)
	}
	// Parties 2 and 3 finish too, with the same key.
	for _, p := range protocoltest.IDs(2, 3) {
		for _, o := range own {
			if o.To[0] == p {
				mustHandle(t, runs[p], 1, o)
			}
		}
		for _, o := range round2[5-p] {
			if o.To[0] == p {
				mustHandle(t, runs[p], 5-p, o)
			}
		}
		other := protocoltest.AwaitDone(t, runs[p])
		if other.Err != nil || !bytes.Equal(other.Keygen.PublicKey, res.Keygen.PublicKey) {
			t.Fatalf("%s: %+v", p, other)
		}
	}
}

// startedSign returns party self's started signing run for signers self and other of the
// 2-of-3 key, and other's commitments and signature share for the same session.
func startedSign(t *testing.T, self, other protocol.PartyID) (r protocol.Run, commitment, sigShare []byte) {
	t.Helper()
	fx := getFixture(t, 3, 2)
	nonce, digest := newNonce(t), protocoltest.DigestOf("handle")
	runs := signRuns(t, fx.shares, protocoltest.IDs(int(self), int(other)), digest, nonce)
	// A helper run of self gives other the commitments it needs to produce its share.
	helper := signRuns(t, fx.shares, protocoltest.IDs(int(self), int(other)), digest, nonce)[self]
	for _, x := range []protocol.Run{runs[self], runs[other], helper} {
		if err := x.Start(); err != nil {
			t.Fatal(err)
		}
	}
	com := outputs(t, runs[other], 1)[0]
	if err := runs[other].Handle(self, true, outputs(t, helper, 1)[0].Payload); err != nil {
		t.Fatal(err)
	}
	share := outputs(t, runs[other], 1)[0]
	runs[other].Abort(nil)
	helper.Abort(nil)
	t.Cleanup(func() { runs[self].Abort(nil) })
	return runs[self], com.Payload, share.Payload
}

func TestHandleRejects(t *testing.T) {
	garbage := bytes.Repeat([]byte{0xff}, 200)
	oversized := make([]byte, MaxPayloadSize+1)
	// at returns a function that makes a copy of a payload with repl at off.
	at := func(off int, repl []byte) func(com, share []byte) []byte {
		return func(com, _ []byte) []byte {
			b := bytes.Clone(com)
			copy(b[off:], repl)
			return b
		}
	}
	shareAt := func(off int, repl []byte) func(com, share []byte) []byte {
		return func(_, share []byte) []byte {
			b := bytes.Clone(share)
			copy(b[off:], repl)
			return b
		}
	}
	fixed := func(b []byte) func(com, share []byte) []byte { return func(_, _ []byte) []byte { return b } }
	asIs := func(com, _ []byte) []byte { return com }
	hexBytes := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	order2 := hexBytes("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")
	withTorsion := func() []byte {
		t2 := group.NewElement()
		if err := t2.Decode(order2); err != nil {
			t.Fatal(err)
		}
		return group.Base().Multiply(scalarOf(5)).Add(t2).Encode()
	}()
	identity := append([]byte{1}, make([]byte, elementSize-1)...)
	nonCanonical := hexBytes("fcffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")
	highScalar := bytes.Repeat([]byte{0xff}, scalarSize)

	for _, tc := range []struct {
		name      string
		from      protocol.PartyID
		broadcast bool
		payload   func(com, share []byte) []byte
		culprits  []protocol.PartyID
		errSubstr string
	}{
		{"empty", 2, true, fixed(nil), protocoltest.IDs(2), "empty payload"},
		{"garbage", 2, true, fixed(garbage), protocoltest.IDs(2), "unsupported payload version"},
		{"oversized", 2, true, fixed(oversized), protocoltest.IDs(2), "too large"},
		{"truncated", 2, true, func(com, _ []byte) []byte { return com[:len(com)-1] }, protocoltest.IDs(2), "bytes"},
		{"trailing byte", 2, true, func(com, _ []byte) []byte { return append(bytes.Clone(com), 0) }, protocoltest.IDs(2), "bytes"},
		{"unknown version", 2, true, at(0, []byte{9}), protocoltest.IDs(2), "version 9"},
		{"unknown kind", 2, true, at(1, []byte{99}), protocoltest.IDs(2), "kind 99"},
		{"not a point", 2, true, at(headerSize, garbage[:elementSize]), protocoltest.IDs(2), "hiding nonce commitment"},
		{"identity", 2, true, at(headerSize, identity), protocoltest.IDs(2), "identity"},
		{"non-canonical point", 2, true, at(headerSize, nonCanonical), protocoltest.IDs(2), "non-canonical"},
		{"small-order component", 2, true, at(headerSize+elementSize, withTorsion), protocoltest.IDs(2), "prime-order subgroup"},
		{"generator", 2, true, at(headerSize, group.Base().Encode()), protocoltest.IDs(2), "generator"},
		{"names another sender", 2, true, at(headerSize-2, []byte{0, 3}), protocoltest.IDs(2), "names party 3"},
		{"sender 0", 2, true, at(headerSize-2, []byte{0, 0}), protocoltest.IDs(2), "party 0"},
		{"another session", 2, true, at(2, []byte{0xaa, 0xbb}), protocoltest.IDs(2), "another session"},
		{"point-to-point commitment", 2, false, asIs, protocoltest.IDs(2), "must be broadcast"},
		{"scalar out of range", 2, true, shareAt(headerSize, highScalar), protocoltest.IDs(2), "group order"},
		{"zero share", 2, true, shareAt(headerSize, make([]byte, scalarSize)), protocoltest.IDs(2), "zero"},
		{"from self", 1, true, asIs, nil, "this party"},
		{"from a non-participant", 3, true, asIs, nil, "not a participant"},
		{"from party 0", 0, true, asIs, nil, "not a participant"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, com, share := startedSign(t, 1, 2)
			err := r.Handle(tc.from, tc.broadcast, tc.payload(com, share))
			if err == nil {
				t.Fatal("Handle accepted the payload")
			}
			if pe := protocoltest.ProtoErr(t, err); !cmp.Equal(pe.Culprits, tc.culprits) || !strings.Contains(err.Error(), tc.errSubstr) {
				t.Fatalf("error %v (culprits %v), want %q blaming %v", err, pe.Culprits, tc.errSubstr, tc.culprits)
			}
			res := protocoltest.AwaitDone(t, r)
			if res.Err == nil || res.Err.Error() != err.Error() {
				t.Fatalf("Done: %v, Handle: %v", res.Err, err)
			}
			if err := r.Handle(2, true, com); !errors.Is(err, ErrEnded) {
				t.Fatalf("Handle after the end = %v, want ErrEnded", err)
			}
		})
	}
}

func TestSignOutOfPlacePayloads(t *testing.T) {
	nonce := make([]byte, nonceSize)
	t.Run("keygen payload in signing", func(t *testing.T) {
		r, com, _ := startedSign(t, 1, 2)
		copy(nonce, com[2:2+nonceSize])
		p := encodeDKGCommit(nonce, 2, []*ecc.Element{group.Base()}, group.Base(), scalarOf(1))
		err := r.Handle(2, true, p)
		if pe := protocoltest.ProtoErr(t, err); !cmp.Equal(pe.Culprits, protocoltest.IDs(2)) || !strings.Contains(err.Error(), "no place in signing") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("conflicting commitments", func(t *testing.T) {
		r, com, _ := startedSign(t, 1, 2)
		mustHandle(t, r, 2, protocol.Outgoing{Broadcast: true, Payload: com})
		mustHandle(t, r, 2, protocol.Outgoing{Broadcast: true, Payload: com}) // identical replay
		other := bytes.Clone(com)
		copy(other[headerSize:], otherPoint(3))
		err := r.Handle(2, true, other)
		if pe := protocoltest.ProtoErr(t, err); !cmp.Equal(pe.Culprits, protocoltest.IDs(2)) || !strings.Contains(err.Error(), "two different") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("share over another commitment of this party", func(t *testing.T) {
		r, com, share := startedSign(t, 1, 2)
		// startedSign's share was computed over a helper run's commitments for party 1, not
		// over the commitments of the run under test.
		mustHandle(t, r, 2, protocol.Outgoing{Broadcast: true, Payload: com})
		err := r.Handle(2, true, share)
		if pe := protocoltest.ProtoErr(t, err); !cmp.Equal(pe.Culprits, protocoltest.IDs(2)) || !strings.Contains(err.Error(), "commitments of this party") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("share with a list of the wrong length", func(t *testing.T) {
		r, com, share := startedSign(t, 1, 2)
		mustHandle(t, r, 2, protocol.Outgoing{Broadcast: true, Payload: com})
		short := bytes.Clone(share[:headerSize+scalarSize+2+2*elementSize])
		short[headerSize+scalarSize+1] = 1
		err := r.Handle(2, true, short)
		if pe := protocoltest.ProtoErr(t, err); !cmp.Equal(pe.Culprits, protocoltest.IDs(2)) || !strings.Contains(err.Error(), "1 nonce commitments") {
			t.Fatalf("error %v", err)
		}
	})
}

func TestKeygenHandleRejects(t *testing.T) {
	start := func(t *testing.T) (map[protocol.PartyID]protocol.Run, map[protocol.PartyID]protocol.Outgoing) {
		runs := keygenRuns(t, partiesUpTo(3), 2, newNonce(t))
		round1 := map[protocol.PartyID]protocol.Outgoing{}
		for p, r := range runs {
			if err := r.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Abort(nil) })
			round1[p] = outputs(t, r, 1)[0]
		}
		return runs, round1
	}
	t.Run("share for another party", func(t *testing.T) {
		runs, round1 := start(t)
		for _, q := range protocoltest.IDs(1, 3) {
			mustHandle(t, runs[2], q, round1[q])
		}
		var forThree []byte
		for _, o := range outputs(t, runs[2], 2) {
			if o.To[0] == 3 {
				forThree = o.Payload
			}
		}
		r := runs[1]
		mustHandle(t, r, 2, round1[2])
		err := r.Handle(2, false, forThree)
		if pe := protocoltest.ProtoErr(t, err); !cmp.Equal(pe.Culprits, protocoltest.IDs(2)) || !strings.Contains(err.Error(), "addressed to party 3") {
			t.Fatalf("share for another party: %v", err)
		}
		secret := forThree[headerSize+2 : headerSize+2+scalarSize]
		if strings.Contains(err.Error(), string(secret)) || strings.Contains(err.Error(), hex.EncodeToString(secret)) {
			t.Fatal("error quotes the share")
		}
		protocoltest.WantCulprits(t, protocoltest.AwaitDone(t, r), 2)
	})
	t.Run("conflicting commitments", func(t *testing.T) {
		runs, round1 := start(t)
		r := runs[1]
		mustHandle(t, r, 3, round1[3])
		mustHandle(t, r, 3, round1[3]) // identical replay
		other := bytes.Clone(round1[3].Payload)
		copy(other[headerSize+2:], otherPoint(5))
		protocoltest.WantCulprits(t, protocol.Result{Err: r.Handle(3, true, other)}, 3)
	})
	t.Run("wrong number of commitments", func(t *testing.T) {
		runs, round1 := start(t)
		m, err := decodePayload(round1[3].Payload)
		if err != nil {
			t.Fatal(err)
		}
		three := encodeDKGCommit(m.nonce[:], 3, append(m.commitments, group.Base().Multiply(scalarOf(9))), m.proofR, m.proofZ)
		err = runs[1].Handle(3, true, three)
		if pe := protocoltest.ProtoErr(t, err); !cmp.Equal(pe.Culprits, protocoltest.IDs(3)) || !strings.Contains(err.Error(), "3 commitments") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("signing payload in keygen", func(t *testing.T) {
		runs, round1 := start(t)
		p := encodeCommitment(round1[2].Payload[2:2+nonceSize], 2, group.Base(), group.Base())
		err := runs[1].Handle(2, true, p)
		if pe := protocoltest.ProtoErr(t, err); !cmp.Equal(pe.Culprits, protocoltest.IDs(2)) || !strings.Contains(err.Error(), "no place in keygen") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("broadcast share", func(t *testing.T) {
		runs, round1 := start(t)
		for _, q := range protocoltest.IDs(1, 3) {
			mustHandle(t, runs[2], q, round1[q])
		}
		o := outputs(t, runs[2], 1)[0]
		err := runs[o.To[0]].Handle(2, true, o.Payload)
		if pe := protocoltest.ProtoErr(t, err); !cmp.Equal(pe.Culprits, protocoltest.IDs(2)) || !strings.Contains(err.Error(), "must be point-to-point") {
			t.Fatalf("error %v", err)
		}
	})
}

func TestDoneWaitsForOutgoing(t *testing.T) {
	fx := getFixture(t, 3, 2)
	digest := protocoltest.DigestOf("ordering")
	runs := signRuns(t, fx.shares, protocoltest.IDs(1, 3), digest, newNonce(t))
	for _, r := range runs {
		if err := r.Start(); err != nil {
			t.Fatal(err)
		}
		defer r.Abort(nil)
	}
	com1, com3 := outputs(t, runs[1], 1)[0], outputs(t, runs[3], 1)[0]
	mustHandle(t, runs[3], 1, com1)
	share3 := outputs(t, runs[3], 1)[0]
	r := runs[1]
	mustHandle(t, r, 3, com3)
	mustHandle(t, r, 3, share3)
	select {
	case res := <-r.Done():
		t.Fatalf("Done yielded %+v before the own share was taken from Outgoing", res)
	case <-time.After(100 * time.Millisecond):
	}
	<-r.Outgoing()
	res := protocoltest.AwaitDone(t, r)
	if res.Err != nil || res.Signature == nil || !ed25519.Verify(fx.publicKey, digest[:], res.Signature.Encoded) {
		t.Fatalf("result %+v", res)
	}
}

func TestAbort(t *testing.T) {
	t.Run("before Start", func(t *testing.T) {
		r := keygenRuns(t, partiesUpTo(3), 2, newNonce(t))[1]
		r.Abort(nil)
		r.Abort(errors.New("again"))
		protocoltest.CheckAbortedOnce(t, r, "keygen")
		if err := r.Start(); !errors.Is(err, ErrEnded) {
			t.Fatalf("Start after Abort = %v", err)
		}
	})
	t.Run("with undelivered payloads", func(t *testing.T) {
		r := keygenRuns(t, partiesUpTo(3), 2, newNonce(t))[1]
		if err := r.Start(); err != nil {
			t.Fatal(err)
		}
		cause := errors.New("timeout")
		r.Abort(cause)
		res := protocoltest.CheckAbortedOnce(t, r, "keygen")
		if !errors.Is(res.Err, cause) {
			t.Fatalf("result %v does not wrap the cause", res.Err)
		}
		select {
		case o := <-r.Outgoing():
			t.Fatalf("Outgoing yielded %+v after Done", o)
		case <-time.After(50 * time.Millisecond):
		}
		if err := r.Handle(2, true, []byte{1}); !errors.Is(err, ErrEnded) {
			t.Fatalf("Handle after Abort = %v", err)
		}
	})
	t.Run("signing between the rounds wipes the nonces", func(t *testing.T) {
		fx := getFixture(t, 3, 2)
		run := signRuns(t, fx.shares, protocoltest.IDs(1, 2), protocoltest.DigestOf("abort"), newNonce(t))[1]
		if err := run.Start(); err != nil {
			t.Fatal(err)
		}
		sr := run.(*signRun)
		sr.Mu.Lock()
		nonces := sr.signer.NonceCommitments[sr.commitmentID]
		sr.Mu.Unlock()
		if nonces == nil || nonces.HidingNonce.IsZero() {
			t.Fatal("no nonces after Start")
		}
		hiding, binding := nonces.HidingNonce, nonces.BindingNonce
		run.Abort(errors.New("host gave up"))
		protocoltest.CheckAbortedOnce(t, run, "sign")
		if !hiding.IsZero() || !binding.IsZero() || len(sr.signer.NonceCommitments) != 0 || !sr.key.secret.IsZero() {
			t.Fatal("Abort left a nonce or the key share in memory")
		}
	})
}

func TestSignWipesNoncesAndKey(t *testing.T) {
	fx := getFixture(t, 3, 2)
	runs := signRuns(t, fx.shares, protocoltest.IDs(2, 3), protocoltest.DigestOf("wipe"), newNonce(t))
	results := execute(t, runs, nil)
	for p, r := range runs {
		if results[p].Err != nil {
			t.Fatal(results[p].Err)
		}
		sr := r.(*signRun)
		if len(sr.signer.NonceCommitments) != 0 || !sr.key.secret.IsZero() {
			t.Fatalf("%s: nonces or key share left after the run", p)
		}
	}
}

func TestHandleBeforeStart(t *testing.T) {
	r := keygenRuns(t, partiesUpTo(3), 2, newNonce(t))[1]
	if err := r.Handle(2, true, []byte{1}); err == nil {
		t.Fatal("Handle before Start succeeded")
	}
	if res := protocoltest.AwaitDone(t, r); res.Err == nil {
		t.Fatal("no failure on Done")
	}
}

func TestConcurrentRuns(t *testing.T) {
	// bytemare/frost shares its hash state process-wide: many runs at once must still make
	// valid, distinct signatures (and the race detector must stay quiet).
	fx := getFixture(t, 3, 2)
	var wg sync.WaitGroup
	sigs := make([][]byte, 12)
	for i := range sigs {
		wg.Go(func() {
			sigs[i] = signOnce(t, fx, combinations(fx.parties, 2)[i%3], protocoltest.DigestOf("concurrent"))
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, s := range sigs {
		if seen[string(s[:32])] {
			t.Fatal("two concurrent runs produced the same R")
		}
		seen[string(s[:32])] = true
	}
}

func TestParamsValidation(t *testing.T) {
	fx := getFixture(t, 3, 2)
	nonce := newNonce(t)
	for _, tc := range []struct {
		name string
		p    protocol.KeygenParams
	}{
		{"short nonce", protocol.KeygenParams{Self: 1, Parties: protocoltest.IDs(1, 2, 3), Threshold: 2, SessionNonce: nonce[:31]}},
		{"threshold 1", protocol.KeygenParams{Self: 1, Parties: protocoltest.IDs(1, 2, 3), Threshold: 1, SessionNonce: nonce}},
		{"threshold above n", protocol.KeygenParams{Self: 1, Parties: protocoltest.IDs(1, 2, 3), Threshold: 4, SessionNonce: nonce}},
		{"self missing", protocol.KeygenParams{Self: 4, Parties: protocoltest.IDs(1, 2, 3), Threshold: 2, SessionNonce: nonce}},
		{"party 0", protocol.KeygenParams{Self: 1, Parties: protocoltest.IDs(0, 1, 2), Threshold: 2, SessionNonce: nonce}},
		{"repeated party", protocol.KeygenParams{Self: 1, Parties: protocoltest.IDs(1, 2, 2), Threshold: 2, SessionNonce: nonce}},
		{"one party", protocol.KeygenParams{Self: 1, Parties: protocoltest.IDs(1), Threshold: 1, SessionNonce: nonce}},
		{"pre-params", protocol.KeygenParams{Self: 1, Parties: protocoltest.IDs(1, 2, 3), Threshold: 2, SessionNonce: nonce, PreParams: []byte{1}}},
	} {
		if _, err := (Engine{}).Keygen(tc.p); err == nil {
			t.Errorf("Keygen %s: no error", tc.name)
		}
	}
	imp := &protocol.ImportParams{Dealer: 1, Secret: make([]byte, 32), PublicKey: fx.publicKey}
	if _, err := (Engine{}).Keygen(protocol.KeygenParams{Self: 1, Parties: protocoltest.IDs(1, 2, 3), Threshold: 2, SessionNonce: nonce, Import: imp}); !errors.Is(err, errImport) || !strings.Contains(err.Error(), "not supported") {
		t.Errorf("Keygen with Import: %v", err)
	}
	d := protocoltest.DigestOf("params")
	for _, tc := range []struct {
		name string
		p    protocol.SignParams
	}{
		{"short nonce", protocol.SignParams{Self: 1, Signers: protocoltest.IDs(1, 2), Share: fx.shares[1], Digest: d, SessionNonce: nonce[:1]}},
		{"too few signers", protocol.SignParams{Self: 1, Signers: protocoltest.IDs(1), Share: fx.shares[1], Digest: d, SessionNonce: nonce}},
		{"too many signers", protocol.SignParams{Self: 1, Signers: protocoltest.IDs(1, 2, 3), Share: fx.shares[1], Digest: d, SessionNonce: nonce}},
		{"self not a signer", protocol.SignParams{Self: 1, Signers: protocoltest.IDs(2, 3), Share: fx.shares[1], Digest: d, SessionNonce: nonce}},
		{"share of another party", protocol.SignParams{Self: 1, Signers: protocoltest.IDs(1, 2), Share: fx.shares[2], Digest: d, SessionNonce: nonce}},
		{"signer without a share", protocol.SignParams{Self: 1, Signers: protocoltest.IDs(1, 4), Share: fx.shares[1], Digest: d, SessionNonce: nonce}},
		{"repeated signer", protocol.SignParams{Self: 1, Signers: protocoltest.IDs(1, 1), Share: fx.shares[1], Digest: d, SessionNonce: nonce}},
		{"no share", protocol.SignParams{Self: 1, Signers: protocoltest.IDs(1, 2), Digest: d, SessionNonce: nonce}},
	} {
		if _, err := (Engine{}).Sign(tc.p); err == nil {
			t.Errorf("Sign %s: no error", tc.name)
		}
	}
}

func TestEngineBasics(t *testing.T) {
	e := Engine{}
	if e.Scheme() != protocol.SchemeEd25519 || e.NeedsPreParams() {
		t.Fatal("wrong scheme or pre-params")
	}
	if s, err := protocol.ParseScheme("ed25519"); err != nil || s != protocol.SchemeEd25519 {
		t.Fatalf("ParseScheme: %v, %v", s, err)
	}
	if pp, err := e.GeneratePreParams(t.Context()); pp != nil || err != nil {
		t.Fatalf("GeneratePreParams = %v, %v", pp, err)
	}
	if _, err := e.PublicKey([]byte("{}")); err == nil {
		t.Fatal("PublicKey of garbage")
	}
}

func TestSignMessage(t *testing.T) {
	fx := getFixture(t, 3, 2)
	signers := protocoltest.IDs(1, 3)
	for _, size := range []int{0, 1, 33, 1232, protocol.MaxMessageBytes} {
		msg := bytes.Repeat([]byte{byte(size)}, size)
		if size == 0 {
			msg = []byte{} // empty, not nil: nil would mean "sign the digest"
		}
		runs := make(map[protocol.PartyID]protocol.Run, len(signers))
		nonce := newNonce(t)
		for _, p := range signers {
			r, err := Engine{}.Sign(protocol.SignParams{Self: p, Signers: signers, Share: fx.shares[p], Message: msg, SessionNonce: nonce})
			if err != nil {
				t.Fatalf("Sign(%s) of %d bytes: %v", p, size, err)
			}
			runs[p] = r
		}
		for p, res := range execute(t, runs, nil) {
			if res.Err != nil || res.Signature == nil {
				t.Fatalf("sign %d bytes: %s: %+v", size, p, res)
			}
			if !ed25519.Verify(fx.publicKey, msg, res.Signature.Encoded) {
				t.Fatalf("sign %d bytes: crypto/ed25519 refuses %s's signature over the message", size, p)
			}
		}
	}
	_, err := Engine{}.Sign(protocol.SignParams{Self: 1, Signers: signers, Share: fx.shares[1], Message: make([]byte, protocol.MaxMessageBytes+1), SessionNonce: newNonce(t)})
	if err == nil || !strings.Contains(err.Error(), "at most") {
		t.Fatalf("an oversized message: err = %v", err)
	}
}
