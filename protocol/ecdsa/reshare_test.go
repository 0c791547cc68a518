package ecdsa

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tsscrypto "github.com/bnb-chain/tss-lib/v3/crypto"
	"github.com/bnb-chain/tss-lib/v3/crypto/vss"
	"github.com/bnb-chain/tss-lib/v3/ecdsa/keygen"
	"github.com/bnb-chain/tss-lib/v3/ecdsa/resharing"
	"github.com/bnb-chain/tss-lib/v3/tss"
	"github.com/ethereum/go-ethereum/crypto"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// reshareTimeout is generous: a 5-party reshare under -race on a shared 2-core machine.
const reshareTimeout = 15 * time.Minute

// reshareSpec is one reshare of a test key: who deals, who receives, and which pre-params
// fixture each receiver uses.
type reshareSpec struct {
	engine Engine
	old    []protocol.PartyID
	oldT   int
	new    []protocol.PartyID
	newT   int
	pre    map[protocol.PartyID]int
}

func (s reshareSpec) params(self protocol.PartyID, pub []byte, nonce []byte) protocol.ReshareParams {
	return protocol.ReshareParams{
		Self: self, OldParties: s.old, OldThreshold: s.oldT, NewParties: s.new, NewThreshold: s.newT,
		PublicKey: pub, SessionNonce: nonce,
	}
}

func (s reshareSpec) participants() []protocol.PartyID {
	return protocol.ReshareParams{OldParties: s.old, NewParties: s.new}.Participants()
}

// reshareRuns makes the runs of every participant of spec over key; nonces as in keygenRuns.
func reshareRuns(t testing.TB, spec reshareSpec, key *keygenFixture, common []byte, nonces map[protocol.PartyID][]byte) map[protocol.PartyID]protocol.Run {
	t.Helper()
	runs := make(map[protocol.PartyID]protocol.Run)
	for _, p := range spec.participants() {
		nonce := common
		if b, ok := nonces[p]; ok {
			nonce = b
		}
		params := spec.params(p, key.pub, nonce)
		if slices.Contains(spec.old, p) {
			params.Share = key.shares[p]
		}
		if slices.Contains(spec.new, p) {
			params.PreParams = LoadTestPreParams(t, spec.pre[p])
		}
		r, err := spec.engine.Reshare(params)
		if err != nil {
			for _, r := range runs {
				r.Abort(err)
			}
			t.Fatalf("%s: Reshare: %v", p, err)
		}
		runs[p] = r
	}
	return runs
}

// reshareKey runs spec over key to the end and returns the new key's fixture, after checking
// every participant's result: the same public key everywhere, a new share of the right shape
// at every new party, no share at a party that only dealt.
func reshareKey(t testing.TB, spec reshareSpec, key *keygenFixture) *keygenFixture {
	t.Helper()
	var mu sync.Mutex
	largest := 0
	measure := func(_, _ protocol.PartyID, o protocol.Outgoing) []byte {
		mu.Lock()
		largest = max(largest, len(o.Payload))
		mu.Unlock()
		return o.Payload
	}
	runs := reshareRuns(t, spec, key, newNonce(), nil)
	start := time.Now()
	results, err := execute(runs, measure, reshareTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("reshare %s, dealers %s -> %d-of-%s: %v wall time, largest payload %d bytes",
		spec.engine.Scheme(), partyNumbers(spec.old), spec.newT, partyNumbers(spec.new), time.Since(start).Round(time.Millisecond), largest)
	if largest > MaxPayloadSize {
		t.Fatalf("a payload of %d bytes exceeds what Handle accepts (%d)", largest, MaxPayloadSize)
	}
	out := &keygenFixture{pub: key.pub, shares: make(map[protocol.PartyID][]byte)}
	for _, p := range spec.participants() {
		res := results[p]
		if res.Err != nil || res.Keygen == nil || res.Signature != nil {
			t.Fatalf("%s: reshare result %+v", p, res)
		}
		if !bytes.Equal(res.Keygen.PublicKey, key.pub) {
			t.Fatalf("%s: public key %x after the reshare, want %x", p, res.Keygen.PublicKey, key.pub)
		}
		if !slices.Contains(spec.new, p) {
			if res.Keygen.Share != nil {
				t.Fatalf("%s only dealt but got a share", p)
			}
			continue
		}
		s, err := DecodeShare(res.Keygen.Share)
		if err != nil {
			t.Fatalf("%s: new share: %v", p, err)
		}
		if s.Self() != p || s.Threshold() != spec.newT || !slices.Equal(s.Parties(), spec.new) || !bytes.Equal(s.PublicKey(), key.pub) || s.curve.scheme != spec.engine.Scheme() {
			t.Fatalf("%s: new share %v", p, s)
		}
		if pub, err := spec.engine.PublicKey(res.Keygen.Share); err != nil || !bytes.Equal(pub, key.pub) {
			t.Fatalf("%s: PublicKey(new share) = %x, %v", p, pub, err)
		}
		out.shares[p] = res.Keygen.Share
	}
	return out
}

// partyNumbers writes parties as {1,2,3}.
func partyNumbers(ps []protocol.PartyID) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = fmt.Sprint(uint16(p))
	}
	return "{" + strings.Join(s, ",") + "}"
}

func secretOf(t testing.TB, share []byte) *big.Int {
	t.Helper()
	s, err := DecodeShare(share)
	if err != nil {
		t.Fatal(err)
	}
	return s.save.Xi
}

var (
	refreshOnce    sync.Once
	refreshFixture *keygenFixture
	refreshFailed  bool
)

// getRefreshFixture refreshes the 2-of-3 keygen fixture once per test binary: parties 1 and 2
// deal, parties 1, 2 and 3 receive (pre-params fixtures 4-6, not the keygen's).
func getRefreshFixture(t *testing.T) *keygenFixture {
	t.Helper()
	fx := getKeygenFixture(t)
	refreshOnce.Do(func() {
		refreshFailed = true
		spec := reshareSpec{old: []protocol.PartyID{1, 2}, oldT: 2, new: []protocol.PartyID{1, 2, 3}, newT: 2, pre: map[protocol.PartyID]int{1: 4, 2: 5, 3: 6}}
		refreshFixture = reshareKey(t, spec, fx)
		refreshFailed = false
	})
	if refreshFailed {
		t.Fatal("the refresh fixture failed (see the first test that used it)")
	}
	return refreshFixture
}

// A refresh keeps the key and its committee and changes every secret share; the new shares
// sign with the existing Sign, and go-ethereum verifies the signatures.
func TestReshareRefresh2of3(t *testing.T) {
	fx := getKeygenFixture(t)
	refreshed := getRefreshFixture(t)
	for _, p := range []protocol.PartyID{1, 2, 3} {
		if secretOf(t, fx.shares[p]).Cmp(secretOf(t, refreshed.shares[p])) == 0 {
			t.Fatalf("%s: the secret share did not change", p)
		}
	}
	for _, signers := range [][]protocol.PartyID{{1, 3}, {2, 3}} {
		digest := [32]byte{0: 0x5e, 1: byte(signers[0]), 31: byte(signers[1])}
		sig := signOnce(t, refreshed, signers, digest)
		verifyWithEthereum(t, fx.pub, digest, sig)
	}
}

// An old share and a new share do not sign together: the run fails (tss-lib's proofs use the
// Paillier keys and ring-Pedersen parameters each share records for the other party), and
// nothing either party returns is a valid signature.
func TestReshareOldAndNewSharesDoNotSignTogether(t *testing.T) {
	fx := getKeygenFixture(t)
	refreshed := getRefreshFixture(t)
	mixed := map[protocol.PartyID][]byte{1: fx.shares[1], 2: refreshed.shares[2]}
	digest := [32]byte{0: 0x31, 31: 0x7}
	runs, err := signRuns(mixed, []protocol.PartyID{1, 2}, digest, newNonce(), nil)
	if err != nil {
		t.Fatal(err)
	}
	results := executeUntilFailure(t, runs, signTimeout)
	failed := false
	for p, res := range results {
		if res.Signature != nil {
			if ethVerifies(fx.pub, digest, res.Signature) {
				t.Fatalf("%s: an old and a new share produced a valid signature", p)
			}
			continue
		}
		if res.Err != nil {
			failed = true
			t.Logf("%s: %v", p, res.Err)
		}
	}
	if !failed {
		t.Fatal("no party reported the failure")
	}
}

// executeUntilFailure runs runs until every one has a result or one has failed (a failed
// signer's peers may wait for it forever); the others are then aborted and their results
// are the abort.
func executeUntilFailure(t testing.TB, runs map[protocol.PartyID]protocol.Run, timeout time.Duration) map[protocol.PartyID]protocol.Result {
	t.Helper()
	n, err := startNet(runs, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer n.close()
	type outcome struct {
		p   protocol.PartyID
		res protocol.Result
	}
	ch := make(chan outcome, len(runs))
	for p, r := range runs {
		go func() { ch <- outcome{p, <-r.Done()} }()
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	results := make(map[protocol.PartyID]protocol.Result)
	for len(results) < len(runs) {
		select {
		case o := <-ch:
			results[o.p] = o.res
			if o.res.Err != nil {
				for _, r := range runs {
					r.Abort(errors.New("test: another party failed"))
				}
			}
		case <-deadline.C:
			t.Fatalf("no outcome within %v", timeout)
		}
	}
	return results
}

// ethVerifies reports whether go-ethereum accepts sig for digest under pub.
func ethVerifies(pub []byte, digest [32]byte, sig *protocol.Signature) bool {
	return crypto.VerifySignature(pub, digest[:], sig.Bytes())
}

// The committee changes twice: 2-of-3 {1,2,3} -> 3-of-5 {1..5} (dealers 1 and 3; 2 holds a
// share but only receives; 4 and 5 are new) -> 2-of-3 {2,4,5} (dealers 1, 2, 3: 1 and 3 only
// deal, 2 deals and receives, 4 and 5 only receive). Each step signs once, verified by
// go-ethereum.
func TestReshareCommitteeChange(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the 5-party committee change (2-of-3 -> 3-of-5 -> 2-of-3, two reshares and two signings) in -short mode")
	}
	fx := getKeygenFixture(t)

	grow := reshareSpec{
		old: []protocol.PartyID{1, 3}, oldT: 2, new: []protocol.PartyID{1, 2, 3, 4, 5}, newT: 3,
		pre: map[protocol.PartyID]int{1: 2, 2: 3, 3: 4, 4: 5, 5: 6},
	}
	five := reshareKey(t, grow, fx)
	digest := [32]byte{0: 0x35, 31: 0x01}
	verifyWithEthereum(t, fx.pub, digest, signOnce(t, five, []protocol.PartyID{2, 4, 5}, digest))

	shrink := reshareSpec{
		old: []protocol.PartyID{1, 2, 3}, oldT: 3, new: []protocol.PartyID{2, 4, 5}, newT: 2,
		pre: map[protocol.PartyID]int{2: 1, 4: 3, 5: 6},
	}
	three := reshareKey(t, shrink, five)
	digest = [32]byte{0: 0x23, 31: 0x02}
	verifyWithEthereum(t, fx.pub, digest, signOnce(t, three, []protocol.PartyID{4, 5}, digest))
	if secretOf(t, five.shares[2]).Cmp(secretOf(t, three.shares[2])) == 0 {
		t.Fatal("party 2's secret share did not change")
	}
}

// P-256: a keygen, a refresh with dealers 1 and 3, and a signing with the new shares that Go's
// crypto/ecdsa verifies.
func TestReshareP256Refresh(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping a P-256 keygen and reshare in -short mode")
	}
	parties := []protocol.PartyID{1, 2, 3}
	nonce := newNonce()
	runs := map[protocol.PartyID]protocol.Run{}
	for _, p := range parties {
		r, err := NewKeygen(KeygenConfig{Self: p, Parties: parties, Threshold: 2, SessionNonce: nonce, PreParams: LoadTestPreParams(t, int(p)+3), Curve: CurveP256})
		if err != nil {
			t.Fatal(err)
		}
		runs[p] = r
	}
	results, err := execute(runs, nil, keygenTimeout)
	if err != nil {
		t.Fatal(err)
	}
	key := &keygenFixture{shares: map[protocol.PartyID][]byte{}}
	for p, res := range results {
		if res.Err != nil {
			t.Fatalf("%s: keygen: %v", p, res.Err)
		}
		key.pub, key.shares[p] = res.Keygen.PublicKey, res.Keygen.Share
	}

	spec := reshareSpec{
		engine: Engine{Curve: CurveP256},
		old:    []protocol.PartyID{1, 3}, oldT: 2, new: parties, newT: 2,
		pre: map[protocol.PartyID]int{1: 1, 2: 2, 3: 3},
	}
	refreshed := reshareKey(t, spec, key)
	for _, p := range parties {
		if secretOf(t, key.shares[p]).Cmp(secretOf(t, refreshed.shares[p])) == 0 {
			t.Fatalf("%s: the secret share did not change", p)
		}
	}
	digest := [32]byte{0: 0x25, 31: 0x6}
	sig := signOnce(t, refreshed, []protocol.PartyID{2, 3}, digest)
	x, y := elliptic.UnmarshalCompressed(elliptic.P256(), key.pub)
	if x == nil {
		t.Fatalf("public key %x is not a compressed P-256 point", key.pub)
	}
	if !ecdsa.Verify(&ecdsa.PublicKey{Curve: elliptic.P256(), X: x, Y: y}, digest[:], new(big.Int).SetBytes(sig.R[:]), new(big.Int).SetBytes(sig.S[:])) {
		t.Fatal("crypto/ecdsa rejects the signature made with the refreshed P-256 shares")
	}
}

// tamperReshare returns a tamperFunc that rewrites the framed messages of type T that party
// from sends to party to (any party when to is 0), using mutate.
func tamperReshare[T proto.Message](t testing.TB, from, to protocol.PartyID, mutate func(T)) (tamperFunc, func() int) {
	var mu sync.Mutex
	count := 0
	f := func(sender, recipient protocol.PartyID, o protocol.Outgoing) []byte {
		// A final acknowledgement carries a transcript digest after its message, and is
		// never what these tests tamper with; a sender that gets that far sends one.
		if sender != from || (to != 0 && recipient != to) || len(o.Payload) < 2 || o.Payload[0] == frameFinal {
			return o.Payload
		}
		var a anypb.Any
		if err := proto.Unmarshal(o.Payload[1:], &a); err != nil {
			t.Errorf("test: cannot parse payload: %v", err)
			return o.Payload
		}
		m, err := a.UnmarshalNew()
		if err != nil {
			t.Errorf("test: cannot parse payload content: %v", err)
			return o.Payload
		}
		msg, ok := m.(T)
		if !ok {
			return o.Payload
		}
		mutate(msg)
		a2, err := anypb.New(msg)
		if err != nil {
			t.Errorf("test: %v", err)
			return o.Payload
		}
		b, err := proto.Marshal(a2)
		if err != nil {
			t.Errorf("test: %v", err)
			return o.Payload
		}
		mu.Lock()
		count++
		mu.Unlock()
		return append([]byte{o.Payload[0]}, b...)
	}
	return f, func() int { mu.Lock(); defer mu.Unlock(); return count }
}

var refreshSpec = reshareSpec{old: []protocol.PartyID{1, 2}, oldT: 2, new: []protocol.PartyID{1, 2, 3}, newT: 2, pre: map[protocol.PartyID]int{1: 4, 2: 5, 3: 6}}

// A dealer whose round-1 message names another public key is blamed by every receiver at once
// (tss-lib itself only looks at the first dealer's key).
func TestReshareOtherPublicKeyBlamesDealer(t *testing.T) {
	fx := getKeygenFixture(t)
	runs := reshareRuns(t, refreshSpec, fx, newNonce(), nil)
	g := tss.S256().Params()
	tamper, count := tamperReshare(t, 2, 0, func(m *resharing.DGRound1Message) {
		m.EcdsaPubX, m.EcdsaPubY = g.Gx.Bytes(), g.Gy.Bytes() // a valid point: the key 1
	})
	results, err := execute(runs, tamper, reshareTimeout, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	if count() == 0 {
		t.Fatal("no message was tampered with")
	}
	for _, p := range []protocol.PartyID{1, 3} {
		pe := protoErr(t, results[p].Err)
		t.Logf("%s: %v", p, pe)
		if pe.Task != "reshare" || pe.Round != 1 || !slices.Equal(pe.Culprits, []protocol.PartyID{2}) || !strings.Contains(pe.Error(), "not of the key being reshared") {
			t.Fatalf("%s: got %+v, want reshare round 1 culprits [party 2]", p, pe)
		}
	}
}

// A dealer's share for one receiver that does not match its dealing is blamed on the dealer
// by tss-lib's check in round 4.
func TestReshareTamperedShareBlamesDealer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs most of a reshare")
	}
	fx := getKeygenFixture(t)
	runs := reshareRuns(t, refreshSpec, fx, newNonce(), nil)
	tamper, count := tamperReshare(t, 2, 3, func(m *resharing.DGRound3Message1) {
		m.Share = new(big.Int).Add(new(big.Int).SetBytes(m.Share), big.NewInt(1)).Bytes()
	})
	// Party 3 stops; the others wait for it, so only its result is collected.
	results, err := execute(runs, tamper, reshareTimeout, 3)
	if err != nil {
		t.Fatal(err)
	}
	if count() != 1 {
		t.Fatalf("tampered with %d messages, want 1", count())
	}
	pe := protoErr(t, results[3].Err)
	t.Logf("party 3: %v", pe)
	if pe.Task != "reshare" || pe.Round != 4 || !slices.Equal(pe.Culprits, []protocol.PartyID{2}) {
		t.Fatalf("got %+v, want reshare round 4 culprits [party 2]", pe)
	}
}

// Dealers with different session nonces compute different session ids: a receiver that also
// deals blames the other dealer, one that only receives fails without a culprit.
func TestReshareMismatchedSessionNonceFails(t *testing.T) {
	fx := getKeygenFixture(t)
	runs := reshareRuns(t, refreshSpec, fx, newNonce(), map[protocol.PartyID][]byte{1: newNonce()})
	results, err := execute(runs, nil, reshareTimeout)
	if err != nil {
		t.Fatal(err)
	}
	want := map[protocol.PartyID][]protocol.PartyID{1: {2}, 2: {1}, 3: nil}
	for p, culprits := range want {
		pe := protoErr(t, results[p].Err)
		t.Logf("%s: %v", p, pe)
		if pe.Task != "reshare" || !slices.Equal(pe.Culprits, culprits) || !strings.Contains(pe.Error(), "session id") {
			t.Fatalf("%s: got %+v, want culprits %v and a session id mismatch", p, pe, culprits)
		}
	}
}

// firstReshareBroadcast starts party from's side of spec and returns its first payload (a
// dealer's round-1 broadcast).
func firstReshareBroadcast(t *testing.T, spec reshareSpec, key *keygenFixture, from protocol.PartyID, nonce []byte) []byte {
	t.Helper()
	params := spec.params(from, key.pub, nonce)
	params.Share = key.shares[from]
	if slices.Contains(spec.new, from) {
		params.PreParams = LoadTestPreParams(t, spec.pre[from])
	}
	r, err := spec.engine.Reshare(params)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Abort(nil)
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case o := <-r.Outgoing():
		if !o.Broadcast || len(o.Payload) < 2 || o.Payload[0] != frameFromOld {
			t.Fatalf("first payload: broadcast %v, %d bytes", o.Broadcast, len(o.Payload))
		}
		return o.Payload
	case <-time.After(reshareTimeout):
		t.Fatal("no outgoing payload")
	}
	return nil
}

// framed returns a payload of frame byte frame and a tss-lib message m.
func framed(t *testing.T, frame byte, m proto.Message) []byte {
	t.Helper()
	a, err := anypb.New(m)
	if err != nil {
		t.Fatal(err)
	}
	b, err := proto.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte{frame}, b...)
}

func TestReshareHandleRejectsBadPayloads(t *testing.T) {
	fx := getKeygenFixture(t)
	// Party 1 only deals, 2 deals and receives, 3 only receives.
	spec := reshareSpec{old: []protocol.PartyID{1, 2}, oldT: 2, new: []protocol.PartyID{2, 3}, newT: 2, pre: map[protocol.PartyID]int{2: 5, 3: 6}}
	nonce := newNonce()
	r1 := firstReshareBroadcast(t, spec, fx, 1, nonce)
	asNew := append([]byte{frameFromNew}, r1[1:]...)
	share := framed(t, frameFromOld, &resharing.DGRound3Message1{Share: []byte{1}})
	facProof := framed(t, frameFromNew, &resharing.DGRound4Message1{})
	keygenMsg := framed(t, frameFromOld, &keygen.KGRound3Message{PaillierProof: [][]byte{{1}}})
	ack := framed(t, frameFromNew, &resharing.DGRound4Message2{})

	type delivery struct {
		from      protocol.PartyID
		broadcast bool
		payload   []byte
	}
	for _, tc := range []struct {
		name      string
		self      protocol.PartyID
		bad       delivery
		culprits  []protocol.PartyID
		errSubstr string
	}{
		{"from self", 3, delivery{3, true, r1}, nil, "this party"},
		{"not a participant", 3, delivery{4, true, r1}, nil, "not a participant"},
		{"empty", 3, delivery{1, true, nil}, []protocol.PartyID{1}, "empty"},
		{"frame byte only", 3, delivery{1, true, r1[:1]}, []protocol.PartyID{1}, "too short"},
		{"unknown frame byte", 3, delivery{1, true, append([]byte{9}, r1[1:]...)}, []protocol.PartyID{1}, "unknown frame byte"},
		{"garbage after the frame byte", 3, delivery{1, true, []byte{frameFromOld, 0xff, 0xff}}, []protocol.PartyID{1}, "malformed"},
		{"framed from a committee the sender is not in", 3, delivery{1, true, asNew}, []protocol.PartyID{1}, "which party 1 is not in"},
		{"framing contradicts the message type", 3, delivery{2, true, append([]byte{frameFromNew}, r1[1:]...)}, []protocol.PartyID{2}, "must be framed 0x01"},
		{"final acknowledgement without a digest", 3, delivery{2, true, ack}, []protocol.PartyID{2}, "must be framed 0x03"},
		{"final acknowledgement with a short digest", 3, delivery{2, true, append([]byte{frameFinal}, make([]byte, transcriptSize-1)...)}, []protocol.PartyID{2}, "too short for a final acknowledgement"},
		{"broadcast sent point-to-point", 3, delivery{1, false, r1}, []protocol.PartyID{1}, "must be broadcast"},
		{"share for a party that only deals", 1, delivery{2, false, share}, []protocol.PartyID{2}, "not in"},
		{"proof for a party that only deals", 1, delivery{3, false, facProof}, []protocol.PartyID{3}, "not in"},
		{"a message of another protocol", 3, delivery{1, true, keygenMsg}, []protocol.PartyID{1}, "unexpected type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			params := spec.params(tc.self, fx.pub, nonce)
			if slices.Contains(spec.old, tc.self) {
				params.Share = fx.shares[tc.self]
			}
			if slices.Contains(spec.new, tc.self) {
				params.PreParams = LoadTestPreParams(t, spec.pre[tc.self])
			}
			r, err := reshareNoPanic(t, params)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Abort(nil)
			if err := r.Start(); err != nil {
				t.Fatal(err)
			}
			err = r.Handle(tc.bad.from, tc.bad.broadcast, tc.bad.payload)
			if err == nil {
				t.Fatal("Handle accepted a bad payload")
			}
			pe := protoErr(t, err)
			if !strings.Contains(err.Error(), tc.errSubstr) || !slices.Equal(pe.Culprits, tc.culprits) || pe.Task != "reshare" {
				t.Fatalf("Handle error %v (culprits %v), want %q with culprits %v", err, pe.Culprits, tc.errSubstr, tc.culprits)
			}
			if res := awaitDone(t, r, reshareTimeout); res.Err != err {
				t.Fatalf("Done yields %v, Handle returned %v", res.Err, err)
			}
		})
	}

	// A good round-1 payload is accepted by a party that receives, and dropped without error
	// by one that only deals.
	for _, self := range []protocol.PartyID{2, 3} {
		params := spec.params(self, fx.pub, nonce)
		if self == 2 {
			params.Share = fx.shares[2]
		}
		params.PreParams = LoadTestPreParams(t, spec.pre[self])
		r, err := reshareNoPanic(t, params)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Start(); err != nil {
			t.Fatal(err)
		}
		if err := r.Handle(1, true, r1); err != nil {
			t.Fatalf("%s: good round-1 payload refused: %v", self, err)
		}
		r.Abort(nil)
	}
}

// reshareNoPanic calls the secp256k1 engine's Reshare and fails the test on a panic.
func reshareNoPanic(t *testing.T, p protocol.ReshareParams) (protocol.Run, error) {
	t.Helper()
	return noPanic(t, func() (protocol.Run, error) { return Engine{}.Reshare(p) })
}

func TestReshareParamsValidation(t *testing.T) {
	fx := getKeygenFixture(t)
	pp1 := LoadTestPreParams(t, 4)
	good := protocol.ReshareParams{
		Self: 1, OldParties: []protocol.PartyID{1, 2}, OldThreshold: 2, NewParties: []protocol.PartyID{1, 2, 3}, NewThreshold: 2,
		Share: fx.shares[1], PublicKey: fx.pub, SessionNonce: newNonce(), PreParams: pp1,
	}
	r, err := reshareNoPanic(t, good)
	if err != nil {
		t.Fatalf("valid params rejected: %v", err)
	}
	r.Abort(nil)

	many := make([]protocol.PartyID, maxReshareParties+1)
	for i := range many {
		many[i] = protocol.PartyID(i + 1)
	}
	otherKey := secp256k1Generator()
	for _, tc := range []struct {
		name      string
		engine    Engine
		mutate    func(*protocol.ReshareParams)
		errSubstr string
	}{
		{"old parties not ascending", Engine{}, func(p *protocol.ReshareParams) { p.OldParties = []protocol.PartyID{2, 1} }, "ascending"},
		{"old parties empty", Engine{}, func(p *protocol.ReshareParams) { p.OldParties, p.OldThreshold = nil, 0 }, "old parties"},
		{"duplicate new party", Engine{}, func(p *protocol.ReshareParams) { p.NewParties = []protocol.PartyID{1, 2, 2} }, "listed twice"},
		{"party 0", Engine{}, func(p *protocol.ReshareParams) { p.NewParties = []protocol.PartyID{0, 1, 2} }, "party 0"},
		{"old threshold is not the dealer count", Engine{}, func(p *protocol.ReshareParams) { p.OldThreshold = 3 }, "exactly the old threshold"},
		{"new threshold above the new parties", Engine{}, func(p *protocol.ReshareParams) { p.NewThreshold = 4 }, "new threshold 4"},
		{"new threshold 1", Engine{}, func(p *protocol.ReshareParams) { p.NewThreshold = 1 }, "at least 2 signers"},
		{"one dealer", Engine{}, func(p *protocol.ReshareParams) { p.OldParties, p.OldThreshold = []protocol.PartyID{1}, 1 }, "old threshold 1"},
		{"too many new parties", Engine{}, func(p *protocol.ReshareParams) { p.NewParties = many }, "at most 64"},
		{"self in neither committee", Engine{}, func(p *protocol.ReshareParams) { p.Self = 4 }, "neither an old nor a new party"},
		{"dealer without its share", Engine{}, func(p *protocol.ReshareParams) { p.Share = nil }, "share exactly when"},
		{"receiver-only with a share", Engine{}, func(p *protocol.ReshareParams) { p.Self, p.Share = 3, fx.shares[3] }, "share exactly when"},
		{"nonce short", Engine{}, func(p *protocol.ReshareParams) { p.SessionNonce = p.SessionNonce[:31] }, "32 bytes"},
		{"nonce zero", Engine{}, func(p *protocol.ReshareParams) { p.SessionNonce = make([]byte, 32) }, "all zero"},
		{"public key missing", Engine{}, func(p *protocol.ReshareParams) { p.PublicKey = nil }, "public key is missing"},
		{"public key not a point", Engine{}, func(p *protocol.ReshareParams) {
			p.Self, p.Share, p.PublicKey = 3, nil, append([]byte{5}, p.PublicKey[1:]...)
		}, "not a 33-byte compressed secp256k1 key"},
		{"public key uncompressed", Engine{}, func(p *protocol.ReshareParams) { p.Self, p.Share, p.PublicKey = 3, nil, make([]byte, 65) }, "not a 33-byte compressed"},
		{"another public key", Engine{}, func(p *protocol.ReshareParams) { p.PublicKey = otherKey }, "not of"},
		{"share garbage", Engine{}, func(p *protocol.ReshareParams) { p.Share = []byte("{}") }, "invalid share"},
		{"share of another party", Engine{}, func(p *protocol.ReshareParams) { p.Share = fx.shares[2] }, "belongs to party 2"},
		{"dealers are not the share's threshold", Engine{}, func(p *protocol.ReshareParams) {
			p.OldParties, p.OldThreshold = []protocol.PartyID{1, 2, 3}, 3
		}, "threshold is 2"},
		{"dealer without a share of the key", Engine{}, func(p *protocol.ReshareParams) { p.OldParties = []protocol.PartyID{1, 4} }, "party 4 holds no share"},
		{"share of another curve", Engine{Curve: CurveP256}, func(*protocol.ReshareParams) {}, "the share is on secp256k1"},
		{"unknown curve", Engine{Curve: "ed448"}, func(*protocol.ReshareParams) {}, "unsupported curve"},
		{"receiver without pre-params", Engine{}, func(p *protocol.ReshareParams) { p.PreParams = nil }, "needs pre-params"},
		{"dealer-only with pre-params", Engine{}, func(p *protocol.ReshareParams) { p.NewParties = []protocol.PartyID{2, 3} }, "must not be given pre-params"},
		{"pre-params garbage", Engine{}, func(p *protocol.ReshareParams) { p.PreParams = []byte("{}") }, "pre-params"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := good
			p.SessionNonce = slices.Clone(good.SessionNonce)
			tc.mutate(&p)
			r, err := noPanic(t, func() (protocol.Run, error) { return tc.engine.Reshare(p) })
			if err == nil {
				r.Abort(nil)
				t.Fatal("bad params accepted")
			}
			if r != nil {
				t.Fatal("a run was returned with an error")
			}
			if !strings.Contains(err.Error(), tc.errSubstr) || !strings.HasPrefix(err.Error(), "ecdsa: reshare: ") {
				t.Fatalf("error %q, want it to contain %q", err, tc.errSubstr)
			}
		})
	}
}

// secp256k1Generator returns the compressed generator: a valid key that no test key equals.
func secp256k1Generator() []byte {
	g := tss.S256().Params()
	out := make([]byte, 33)
	out[0] = 2 + byte(g.Gy.Bit(0))
	g.Gx.FillBytes(out[1:])
	return out
}

// Frame decoding must never panic, whatever the payload, the sender or the broadcast flag.
func FuzzReshareParse(f *testing.F) {
	spec := reshareSpec{old: []protocol.PartyID{1, 2}, oldT: 2, new: []protocol.PartyID{2, 3}, newT: 2}
	routers := []*reshareRouter{}
	for _, self := range spec.participants() {
		routers = append(routers, newReshareRouter(spec.params(self, nil, nil)))
	}
	seed := func(frame byte, m proto.Message) []byte {
		a, err := anypb.New(m)
		if err != nil {
			f.Fatal(err)
		}
		b, err := proto.Marshal(a)
		if err != nil {
			f.Fatal(err)
		}
		return append([]byte{frame}, b...)
	}
	f.Add(uint16(1), true, seed(frameFromOld, &resharing.DGRound1Message{EcdsaPubX: []byte{1}, EcdsaPubY: []byte{2}, VCommitment: []byte{3}, Ssid: []byte{4}}))
	f.Add(uint16(2), false, seed(frameFromOld, &resharing.DGRound3Message1{Share: []byte{1}}))
	f.Add(uint16(3), true, append(append([]byte{frameFinal}, make([]byte, transcriptSize)...), seed(frameFromNew, &resharing.DGRound4Message2{})[1:]...))
	f.Add(uint16(3), true, seed(frameFromNew, &resharing.DGRound4Message2{}))
	f.Add(uint16(3), false, seed(frameFromNew, &resharing.DGRound4Message1{}))
	f.Add(uint16(2), true, seed(frameFromNew, &resharing.DGRound2Message1{}))
	f.Add(uint16(1), true, []byte{frameFromOld})
	f.Add(uint16(0), false, []byte{})
	f.Fuzz(func(t *testing.T, from uint16, broadcast bool, payload []byte) {
		for _, rt := range routers {
			msg, err := rt.parse(protocol.PartyID(from), broadcast, payload)
			if err == nil && (msg == nil || msg.GetFrom() == nil) {
				t.Fatalf("parse accepted %x without a message or sender", payload)
			}
			if err == nil {
				reshareMessage(msg.Content())
				com, _ := frameCommittee(payload[0])
				if m, ok := rt.member(msg.GetFrom()); !ok || m.party != protocol.PartyID(from) || m.committee != com {
					t.Fatalf("parse attributed %x from %d to %+v", payload, from, m)
				}
			}
		}
	})
}

// routeString describes routed payloads for a failure message.
func routeString(outs []protocol.Outgoing) string {
	var parts []string
	for _, o := range outs {
		parts = append(parts, fmt.Sprintf("{broadcast %v to %v frame %d}", o.Broadcast, o.To, o.Payload[0]))
	}
	return strings.Join(parts, " ")
}

// A party in both committees keeps its two tss-lib parties' messages to each other inside the
// run, frames the rest with the sending committee, and never sends a party its own copy.
func TestReshareRouting(t *testing.T) {
	spec := reshareSpec{old: []protocol.PartyID{1, 2}, oldT: 2, new: []protocol.PartyID{2, 3}, newT: 2}
	rt := newReshareRouter(spec.params(2, nil, nil))
	dealer, receiver := rt.old[2], rt.new[2]
	if dealer.KeyInt().Cmp(receiver.KeyInt()) == 0 || receiver.KeyInt().Cmp(big.NewInt(2)) != 0 {
		t.Fatalf("party 2's keys: dealer %v, receiver %v; want distinct, the receiver's 2", dealer.KeyInt(), receiver.KeyInt())
	}
	fillTranscript(rt.transcript, spec)
	for _, tc := range []struct {
		name   string
		msg    tss.Message
		outs   string
		locals int
	}{
		{"dealing to the new committee", resharing.NewDGRound1Message(rt.newIDs.Exclude(dealer), dealer, tsscrypto.NewECPointNoCurveCheck(tss.S256(), tss.S256().Params().Gx, tss.S256().Params().Gy), big.NewInt(1), []byte{1}), "{broadcast true to [] frame 1}", 1},
		{"share for its own receiver", resharing.NewDGRound3Message1(receiver, dealer, &vss.Share{Threshold: 1, ID: big.NewInt(2), Share: big.NewInt(5)}), "", 1},
		{"share for another receiver", resharing.NewDGRound3Message1(rt.new[3], dealer, &vss.Share{Threshold: 1, ID: big.NewInt(2), Share: big.NewInt(5)}), "{broadcast false to [party 3] frame 1}", 0},
		{"acknowledgement to the dealers", resharing.NewDGRound2Message2(rt.oldIDs.Exclude(receiver), receiver), "{broadcast true to [] frame 2}", 1},
		{"last acknowledgement to both committees", resharing.NewDGRound4Message2(append(slices.Clone(rt.oldIDs), rt.newIDs...), receiver), "{broadcast true to [] frame 3}", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outs, locals, err := rt.route(tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			if got := routeString(outs); got != tc.outs || len(locals) != tc.locals {
				t.Fatalf("routed to %q with %d local copies, want %q with %d", got, len(locals), tc.outs, tc.locals)
			}
			for _, l := range locals {
				if l.GetFrom() != tc.msg.GetFrom() {
					t.Fatal("local copy from another sender")
				}
			}
		})
	}
	if _, _, err := rt.route(resharing.NewDGRound2Message2(rt.oldIDs, rt.new[3])); err == nil {
		t.Fatal("routed a message from another party's tss-lib party")
	}
}

// fillTranscript records a dealing of every dealer of spec and receiver keys of every
// receiver, as tr would see them in a run.
func fillTranscript(tr *transcript, spec reshareSpec) {
	for _, d := range spec.old {
		tr.record(d, &resharing.DGRound1Message{VCommitment: []byte{byte(d)}})
		tr.record(d, &resharing.DGRound3Message2{VDecommitment: [][]byte{{byte(d)}}})
	}
	for _, r := range spec.new {
		tr.record(r, &resharing.DGRound2Message1{H1: []byte{byte(r)}})
	}
}

// Every participant reports success only once each other receiver has reported the same
// transcript digest as its own.
func TestReshareTranscriptAgreement(t *testing.T) {
	spec := reshareSpec{old: []protocol.PartyID{1, 2}, oldT: 2, new: []protocol.PartyID{2, 3, 4}, newT: 2}
	honest := newTranscript(spec.params(1, nil, nil))
	fillTranscript(honest, spec)
	want, err := honest.digest()
	if err != nil {
		t.Fatal(err)
	}

	t.Run("a broadcast is missing", func(t *testing.T) {
		tr := newTranscript(spec.params(3, nil, nil))
		tr.record(1, &resharing.DGRound1Message{VCommitment: []byte{1}})
		if _, err := tr.digest(); err == nil || !strings.Contains(err.Error(), "has not arrived") {
			t.Fatalf("digest of an incomplete transcript: %v", err)
		}
		tr.reported(2, want)
		tr.reported(4, want)
		if ok, err := tr.agreed(); ok || err != nil {
			t.Fatalf("agreed = %v, %v before every broadcast is in", ok, err)
		}
	})
	t.Run("a report is missing, then all agree", func(t *testing.T) {
		tr := newTranscript(spec.params(3, nil, nil))
		fillTranscript(tr, spec)
		tr.reported(2, want)
		if ok, err := tr.agreed(); ok || err != nil {
			t.Fatalf("agreed = %v, %v with party 4's report missing", ok, err)
		}
		tr.reported(4, want)
		if ok, err := tr.agreed(); !ok || err != nil {
			t.Fatalf("agreed = %v, %v with every report in", ok, err)
		}
	})
	t.Run("a dealer sent this party another opening", func(t *testing.T) {
		tr := newTranscript(spec.params(1, nil, nil))
		tr.record(2, &resharing.DGRound3Message2{VDecommitment: [][]byte{{0xee}}}) // first copy counts
		fillTranscript(tr, spec)
		for _, r := range spec.new {
			tr.reported(r, want)
		}
		ok, err := tr.agreed()
		if ok || err == nil || !strings.Contains(err.Error(), "party 2, party 3, party 4 saw other broadcasts") {
			t.Fatalf("agreed = %v, %v; want a disagreement with every receiver", ok, err)
		}
	})
	t.Run("one receiver reports another digest", func(t *testing.T) {
		tr := newTranscript(spec.params(2, nil, nil))
		fillTranscript(tr, spec)
		tr.reported(3, want)
		tr.reported(4, bytes.Repeat([]byte{1}, transcriptSize))
		ok, err := tr.agreed()
		if ok || err == nil || !strings.Contains(err.Error(), "party 4 saw other broadcasts") {
			t.Fatalf("agreed = %v, %v; want a disagreement with party 4", ok, err)
		}
	})
}
