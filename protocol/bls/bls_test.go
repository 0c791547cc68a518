package bls

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	blst "github.com/supranational/blst/bindings/go"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/protocoltest"
)

func TestKeygenAndSign2of3(t *testing.T) {
	fx := getFixture(t, 3, 2)
	digest := protocoltest.DigestOf("2-of-3")
	var first []byte
	for _, signers := range [][]protocol.PartyID{protocoltest.IDs(1, 2), protocoltest.IDs(1, 3), protocoltest.IDs(2, 3)} {
		sig := signOnce(t, fx, signers, digest)
		if first == nil {
			first = sig
		}
		if !bytes.Equal(sig, first) {
			t.Fatalf("signers %v produced another signature than the first pair", signers)
		}
	}
	checkAgainstSecret(t, fx, protocoltest.IDs(1, 3), digest, first)
	checkAgainstSecret(t, fx, protocoltest.IDs(2, 3), digest, first)
}

func TestKeygenAndSign3of5(t *testing.T) {
	fx := getFixture(t, 5, 3)
	digest := protocoltest.DigestOf("3-of-5")
	var first []byte
	for _, signers := range [][]protocol.PartyID{protocoltest.IDs(1, 2, 3), protocoltest.IDs(1, 4, 5), protocoltest.IDs(2, 3, 5), protocoltest.IDs(3, 4, 5)} {
		sig := signOnce(t, fx, signers, digest)
		if first == nil {
			first = sig
		}
		if !bytes.Equal(sig, first) {
			t.Fatalf("signers %v produced another signature than the first triple", signers)
		}
	}
	checkAgainstSecret(t, fx, protocoltest.IDs(2, 4, 5), digest, first)
}

// checkAgainstSecret reconstructs the secret key from the shares of parties and checks that it
// yields the group key and, as a single-key blst signature, exactly sig.
func checkAgainstSecret(t *testing.T, fx *keygenFixture, parties []protocol.PartyID, digest [32]byte, sig []byte) {
	t.Helper()
	skBytes := reconstructSecret(t, fx, parties)
	sk := new(blst.SecretKey).Deserialize(skBytes)
	if sk == nil {
		t.Fatal("reconstructed secret is not a valid key")
	}
	if pk := new(blst.P1Affine).From(sk).Compress(); !bytes.Equal(pk, fx.publicKey) {
		t.Fatalf("sk·G1 from %v = %x, group key %x", parties, pk, fx.publicKey)
	}
	if want := new(blst.P2Affine).Sign(sk, digest[:], dst).Compress(); !bytes.Equal(want, sig) {
		t.Fatalf("single-key signature %x, threshold signature %x", want, sig)
	}
	if !new(blst.P2Affine).VerifyCompressed(sig, true, fx.publicKey, true, digest[:], dst) {
		t.Fatal("threshold signature does not verify with blst")
	}
}

func TestPublicShares(t *testing.T) {
	fx := getFixture(t, 3, 2)
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
		if own := g1Mul(s.secret).ToAffine().Compress(); !bytes.Equal(own, byParty[p]) {
			t.Fatalf("%s: public share is not x·G1", p)
		}
		_, other, _ := PublicShares(fx.shares[1])
		if diff := cmp.Diff(other, byParty); diff != "" {
			t.Fatalf("%s and party 1 disagree on the public shares (-1 +%d):\n%s", p, p, diff)
		}
	}
}

func TestKeygenWrongShareBlamesDealer(t *testing.T) {
	tamper := func(from, to protocol.PartyID, broadcast bool, payload []byte) []byte {
		if from == 2 && to == 1 && !broadcast {
			payload[len(payload)-1] ^= 1 // still a valid scalar, but not f_2(1)
		}
		return payload
	}
	results := execute(t, keygenRuns(t, 3, 2, newNonce(t)), tamper)
	protocoltest.WantCulprits(t, results[1], 2)
}

func TestKeygenWrongCommitmentsBlamesDealer(t *testing.T) {
	// Party 3 shows party 1 a valid G1 point that is not its commitment.
	other := g1Mul(indexScalar(7)).ToAffine().Compress()
	tamper := func(from, to protocol.PartyID, broadcast bool, payload []byte) []byte {
		if from == 3 && to == 1 && broadcast {
			copy(payload[headerSize+2:], other)
		}
		return payload
	}
	results := execute(t, keygenRuns(t, 3, 2, newNonce(t)), tamper)
	protocoltest.WantCulprits(t, results[1], 3)
}

func TestKeygenNonceMismatch(t *testing.T) {
	nonce := newNonce(t)
	runs := keygenRuns(t, 3, 2, nonce)
	other := newNonce(t)
	r, err := Engine{}.Keygen(protocol.KeygenParams{Self: 2, Parties: protocoltest.IDs(1, 2, 3), Threshold: 2, SessionNonce: other})
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

func TestSignBadPartialBlamesSigner(t *testing.T) {
	fx := getFixture(t, 5, 3)
	digest := protocoltest.DigestOf("bad partial")
	// A valid G2 point that is not party 4's partial: its partial for another message.
	wrong := hashToG2([]byte("another message")).Compress()
	tamper := func(from, to protocol.PartyID, broadcast bool, payload []byte) []byte {
		if from == 4 {
			copy(payload[headerSize:], wrong)
		}
		return payload
	}
	results := execute(t, signRuns(t, fx.shares, protocoltest.IDs(1, 2, 4), digest, newNonce(t)), tamper)
	protocoltest.WantCulprits(t, results[1], 4)
	protocoltest.WantCulprits(t, results[2], 4)
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
	// Signers disagreeing on the digest: each sees the other's partial fail.
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

// startedSign returns party self's started signing run for signers 1 and 2 of the 2-of-3 key,
// and party other's partial for the same session.
func startedSign(t *testing.T, self, other protocol.PartyID) (protocol.Run, []byte) {
	t.Helper()
	fx := getFixture(t, 3, 2)
	nonce, digest := newNonce(t), protocoltest.DigestOf("handle")
	runs := signRuns(t, fx.shares, protocoltest.IDs(int(self), int(other)), digest, nonce)
	for _, r := range runs {
		if err := r.Start(); err != nil {
			t.Fatal(err)
		}
	}
	o := <-runs[other].Outgoing()
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
	notInGroup := bytes.Clone(valid)
	copy(notInGroup[headerSize:], bytes.Repeat([]byte{0x8a}, SignatureSize))
	identity := bytes.Clone(valid)
	copy(identity[headerSize:], append([]byte{0xc0}, make([]byte, SignatureSize-1)...))
	wrongSender := bytes.Clone(valid)
	wrongSender[headerSize-1] = 3

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
		{"point not on the curve", 2, true, notInGroup, protocoltest.IDs(2)},
		{"identity", 2, true, identity, protocoltest.IDs(2)},
		{"names another sender", 2, true, wrongSender, protocoltest.IDs(2)},
		{"point-to-point partial", 2, false, valid, protocoltest.IDs(2)},
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
			if pe := protocoltest.ProtoErr(t, err); len(pe.Culprits) != len(tc.culprits) || (len(tc.culprits) > 0 && pe.Culprits[0] != tc.culprits[0]) {
				t.Fatalf("culprits %v, want %v (%v)", pe.Culprits, tc.culprits, err)
			}
			res := protocoltest.AwaitDone(t, r)
			if !errors.Is(res.Err, protocoltest.ProtoErr(t, err).Cause) && res.Err.Error() != err.Error() {
				t.Fatalf("Done: %v, Handle: %v", res.Err, err)
			}
			if err := r.Handle(2, true, valid); !errors.Is(err, ErrEnded) {
				t.Fatalf("Handle after the end = %v, want ErrEnded", err)
			}
		})
	}
}

func TestKeygenHandleRejects(t *testing.T) {
	nonce := newNonce(t)
	runs := keygenRuns(t, 3, 2, nonce)
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
	// Party 2's commitments, then its share for party 3 (not for party 1).
	var commitments, shareFor3 []byte
	for commitments == nil || shareFor3 == nil {
		o := <-runs[2].Outgoing()
		switch {
		case o.Broadcast:
			commitments = o.Payload
		case o.To[0] == 3:
			shareFor3 = o.Payload
		}
	}
	r := runs[1]
	if err := r.Handle(2, true, commitments); err != nil {
		t.Fatal(err)
	}
	if err := r.Handle(2, true, commitments); err != nil {
		t.Fatalf("an identical replay is not an error: %v", err)
	}
	err := r.Handle(2, false, shareFor3)
	if pe := protocoltest.ProtoErr(t, err); !slicesEqual(pe.Culprits, protocoltest.IDs(2)) || !strings.Contains(err.Error(), "addressed to party 3") {
		t.Fatalf("share for another party: %v", err)
	}
	// The error must not quote the share.
	if strings.Contains(err.Error(), string(shareFor3[len(shareFor3)-scalarSize:])) {
		t.Fatal("error quotes the share")
	}
	protocoltest.WantCulprits(t, protocoltest.AwaitDone(t, r), 2)
}

func TestKeygenConflictingCommitments(t *testing.T) {
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
	var commitments []byte
	for commitments == nil {
		if o := <-runs[3].Outgoing(); o.Broadcast {
			commitments = o.Payload
		}
	}
	if err := runs[1].Handle(3, true, commitments); err != nil {
		t.Fatal(err)
	}
	other := bytes.Clone(commitments)
	copy(other[headerSize+2:], g1Mul(indexScalar(5)).ToAffine().Compress())
	protocoltest.WantCulprits(t, protocol.Result{Err: runs[1].Handle(3, true, other)}, 3)
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
	partial3 := <-runs[3].Outgoing()
	runs[3].Abort(nil)
	r := runs[1]
	defer r.Abort(nil)
	if err := r.Handle(3, true, partial3.Payload); err != nil {
		t.Fatal(err)
	}
	select {
	case res := <-r.Done():
		t.Fatalf("Done yielded %+v before the own partial was taken from Outgoing", res)
	case <-time.After(100 * time.Millisecond):
	}
	<-r.Outgoing()
	res := protocoltest.AwaitDone(t, r)
	if res.Err != nil || res.Signature == nil || len(res.Signature.Encoded) != SignatureSize {
		t.Fatalf("result %+v", res)
	}
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
	t.Run("with undelivered payloads", func(t *testing.T) {
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
	if e.Scheme() != protocol.SchemeBLS12381 || e.NeedsPreParams() {
		t.Fatal("wrong scheme or pre-params")
	}
	if pp, err := e.GeneratePreParams(t.Context()); pp != nil || err != nil {
		t.Fatalf("GeneratePreParams = %v, %v", pp, err)
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
	if str := s.String() + s.GoString(); strings.Contains(str, fields["secret"].(string)) {
		t.Fatal("String prints the secret")
	}
	secret := fields["secret"].(string)
	otherSecret := base64.StdEncoding.EncodeToString(indexScalar(5).Serialize())
	mutate := func(f func(map[string]any)) []byte {
		m, _ := shareFields(t)
		f(m)
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
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
		{"wrong scheme", mutate(func(m map[string]any) { m["scheme"] = "ecdsa-secp256k1" })},
		{"missing secret", mutate(func(m map[string]any) { delete(m, "secret") })},
		{"secret not base64", mutate(func(m map[string]any) { m["secret"] = "!" + secret[1:] })},
		{"secret of another party", mutate(func(m map[string]any) { m["secret"] = otherSecret })},
		{"secret out of range", mutate(func(m map[string]any) {
			m["secret"] = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xff}, 32))
		})},
		{"threshold above n", mutate(func(m map[string]any) { m["threshold"] = 4 })},
		{"self changed", mutate(func(m map[string]any) { m["self"] = 2 })},
		{"parties unsorted", mutate(func(m map[string]any) { m["parties"] = []int{2, 1, 3} })},
		{"public share missing", mutate(func(m map[string]any) { m["public_shares"] = m["public_shares"].([]any)[:2] })},
		{"public share swapped", mutate(func(m map[string]any) {
			ps := m["public_shares"].([]any)
			ps[1], ps[2] = ps[2], ps[1]
		})},
		{"public key changed", mutate(func(m map[string]any) {
			m["public_key"] = base64.StdEncoding.EncodeToString(g1Mul(indexScalar(3)).ToAffine().Compress())
		})},
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
			if _, _, err := PublicShares(tc.b); err == nil {
				t.Fatal("PublicShares accepted it")
			}
		})
	}
}

func TestPayloadEncoding(t *testing.T) {
	nonce := newNonce(t)
	cs := []*blst.P1Affine{g1Mul(indexScalar(2)).ToAffine(), g1Mul(indexScalar(3)).ToAffine()}
	m, err := decodePayload(encodeCommitments(nonce, 4, cs))
	if err != nil || m.kind != kindCommitments || m.from != 4 || len(m.commitments) != 2 || !m.commitments[1].Equals(cs[1]) || !bytes.Equal(m.nonce[:], nonce) {
		t.Fatalf("commitments round trip: %+v, %v", m, err)
	}
	m, err = decodePayload(encodeShare(nonce, 4, 5, indexScalar(9)))
	if err != nil || m.kind != kindShare || m.to != 5 || !m.share.Equals(indexScalar(9)) {
		t.Fatalf("share round trip: %+v, %v", m, err)
	}
	h := hashToG2([]byte("x"))
	m, err = decodePayload(encodePartial(nonce, 4, h))
	if err != nil || m.kind != kindPartial || !m.partial.Equals(h) {
		t.Fatalf("partial round trip: %+v, %v", m, err)
	}
	zeroShare := encodeShare(nonce, 4, 5, indexScalar(9))
	clear(zeroShare[len(zeroShare)-scalarSize:])
	if _, err := decodePayload(zeroShare); err == nil {
		t.Fatal("zero share decoded")
	}
	noCommitments := encodeCommitments(nonce, 4, nil)
	if _, err := decodePayload(noCommitments); err == nil {
		t.Fatal("empty commitments decoded")
	}
}

func slicesEqual(a, b []protocol.PartyID) bool { return cmp.Equal(a, b) }
