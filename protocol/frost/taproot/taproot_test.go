package taproot

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/protocoltest"
)

// combinations returns every k-subset of parties 1..n, in lexicographic order.
func combinations(n, k int) [][]protocol.PartyID {
	var out [][]protocol.PartyID
	var rec func(start int, cur []protocol.PartyID)
	rec = func(start int, cur []protocol.PartyID) {
		if len(cur) == k {
			out = append(out, append([]protocol.PartyID(nil), cur...))
			return
		}
		for p := start; p <= n; p++ {
			rec(p+1, append(cur, protocol.PartyID(p)))
		}
	}
	rec(1, nil)
	return out
}

// checkKeygenSign signs with every signer set of the fixture's key and verifies every
// signature with btcec under the output key and under the BIP86 tweak of the internal key
// computed by hand.
func checkKeygenSign(t *testing.T, n, threshold int) {
	fx := getFixture(t, n, threshold)
	internal, err := InternalKey(fx.shares[1])
	if err != nil {
		t.Fatal(err)
	}
	if want := bip86ByHand(t, internal); !bytes.Equal(fx.publicKey, want) {
		t.Fatalf("keygen reported %x, the BIP86 output key of internal key %x is %x", fx.publicKey, internal, want)
	}
	for _, signers := range combinations(n, threshold) {
		digest := sha256.Sum256([]byte(fmt.Sprint("signed by ", signers)))
		sig := signOnce(t, fx, signers, digest)
		if len(sig) != SignatureSize {
			t.Fatalf("signers %v: %d-byte signature", signers, len(sig))
		}
		btcecVerify(t, fx.publicKey, digest, sig)
		// The same signature must not verify under the internal key: the tweak is applied.
		if pk, _ := schnorr.ParsePubKey(internal); pk != nil {
			if s, _ := schnorr.ParseSignature(sig); s != nil && s.Verify(digest[:], pk) {
				t.Fatalf("signers %v: signature verifies under the untweaked internal key", signers)
			}
		}
	}
}

func TestKeygenAndSign2of3(t *testing.T) { checkKeygenSign(t, 3, 2) }

func TestKeygenAndSign3of5(t *testing.T) { checkKeygenSign(t, 5, 3) }

// TestBIP86 shows what the wrapped library's key is and that the engine's key and signatures
// are exactly BIP86's for the internal key. The library's keygen key is the plain (even-y)
// group key, the internal key; the engine's output key is its BIP86 tweak; and a single-key
// BIP340 signer holding BIP341's tweaked secret key (taproot_tweak_seckey) makes signatures
// under the same output key.
func TestBIP86(t *testing.T) {
	for _, tc := range []struct{ n, threshold int }{{3, 2}, {5, 3}} {
		fx := getFixture(t, tc.n, tc.threshold)
		internal, err := InternalKey(fx.shares[1])
		if err != nil {
			t.Fatal(err)
		}
		// The secret key of the internal key, from any t shares.
		x := reconstructSecret(t, fx, combinations(tc.n, tc.threshold)[1])
		X := mulBase(x)
		if !hasEvenY(X) || !bytes.Equal(xOnly(X), internal) {
			t.Fatalf("%d-of-%d: the shares are not shares of the (even-y) internal key", tc.threshold, tc.n)
		}
		if bytes.Equal(internal, fx.publicKey) {
			t.Fatal("the output key is the internal key: no tweak was applied")
		}
		want := bip86ByHand(t, internal)
		if !bytes.Equal(fx.publicKey, want) {
			t.Fatalf("output key %x, BIP86 says %x", fx.publicKey, want)
		}
		for p, enc := range fx.shares {
			pk, err := Engine{}.PublicKey(enc)
			if err != nil || !bytes.Equal(pk, want) {
				t.Fatalf("%s: PublicKey = %x, %v", p, pk, err)
			}
			if in, err := InternalKey(enc); err != nil || !bytes.Equal(in, internal) {
				t.Fatalf("%s: InternalKey = %x, %v", p, in, err)
			}
		}
		// BIP341 taproot_tweak_seckey: d = (x if has_even_y(X) else n-x) + t.
		var tweak btcec.ModNScalar
		h := taggedHash("TapTweak", internal)
		tweak.SetByteSlice(h)
		d := new(btcec.ModNScalar).Set(x).Add(&tweak)
		priv := btcec.PrivKeyFromScalar(d)
		if got := schnorr.SerializePubKey(priv.PubKey()); !bytes.Equal(got, want) {
			t.Fatalf("the tweaked secret key's x-only key %x, want %x", got, want)
		}
		digest := protocoltest.DigestOf("bip86")
		single, err := schnorr.Sign(priv, digest[:])
		if err != nil {
			t.Fatal(err)
		}
		btcecVerify(t, fx.publicKey, digest, single.Serialize())
		threshold := signOnce(t, fx, combinations(tc.n, tc.threshold)[0], digest)
		btcecVerify(t, want, digest, threshold)
	}
}

// TestFreshNonces signs one digest twice with the same signers: the nonces (and so R and
// the signatures) differ, even when the caller (wrongly) reuses a session nonce.
func TestFreshNonces(t *testing.T) {
	fx := getFixture(t, 3, 2)
	digest := protocoltest.DigestOf("same digest")
	nonce := newNonce(t)
	var rs [][]byte
	for range 3 {
		results := execute(t, signRuns(t, fx.shares, protocoltest.IDs(1, 2), digest, nonce), nil)
		res := results[1]
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		btcecVerify(t, fx.publicKey, digest, res.Signature.Encoded)
		rs = append(rs, res.Signature.Encoded[:32])
	}
	if bytes.Equal(rs[0], rs[1]) || bytes.Equal(rs[1], rs[2]) || bytes.Equal(rs[0], rs[2]) {
		t.Fatal("two signings of one digest used the same R")
	}
}

// responseTamper replaces the signature share of party bad, for every recipient, with another
// valid scalar.
func responseTamper(bad protocol.PartyID) tamperFunc {
	return func(from, to protocol.PartyID, broadcast bool, payload []byte) []byte {
		if from == bad && payload[1] == kindSigShare {
			copy(payload[len(payload)-scalarSize:], scalarOf(12345))
		}
		return payload
	}
}

// TestSignBadResponseBlamesSigner tampers with one signer's signature share: every other
// signer blames it and reports no signature, with two signers (where the share is checked only
// once the signature fails) and with three.
func TestSignBadResponseBlamesSigner(t *testing.T) {
	for _, tc := range []struct {
		n, threshold int
		signers      []protocol.PartyID
		bad          protocol.PartyID
	}{
		{3, 2, protocoltest.IDs(1, 3), 3},
		{5, 3, protocoltest.IDs(1, 2, 4), 4},
	} {
		t.Run(fmt.Sprintf("%d-of-%d", tc.threshold, tc.n), func(t *testing.T) {
			fx := getFixture(t, tc.n, tc.threshold)
			results := execute(t, signRuns(t, fx.shares, tc.signers, protocoltest.DigestOf("bad share"), newNonce(t)), responseTamper(tc.bad))
			for _, p := range tc.signers {
				if p == tc.bad {
					if res := results[p]; res.Err != nil || res.Signature == nil {
						t.Fatalf("the tampered signer's own run (which got genuine shares): %+v", res)
					}
					continue
				}
				pe := protocoltest.WantCulprits(t, results[p], tc.bad)
				if pe.Round != 2 || !strings.Contains(pe.Error(), "does not verify under its public share") {
					t.Fatalf("%s: %v", p, pe)
				}
			}
		})
	}
}

// TestBothParitiesOfR signs until the group commitment R has had an even y and an odd y (each
// has probability 1/2 per signing): the odd case, where every signer negates its nonce
// contribution, must verify like the even one.
func TestBothParitiesOfR(t *testing.T) {
	fx := getFixture(t, 5, 3)
	seen := map[bool]int{}
	for i := 0; i < 64 && (seen[true] == 0 || seen[false] == 0); i++ {
		digest := protocoltest.DigestOf(fmt.Sprint("parity ", i))
		runs := signRuns(t, fx.shares, protocoltest.IDs(2, 3, 5), digest, newNonce(t))
		for p, res := range execute(t, runs, nil) {
			if res.Err != nil {
				t.Fatalf("%s: %v", p, res.Err)
			}
			btcecVerify(t, fx.publicKey, digest, res.Signature.Encoded)
		}
		r := runs[2].(*signRun)
		r.Mu.Lock()
		seen[r.session.negate]++
		r.Mu.Unlock()
	}
	if seen[true] == 0 || seen[false] == 0 {
		t.Fatalf("R's parity in 64 signings: %v", seen)
	}
}

func TestSignInconsistentCommitmentBlamesSigner(t *testing.T) {
	// Party 2 shows every other signer the same nonce commitment D, which is not the one it
	// signs with, and claims their commitment list as its own (it sends their list digest):
	// every other signer sees its signature share fail and blames it. (Party 2's run, which saw
	// its real D, finds the others' list digests differ from its own and blames no one.)
	fx := getFixture(t, 5, 3)
	var (
		once     sync.Once
		view     []byte
		haveView = make(chan struct{})
	)
	tamper := func(from, to protocol.PartyID, broadcast bool, payload []byte) []byte {
		switch {
		case from == 2 && payload[1] == kindNonceCommit:
			copy(payload[headerSize:], pointOf(777))
		case from == 1 && payload[1] == kindSigShare:
			once.Do(func() {
				view = bytes.Clone(payload[headerSize : headerSize+listDigestSize])
				close(haveView)
			})
		case from == 2 && payload[1] == kindSigShare:
			select {
			case <-haveView:
				copy(payload[headerSize:], view)
			case <-time.After(testTimeout):
			}
		}
		return payload
	}
	results := execute(t, signRuns(t, fx.shares, protocoltest.IDs(1, 2, 3), protocoltest.DigestOf("bad commitment"), newNonce(t)), tamper)
	for _, p := range protocoltest.IDs(1, 3) {
		pe := protocoltest.WantCulprits(t, results[p], 2)
		if pe.Round != 2 || !strings.Contains(pe.Error(), "does not verify under its public share") {
			t.Fatalf("%s: %v", p, pe)
		}
	}
	protocoltest.WantCulprits(t, results[2])
}

func TestSignLieAboutOwnCommitmentIsNotAttributed(t *testing.T) {
	// As above, but party 2 reports its true view: the others only see that views differ.
	fx := getFixture(t, 3, 2)
	tamper := func(from, to protocol.PartyID, broadcast bool, payload []byte) []byte {
		if from == 2 && payload[1] == kindNonceCommit {
			copy(payload[headerSize:], pointOf(777))
		}
		return payload
	}
	results := execute(t, signRuns(t, fx.shares, protocoltest.IDs(1, 2), protocoltest.DigestOf("lie"), newNonce(t)), tamper)
	for _, p := range protocoltest.IDs(1, 2) {
		if pe := protocoltest.WantCulprits(t, results[p]); !strings.Contains(pe.Error(), "equivocated") {
			t.Fatalf("%s: %v", p, pe)
		}
	}
}

func TestSignEquivocationIsNotAttributed(t *testing.T) {
	// Party 2 shows party 1 another nonce commitment than the one it shows party 3. The
	// library's round-2 check ("views" of round 1) catches it, but no party can tell whether
	// party 2 equivocated or the party reporting another view lies, so no one is blamed.
	fx := getFixture(t, 5, 3)
	tamper := func(from, to protocol.PartyID, broadcast bool, payload []byte) []byte {
		if from == 2 && to == 1 && payload[1] == kindNonceCommit {
			copy(payload[headerSize:], pointOf(777))
		}
		return payload
	}
	results := execute(t, signRuns(t, fx.shares, protocoltest.IDs(1, 2, 3), protocoltest.DigestOf("equivocation"), newNonce(t)), tamper)
	for _, p := range protocoltest.IDs(1, 2, 3) {
		pe := protocoltest.WantCulprits(t, results[p])
		if pe.Round != 2 || !strings.Contains(pe.Error(), "equivocated") {
			t.Fatalf("%s: %v", p, pe)
		}
	}
}

func TestKeygenWrongShareBlamesDealer(t *testing.T) {
	tamper := func(from, to protocol.PartyID, broadcast bool, payload []byte) []byte {
		if from == 2 && to == 1 && payload[1] == kindKeygenShare {
			copy(payload[len(payload)-scalarSize:], scalarOf(99)) // a valid scalar, not f_2(1)
		}
		return payload
	}
	results := execute(t, keygenRuns(t, 3, 2, newNonce(t)), tamper)
	pe := protocoltest.WantCulprits(t, results[1], 2)
	if !strings.Contains(pe.Error(), "VSS failed") {
		t.Fatalf("error: %v", pe)
	}
}

func TestKeygenBadProofBlamesDealer(t *testing.T) {
	tamper := func(from, to protocol.PartyID, broadcast bool, payload []byte) []byte {
		if from == 3 && payload[1] == kindKeygenCommit {
			// The proof response, just before the 64-byte chaining-value commitment.
			copy(payload[len(payload)-hashSize-scalarSize:], scalarOf(5))
		}
		return payload
	}
	results := executeUntil(t, keygenRuns(t, 3, 2, newNonce(t)), tamper, protocoltest.IDs(1, 2))
	for _, p := range protocoltest.IDs(1, 2) {
		pe := protocoltest.WantCulprits(t, results[p], 3)
		if !strings.Contains(pe.Error(), "Schnorr proof") {
			t.Fatalf("%s: %v", p, pe)
		}
	}
}

func TestKeygenWrongDegreeBlamesDealer(t *testing.T) {
	// Party 2 commits to a polynomial of degree 2 in a 2-of-3 keygen. (The library itself
	// would accept the commitment and then panic when adding polynomials of different degrees.)
	tamper := func(from, to protocol.PartyID, broadcast bool, payload []byte) []byte {
		if from == 2 && payload[1] == kindKeygenCommit {
			body := payload[headerSize:]
			count := binary.BigEndian.Uint16(body)
			out := append([]byte(nil), payload[:headerSize]...)
			out = binary.BigEndian.AppendUint16(out, count+1)
			out = append(out, body[2:2+int(count)*pointSize]...)
			out = append(out, pointOf(3)...)
			return append(out, body[2+int(count)*pointSize:]...)
		}
		return payload
	}
	results := executeUntil(t, keygenRuns(t, 3, 2, newNonce(t)), tamper, protocoltest.IDs(1, 3))
	for _, p := range protocoltest.IDs(1, 3) {
		pe := protocoltest.WantCulprits(t, results[p], 2)
		if !strings.Contains(pe.Error(), "3 coefficients") {
			t.Fatalf("%s: %v", p, pe)
		}
	}
}

func TestKeygenNonceMismatch(t *testing.T) {
	runs := keygenRuns(t, 3, 2, newNonce(t))
	r, err := Engine{}.Keygen(protocol.KeygenParams{Self: 2, Parties: protocoltest.IDs(1, 2, 3), Threshold: 2, SessionNonce: newNonce(t)})
	if err != nil {
		t.Fatal(err)
	}
	runs[2] = r
	results := execute(t, runs, nil)
	protocoltest.WantCulprits(t, results[1], 2)
	protocoltest.WantCulprits(t, results[3], 2)
	if results[2].Err == nil {
		t.Fatal("party 2 accepted payloads of another session")
	}
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
	pe := protocoltest.WantCulprits(t, results[1], 2)
	if !strings.Contains(pe.Error(), "another session") {
		t.Fatalf("error: %v", pe)
	}
	protocoltest.WantCulprits(t, results[2], 1)
}

func TestSignDifferentDigestsFail(t *testing.T) {
	// Signers disagreeing on the digest: each sees the other's signature share fail.
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

// startedSign returns party self's started signing run for signers self and other of the
// 2-of-3 key, and other's round-1 payload for the same session. Party other's run is aborted.
func startedSign(t *testing.T, self, other protocol.PartyID) (protocol.Run, []byte) {
	t.Helper()
	fx := getFixture(t, 3, 2)
	nonce, digest := newNonce(t), protocoltest.DigestOf("handle")
	runs := signRuns(t, fx.shares, protocoltest.IDs(int(min(self, other)), int(max(self, other))), digest, nonce)
	for _, r := range runs {
		if err := r.Start(); err != nil {
			t.Fatal(err)
		}
	}
	o := nextPayload(t, runs[other])
	runs[other].Abort(nil)
	t.Cleanup(func() { runs[self].Abort(nil) })
	return runs[self], o.Payload
}

func TestHandleRejects(t *testing.T) {
	valid := func() []byte { _, p := startedSign(t, 1, 2); return p }()
	garbage := bytes.Repeat([]byte{0xff}, 200)
	oversized := make([]byte, MaxPayloadSize+1)
	truncated := valid[:len(valid)-1]
	trailing := append(bytes.Clone(valid), 0)
	badVersion := bytes.Clone(valid)
	badVersion[0] = 9
	badKind := bytes.Clone(valid)
	badKind[1] = 99
	badRound := bytes.Clone(valid)
	badRound[2] = 2
	badPrefix := bytes.Clone(valid)
	badPrefix[headerSize] = 0x04
	notOnCurve := bytes.Clone(valid)
	copy(notOnCurve[headerSize+1:], bytes.Repeat([]byte{0xff}, 32)) // x >= p
	wrongSender := bytes.Clone(valid)
	wrongSender[headerSize-1] = 3
	keygenPayload := (&message{kind: kindKeygenReveal, nonce: [32]byte(valid[3 : 3+nonceSize]), from: 2, view: make([]byte, viewSize), chainKey: scalarOf(1), decommitment: scalarOf(2)}).encode()

	for _, tc := range []struct {
		name      string
		from      protocol.PartyID
		broadcast bool
		payload   []byte
		culprits  []protocol.PartyID
	}{
		{"empty", 2, true, nil, protocoltest.IDs(2)},
		{"garbage", 2, true, garbage, protocoltest.IDs(2)},
		{"oversized", 2, true, oversized, protocoltest.IDs(2)},
		{"truncated", 2, true, truncated, protocoltest.IDs(2)},
		{"trailing byte", 2, true, trailing, protocoltest.IDs(2)},
		{"unknown version", 2, true, badVersion, protocoltest.IDs(2)},
		{"unknown kind", 2, true, badKind, protocoltest.IDs(2)},
		{"wrong round", 2, true, badRound, protocoltest.IDs(2)},
		{"point prefix", 2, true, badPrefix, protocoltest.IDs(2)},
		{"point not on the curve", 2, true, notOnCurve, protocoltest.IDs(2)},
		{"names another sender", 2, true, wrongSender, protocoltest.IDs(2)},
		{"point-to-point commitment", 2, false, valid, protocoltest.IDs(2)},
		{"keygen payload in signing", 2, true, keygenPayload, protocoltest.IDs(2)},
		{"from self", 1, true, valid, nil},
		{"from a non-participant", 3, true, valid, nil},
		{"from party 0", 0, true, valid, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := startedSign(t, 1, 2)
			err := r.Handle(tc.from, tc.broadcast, tc.payload)
			if err == nil {
				t.Fatal("Handle accepted the payload")
			}
			pe := protocoltest.ProtoErr(t, err)
			if len(pe.Culprits) != len(tc.culprits) || (len(tc.culprits) > 0 && pe.Culprits[0] != tc.culprits[0]) {
				t.Fatalf("culprits %v, want %v (%v)", pe.Culprits, tc.culprits, err)
			}
			res := protocoltest.AwaitDone(t, r)
			if res.Err == nil || res.Err.Error() != err.Error() {
				t.Fatalf("Done: %v, Handle: %v", res.Err, err)
			}
			if err := r.Handle(2, true, valid); !errors.Is(err, ErrEnded) {
				t.Fatalf("Handle after the end = %v, want ErrEnded", err)
			}
		})
	}
}

func TestSignReplayAndConflict(t *testing.T) {
	r, valid := startedSign(t, 1, 2)
	if err := r.Handle(2, true, valid); err != nil {
		t.Fatal(err)
	}
	if err := r.Handle(2, true, valid); err != nil {
		t.Fatalf("an identical replay is not an error: %v", err)
	}
	other := bytes.Clone(valid)
	copy(other[headerSize:], pointOf(5))
	pe := protocoltest.WantCulprits(t, protocol.Result{Err: r.Handle(2, true, other)}, 2)
	if !strings.Contains(pe.Error(), "two different") {
		t.Fatalf("error: %v", pe)
	}
}

func TestKeygenHandleRejects(t *testing.T) {
	runs := keygenRuns(t, 3, 2, newNonce(t))
	for _, r := range runs {
		if err := r.Start(); err != nil {
			t.Fatal(err)
		}
	}
	defer func() {
		for _, r := range runs {
			r.Abort(nil)
		}
	}()
	// Party 2's round-1 commitments; then, once it has party 1's and 3's, its share for 3.
	commit2 := nextPayload(t, runs[2]).Payload
	commit1 := nextPayload(t, runs[1]).Payload
	commit3 := nextPayload(t, runs[3]).Payload
	if err := runs[2].Handle(1, true, commit1); err != nil {
		t.Fatal(err)
	}
	if err := runs[2].Handle(3, true, commit3); err != nil {
		t.Fatal(err)
	}
	var shareFor3 []byte
	for shareFor3 == nil {
		if o := nextPayload(t, runs[2]); !o.Broadcast && o.To[0] == 3 {
			shareFor3 = o.Payload
		}
	}
	r := runs[1]
	if err := r.Handle(2, true, commit2); err != nil {
		t.Fatal(err)
	}
	if err := r.Handle(2, true, commit2); err != nil {
		t.Fatalf("an identical replay is not an error: %v", err)
	}
	err := r.Handle(2, false, shareFor3)
	pe := protocoltest.WantCulprits(t, protocol.Result{Err: err}, 2)
	if !strings.Contains(pe.Error(), "addressed to party 3") {
		t.Fatalf("share for another party: %v", err)
	}
	// The error must not quote the share.
	secret := shareFor3[len(shareFor3)-scalarSize:]
	if strings.Contains(err.Error(), string(secret)) || strings.Contains(err.Error(), base64.StdEncoding.EncodeToString(secret)) {
		t.Fatal("error quotes the share")
	}
	protocoltest.WantCulprits(t, protocoltest.AwaitDone(t, r), 2)
}

func TestDoneWaitsForOutgoing(t *testing.T) {
	fx := getFixture(t, 3, 2)
	nonce, digest := newNonce(t), protocoltest.DigestOf("ordering")
	runs := signRuns(t, fx.shares, protocoltest.IDs(1, 3), digest, nonce)
	for _, r := range runs {
		if err := r.Start(); err != nil {
			t.Fatal(err)
		}
	}
	r1, r3 := runs[1], runs[3]
	defer r1.Abort(nil)
	defer r3.Abort(nil)
	c1, c3 := nextPayload(t, r1).Payload, nextPayload(t, r3).Payload
	if err := r3.Handle(1, true, c1); err != nil {
		t.Fatal(err)
	}
	z3 := nextPayload(t, r3).Payload
	if err := r1.Handle(3, true, c3); err != nil {
		t.Fatal(err)
	}
	// Party 1 has queued its signature share; it finishes on party 3's, but Done must wait
	// until its own has been taken from Outgoing.
	if err := r1.Handle(3, true, z3); err != nil {
		t.Fatal(err)
	}
	select {
	case res := <-r1.Done():
		t.Fatalf("Done yielded %+v before the own signature share was taken from Outgoing", res)
	case <-time.After(100 * time.Millisecond):
	}
	nextPayload(t, r1)
	res := protocoltest.AwaitDone(t, r1)
	if res.Err != nil || res.Signature == nil {
		t.Fatalf("result %+v", res)
	}
	btcecVerify(t, fx.publicKey, digest, res.Signature.Encoded)
}

func TestAbort(t *testing.T) {
	t.Run("before Start", func(t *testing.T) {
		r := keygenRuns(t, 3, 2, newNonce(t))[1]
		r.Abort(nil)
		r.Abort(errors.New("again"))
		protocoltest.CheckAbortedOnce(t, r, "keygen")
		if err := r.Start(); !errors.Is(err, ErrEnded) {
			t.Fatalf("Start after Abort = %v", err)
		}
	})
	t.Run("keygen with undelivered payloads", func(t *testing.T) {
		r := keygenRuns(t, 3, 2, newNonce(t))[1]
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
	t.Run("sign mid-run wipes the secret", func(t *testing.T) {
		fx := getFixture(t, 3, 2)
		runs := signRuns(t, fx.shares, protocoltest.IDs(1, 2), protocoltest.DigestOf("abort"), newNonce(t))
		r := runs[1].(*signRun)
		if err := r.Start(); err != nil {
			t.Fatal(err)
		}
		r.Mu.Lock()
		nonces := r.nonces
		r.Mu.Unlock()
		if nonces == nil || nonces.hiding.IsZero() || nonces.binding.IsZero() || r.key.secret.IsZero() {
			t.Fatal("a started run holds no nonces or no secret share")
		}
		r.Abort(nil)
		protocoltest.CheckAbortedOnce(t, r, "sign")
		if !nonces.hiding.IsZero() || !nonces.binding.IsZero() || !r.key.secret.IsZero() {
			t.Fatal("the nonces or the secret share survived Abort")
		}
	})
}

func TestHandleBeforeStart(t *testing.T) {
	r := keygenRuns(t, 3, 2, newNonce(t))[1]
	if err := r.Handle(2, true, []byte{1}); err == nil {
		t.Fatal("Handle before Start succeeded")
	}
	if res := protocoltest.AwaitDone(t, r); res.Err == nil {
		t.Fatal("no failure on Done")
	}
}

func TestParamsValidation(t *testing.T) {
	fx := getFixture(t, 3, 2)
	nonce := newNonce(t)
	for _, tc := range []struct {
		name string
		p    protocol.KeygenParams
		want string
	}{
		{"short nonce", protocol.KeygenParams{Self: 1, Parties: protocoltest.IDs(1, 2, 3), Threshold: 2, SessionNonce: nonce[:31]}, "nonce"},
		{"threshold 1", protocol.KeygenParams{Self: 1, Parties: protocoltest.IDs(1, 2, 3), Threshold: 1, SessionNonce: nonce}, "threshold"},
		{"threshold above n", protocol.KeygenParams{Self: 1, Parties: protocoltest.IDs(1, 2, 3), Threshold: 4, SessionNonce: nonce}, "threshold"},
		{"self missing", protocol.KeygenParams{Self: 4, Parties: protocoltest.IDs(1, 2, 3), Threshold: 2, SessionNonce: nonce}, "self"},
		{"party 0", protocol.KeygenParams{Self: 1, Parties: protocoltest.IDs(0, 1, 2), Threshold: 2, SessionNonce: nonce}, "party 0"},
		{"repeated party", protocol.KeygenParams{Self: 1, Parties: protocoltest.IDs(1, 2, 2), Threshold: 2, SessionNonce: nonce}, "twice"},
		{"one party", protocol.KeygenParams{Self: 1, Parties: protocoltest.IDs(1), Threshold: 1, SessionNonce: nonce}, "parties"},
		{"pre-params", protocol.KeygenParams{Self: 1, Parties: protocoltest.IDs(1, 2, 3), Threshold: 2, SessionNonce: nonce, PreParams: []byte{1}}, "pre-params"},
		{"import", protocol.KeygenParams{Self: 1, Parties: protocoltest.IDs(1, 2, 3), Threshold: 2, SessionNonce: nonce, Import: &protocol.ImportParams{Dealer: 1, Secret: scalarOf(7), PublicKey: pointOf(7)}}, "importing an existing key is not supported"},
	} {
		_, err := (Engine{}).Keygen(tc.p)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Keygen %s: error %v, want one mentioning %q", tc.name, err, tc.want)
		}
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
	if e.Scheme() != protocol.SchemeBIP340 || e.NeedsPreParams() {
		t.Fatal("wrong scheme or pre-params")
	}
	if s, err := protocol.ParseScheme("bip340"); err != nil || s != protocol.SchemeBIP340 {
		t.Fatalf("ParseScheme(bip340) = %v, %v", s, err)
	}
	if pp, err := e.GeneratePreParams(t.Context()); pp != nil || err != nil {
		t.Fatalf("GeneratePreParams = %v, %v", pp, err)
	}
	if _, err := e.PublicKey([]byte("{}")); err == nil {
		t.Fatal("PublicKey of an invalid share")
	}
}

// shareFields returns the share of party 1 of the 2-of-3 key as a generic JSON object.
func shareFields(t *testing.T) (map[string]any, []byte) {
	t.Helper()
	enc := getFixture(t, 3, 2).shares[1]
	var m map[string]any
	if err := json.Unmarshal(enc, &m); err != nil {
		t.Fatal(err)
	}
	return m, enc
}

func TestShareEncoding(t *testing.T) {
	fields, enc := shareFields(t)
	s, err := decodeShare(enc)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.encode()
	if err != nil || !bytes.Equal(again, enc) {
		t.Fatalf("re-encoding differs: %v", err)
	}
	secret := fields["secret"].(string)
	if str := s.String() + s.GoString(); strings.Contains(str, secret) {
		t.Fatal("String prints the secret")
	}
	otherSecret := base64.StdEncoding.EncodeToString(scalarOf(5))
	mutate := func(f func(map[string]any)) []byte {
		m, _ := shareFields(t)
		f(m)
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	b64 := base64.StdEncoding.EncodeToString
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"truncated", enc[:len(enc)/2]},
		{"trailing data", append(bytes.Clone(enc), []byte(" {}")...)},
		{"oversized", append(bytes.Clone(enc), bytes.Repeat([]byte(" "), maxShareSize)...)},
		{"unknown field", mutate(func(m map[string]any) { m["extra"] = 1 })},
		{"wrong version", mutate(func(m map[string]any) { m["version"] = 2 })},
		{"wrong scheme", mutate(func(m map[string]any) { m["scheme"] = "bls12-381" })},
		{"missing secret", mutate(func(m map[string]any) { delete(m, "secret") })},
		{"secret not base64", mutate(func(m map[string]any) { m["secret"] = "!" + secret[1:] })},
		{"secret of another party", mutate(func(m map[string]any) { m["secret"] = otherSecret })},
		{"secret out of range", mutate(func(m map[string]any) { m["secret"] = b64(bytes.Repeat([]byte{0xff}, 32)) })},
		{"zero secret", mutate(func(m map[string]any) { m["secret"] = b64(make([]byte, 32)) })},
		{"threshold above n", mutate(func(m map[string]any) { m["threshold"] = 4 })},
		{"self changed", mutate(func(m map[string]any) { m["self"] = 2 })},
		{"parties unsorted", mutate(func(m map[string]any) { m["parties"] = []int{2, 1, 3} })},
		{"public share missing", mutate(func(m map[string]any) { m["public_shares"] = m["public_shares"].([]any)[:2] })},
		{"public share swapped", mutate(func(m map[string]any) {
			ps := m["public_shares"].([]any)
			ps[1], ps[2] = ps[2], ps[1]
		})},
		{"public share uncompressed prefix", mutate(func(m map[string]any) {
			ps := m["public_shares"].([]any)
			b, _ := base64.StdEncoding.DecodeString(ps[2].(string))
			b[0] = 0x06
			ps[2] = b64(b)
		})},
		{"internal key changed", mutate(func(m map[string]any) { m["internal_key"] = b64(pointOf(3)[1:]) })},
		{"internal key not on the curve", mutate(func(m map[string]any) { m["internal_key"] = b64(bytes.Repeat([]byte{0xff}, 32)) })},
		{"output key untweaked", mutate(func(m map[string]any) { m["output_key"] = m["internal_key"] })},
		{"output key short", mutate(func(m map[string]any) { m["output_key"] = b64(make([]byte, 31)) })},
		{"wrong type", mutate(func(m map[string]any) { m["threshold"] = "two" })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeShare(tc.b)
			if err == nil {
				t.Fatal("decoded")
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), secret[1:12]) {
				t.Fatalf("error quotes the secret: %v", err)
			}
			if _, err := (Engine{}).PublicKey(tc.b); err == nil {
				t.Fatal("PublicKey accepted it")
			}
			if _, err := InternalKey(tc.b); err == nil {
				t.Fatal("InternalKey accepted it")
			}
		})
	}
}

func TestPayloadEncoding(t *testing.T) {
	var nonce [nonceSize]byte
	copy(nonce[:], newNonce(t))
	view := bytes.Repeat([]byte{7}, viewSize)
	listDigest := bytes.Repeat([]byte{8}, listDigestSize)
	for _, m := range []*message{
		{kind: kindKeygenCommit, nonce: nonce, from: 4, coefficients: [][]byte{pointOf(2), pointOf(3)}, proofCommitment: pointOf(4), proofResponse: scalarOf(5), chainCommitment: bytes.Repeat([]byte{1}, hashSize)},
		{kind: kindKeygenReveal, nonce: nonce, from: 4, view: view, chainKey: scalarOf(6), decommitment: scalarOf(7)},
		{kind: kindKeygenShare, nonce: nonce, from: 4, to: 5, view: view, share: scalarOf(8)},
		{kind: kindNonceCommit, nonce: nonce, from: 65535, hiding: pointOf(9), binding: pointOf(10)},
		{kind: kindSigShare, nonce: nonce, from: 1, view: listDigest, response: scalarOf(11)},
	} {
		enc := m.encode()
		got, err := decodePayload(enc)
		if err != nil {
			t.Fatalf("%s: %v", kindName(m.kind), err)
		}
		if again := got.encode(); !bytes.Equal(again, enc) {
			t.Fatalf("%s: round trip differs", kindName(m.kind))
		}
		if got.from != m.from || got.to != m.to || got.nonce != nonce || int(enc[2]) != kindRound(m.kind) {
			t.Fatalf("%s: header %+v", kindName(m.kind), got)
		}
		if !keygenKind(m.kind) {
			continue // the library never sees signing payloads (see TestSignPayloads)
		}
		// The library's content round-trips through this package's fields.
		data, err := got.libData()
		if err != nil {
			t.Fatal(err)
		}
		back := &message{kind: got.kind}
		if err := back.setContent(data); err != nil {
			t.Fatalf("%s: %v", kindName(m.kind), err)
		}
		back.nonce, back.from, back.to, back.view = got.nonce, got.from, got.to, got.view
		if !bytes.Equal(back.encode(), enc) {
			t.Fatalf("%s: library content round trip differs", kindName(m.kind))
		}
	}
	zero := (&message{kind: kindKeygenShare, nonce: nonce, from: 4, to: 5, view: view, share: make([]byte, scalarSize)}).encode()
	if _, err := decodePayload(zero); err == nil {
		t.Fatal("zero share decoded")
	}
	one := (&message{kind: kindKeygenCommit, nonce: nonce, from: 4, coefficients: [][]byte{pointOf(2)}, proofCommitment: pointOf(4), proofResponse: scalarOf(5), chainCommitment: bytes.Repeat([]byte{1}, hashSize)}).encode()
	if _, err := decodePayload(one); err == nil {
		t.Fatal("commitments of a constant polynomial decoded")
	}
	zeroChain := (&message{kind: kindKeygenReveal, nonce: nonce, from: 4, view: view, chainKey: make([]byte, chainSize), decommitment: scalarOf(7)}).encode()
	if _, err := decodePayload(zeroChain); err == nil {
		t.Fatal("zero chaining value decoded")
	}
	zeroShare := (&message{kind: kindSigShare, nonce: nonce, from: 4, view: listDigest, response: make([]byte, scalarSize)}).encode()
	if _, err := decodePayload(zeroShare); err == nil {
		t.Fatal("zero signature share decoded")
	}
	if MaxPayloadSize > 16<<10 {
		t.Fatalf("MaxPayloadSize %d is larger than expected", MaxPayloadSize)
	}
}

// TestSignPayloads checks the signing payloads' decoded values and encoders, and that the
// retired kinds of the library's signing (4 and 5) and their layout are refused.
func TestSignPayloads(t *testing.T) {
	nonce := newNonce(t)
	commit := encodeNonceCommit(nonce, 3, pointOf(9), pointOf(10))
	m := mustDecode(t, commit)
	if m.kind != kindNonceCommit || m.from != 3 || !bytes.Equal(m.nonce[:], nonce) || len(commit) != headerSize+nonceCommitSize {
		t.Fatalf("nonce commitments decoded as %+v", m)
	}
	if !pointsEqual(m.hidingPoint, mulBase(new(btcec.ModNScalar).SetInt(9))) || !pointsEqual(m.bindingPoint, mulBase(new(btcec.ModNScalar).SetInt(10))) {
		t.Fatal("the decoded nonce commitments are not the encoded points")
	}
	digest := bytes.Repeat([]byte{5}, listDigestSize)
	share := encodeSigShare(nonce, 2, digest, new(btcec.ModNScalar).SetInt(11))
	m = mustDecode(t, share)
	if m.kind != kindSigShare || m.from != 2 || !bytes.Equal(m.view, digest) || !m.z.Equals(new(btcec.ModNScalar).SetInt(11)) || len(share) != headerSize+sigShareSize {
		t.Fatalf("signature share decoded as %+v", m)
	}
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"retired kind 4", append([]byte{payloadVersion, 4, 1}, commit[3:]...), "unknown payload kind 4"},
		{"retired kind 5", append([]byte{payloadVersion, 5, 2}, share[3:]...), "unknown payload kind 5"},
		{"64-byte list digest", append(append(bytes.Clone(share[:headerSize]), bytes.Repeat([]byte{5}, 64)...), scalarOf(11)...), "body of"},
		{"share not below the order", append(bytes.Clone(share[:headerSize+listDigestSize]), bytes.Repeat([]byte{0xff}, scalarSize)...), "group order"},
		{"commitment E missing", commit[:len(commit)-pointSize], "body of"},
		{"commitment D not on the curve", append(append(bytes.Clone(commit[:headerSize]), append([]byte{2}, bytes.Repeat([]byte{0xff}, 32)...)...), pointOf(10)...), "nonce commitment D"},
	} {
		if _, err := decodePayload(tc.b); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
}

func TestLibErrorPrintable(t *testing.T) {
	err := libErr(errors.New("failed to verify response from \x00\x02"))
	if got := err.Error(); strings.ContainsAny(got, "\x00\x02") || !strings.HasPrefix(got, "multi-party-sig: ") {
		t.Fatalf("%q", got)
	}
	culprits, _ := mapLibError(err, 1)
	if culprits != nil {
		t.Fatalf("culprits %v from an error without any", culprits)
	}
}

// TestSignEarlyResponseIsHeld delivers a signer's round-2 payload before its round-1 payload:
// the run holds it until it has finished round 1 itself, then uses it.
func TestSignEarlyResponseIsHeld(t *testing.T) {
	fx := getFixture(t, 3, 2)
	digest := protocoltest.DigestOf("early")
	runs := signRuns(t, fx.shares, protocoltest.IDs(1, 2), digest, newNonce(t))
	for _, r := range runs {
		if err := r.Start(); err != nil {
			t.Fatal(err)
		}
		defer r.Abort(nil)
	}
	r1, r2 := runs[1].(*signRun), runs[2]
	c1, c2 := nextPayload(t, r1).Payload, nextPayload(t, r2).Payload
	if err := r2.Handle(1, true, c1); err != nil {
		t.Fatal(err)
	}
	z2 := nextPayload(t, r2).Payload
	if err := r1.Handle(2, true, z2); err != nil {
		t.Fatal(err)
	}
	r1.Mu.Lock()
	held := len(r1.pending)
	r1.Mu.Unlock()
	if held != 1 {
		t.Fatalf("%d payloads held, want 1", held)
	}
	if err := r1.Handle(2, true, c2); err != nil {
		t.Fatal(err)
	}
	if err := r2.Handle(1, true, nextPayload(t, r1).Payload); err != nil {
		t.Fatal(err)
	}
	for _, r := range []protocol.Run{r1, r2} {
		res := protocoltest.AwaitDone(t, r)
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		btcecVerify(t, fx.publicKey, digest, res.Signature.Encoded)
	}
	// The run has ended: its copy of the secret share is zero and its nonces are gone.
	r1.Mu.Lock()
	defer r1.Mu.Unlock()
	if !r1.key.secret.IsZero() || r1.nonces != nil {
		t.Fatal("the run kept its secret share or its nonces after the end")
	}
}

// TestKeygenEarlyPayloadsAreHeld delivers party 2's round-2 payloads (its reveal and its
// share) to party 1 before its round-1 commitments, and party 3's in reverse order.
func TestKeygenEarlyPayloadsAreHeld(t *testing.T) {
	runs := keygenRuns(t, 3, 2, newNonce(t))
	for _, r := range runs {
		if err := r.Start(); err != nil {
			t.Fatal(err)
		}
		defer r.Abort(nil)
	}
	commits := map[protocol.PartyID][]byte{}
	for p, r := range runs {
		commits[p] = nextPayload(t, r).Payload
	}
	// Every party but 1 completes round 1 and emits its round-2 payloads.
	round2 := map[protocol.PartyID][]protocol.Outgoing{}
	for _, p := range protocoltest.IDs(2, 3) {
		for _, q := range protocoltest.IDs(1, 2, 3) {
			if q != p {
				if err := runs[p].Handle(q, true, commits[q]); err != nil {
					t.Fatal(err)
				}
			}
		}
		for range 3 { // one reveal, two shares
			round2[p] = append(round2[p], nextPayload(t, runs[p]))
		}
	}
	deliverTo1 := func(from protocol.PartyID, reverse bool) {
		outs := slices.Clone(round2[from])
		if reverse {
			slices.Reverse(outs)
		}
		for _, o := range outs {
			if o.Broadcast || o.To[0] == 1 {
				if err := runs[1].Handle(from, o.Broadcast, o.Payload); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	deliverTo1(2, false)
	deliverTo1(3, true)
	if err := runs[1].Handle(2, true, commits[2]); err != nil {
		t.Fatal(err)
	}
	if err := runs[1].Handle(3, true, commits[3]); err != nil {
		t.Fatal(err)
	}
	// Party 1 now sends its round-2 payloads; hand them to 2 and 3.
	for range 3 {
		o := nextPayload(t, runs[1])
		to := o.To
		if o.Broadcast {
			to = protocoltest.IDs(2, 3)
		}
		for _, p := range to {
			if err := runs[p].Handle(1, o.Broadcast, o.Payload); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, p := range protocoltest.IDs(2, 3) {
		for _, o := range round2[p] {
			to := o.To
			if o.Broadcast {
				to = protocoltest.IDs(1, 2, 3)
			}
			for _, q := range to {
				if q != 1 && q != p {
					if err := runs[q].Handle(p, o.Broadcast, o.Payload); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
	}
	var key []byte
	for _, p := range protocoltest.IDs(1, 2, 3) {
		res := protocoltest.AwaitDone(t, runs[p])
		if res.Err != nil {
			t.Fatalf("%s: %v", p, res.Err)
		}
		if key != nil && !bytes.Equal(key, res.Keygen.PublicKey) {
			t.Fatal("parties disagree on the key")
		}
		key = res.Keygen.PublicKey
	}
}

// TestConcurrentRuns runs several signings of one key at once, as an enclave does.
func TestConcurrentRuns(t *testing.T) {
	fx := getFixture(t, 3, 2)
	for i := range 8 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			digest := protocoltest.DigestOf(fmt.Sprint("concurrent ", i))
			sig := signOnce(t, fx, combinations(3, 2)[i%3], digest)
			btcecVerify(t, fx.publicKey, digest, sig)
		})
	}
}
