package ecdsa

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bnb-chain/tss-lib/v3/ecdsa/keygen"
	"github.com/bnb-chain/tss-lib/v3/ecdsa/signing"
	"github.com/bnb-chain/tss-lib/v3/tss"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/mpcsigner/mpcsigner/protocol"
)

func TestKeygen2of3AndSignWithEveryPair(t *testing.T) {
	fx := getKeygenFixture(t)
	if len(fx.pub) != 33 || (fx.pub[0] != 2 && fx.pub[0] != 3) {
		t.Fatalf("public key %x is not a compressed SEC1 key", fx.pub)
	}
	for p, b := range fx.shares {
		s, err := DecodeShare(b)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if s.Self() != p || s.Threshold() != 2 || !slices.Equal(s.Parties(), []protocol.PartyID{1, 2, 3}) || !bytes.Equal(s.PublicKey(), fx.pub) {
			t.Fatalf("%s: decoded share %v", p, s)
		}
		if pub, err := PublicKeyFromShare(b); err != nil || !bytes.Equal(pub, fx.pub) {
			t.Fatalf("%s: PublicKeyFromShare = %x, %v", p, pub, err)
		}
	}

	digest := [32]byte{0: 0xde, 1: 0xad, 31: 0x01}
	for _, signers := range [][]protocol.PartyID{{1, 2}, {1, 3}, {2, 3}, {3, 1}} {
		t.Run(fmt.Sprint(signers), func(t *testing.T) {
			sig := signOnce(t, fx, signers, digest)
			verifyWithEthereum(t, fx.pub, digest, sig)
		})
	}
}

func TestSignDigestAboveCurveOrder(t *testing.T) {
	fx := getKeygenFixture(t)
	var digest [32]byte
	for i := range digest {
		digest[i] = 0xff // > N: ECDSA signs it reduced mod N
	}
	sig := signOnce(t, fx, []protocol.PartyID{2, 3}, digest)
	verifyWithEthereum(t, fx.pub, digest, sig)
}

func TestSignDifferentSessionNoncesEachWork(t *testing.T) {
	fx := getKeygenFixture(t)
	digest := [32]byte{7}
	first := signOnce(t, fx, []protocol.PartyID{1, 2}, digest) // a fresh nonce each
	second := signOnce(t, fx, []protocol.PartyID{1, 2}, digest)
	verifyWithEthereum(t, fx.pub, digest, first)
	verifyWithEthereum(t, fx.pub, digest, second)
	if first.R == second.R {
		t.Fatal("two signings produced the same R: nonces are not fresh")
	}
}

func TestSignMismatchedSessionNonceFails(t *testing.T) {
	fx := getKeygenFixture(t)
	runs, err := signRuns(fx.shares, []protocol.PartyID{1, 3}, [32]byte{9}, newNonce(), map[protocol.PartyID][]byte{3: newNonce()})
	if err != nil {
		t.Fatal(err)
	}
	results, err := execute(runs, nil, signTimeout)
	if err != nil {
		t.Fatal(err)
	}
	for p, res := range results {
		if res.Err == nil {
			t.Fatalf("%s: run succeeded despite mismatched session nonces", p)
		}
		pe := protoErr(t, res.Err)
		if pe.Task != "sign" {
			t.Fatalf("%s: task %q", p, pe.Task)
		}
		t.Logf("%s: %v", p, res.Err)
	}
}

func TestSignMismatchedDigestFails(t *testing.T) {
	fx := getKeygenFixture(t)
	nonce := newNonce()
	signers := []protocol.PartyID{2, 3}
	runs := make(map[protocol.PartyID]protocol.Run)
	for _, p := range signers {
		r, err := NewSign(SignConfig{Self: p, Signers: signers, Share: fx.shares[p], Digest: [32]byte{byte(p)}, SessionNonce: nonce})
		if err != nil {
			t.Fatal(err)
		}
		runs[p] = r
	}
	results, err := execute(runs, nil, signTimeout)
	if err != nil {
		t.Fatal(err)
	}
	for p, res := range results {
		if res.Err == nil {
			t.Fatalf("%s: signing succeeded although the signers disagree on the digest", p)
		}
		t.Logf("%s: %v", p, protoErr(t, res.Err))
	}
}

func TestGeneratePreParamsHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	b, err := GeneratePreParams(ctx)
	if err == nil || b != nil {
		t.Fatal("GeneratePreParams succeeded with a cancelled context")
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v does not wrap context.Canceled", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %v to notice the cancelled context", d)
	}
}

func TestKeygenMismatchedSessionNonceFails(t *testing.T) {
	if testing.Short() {
		t.Skip("runs part of a keygen")
	}
	runs, err := keygenRuns(3, 2, newNonce(), map[protocol.PartyID][]byte{3: newNonce()})
	if err != nil {
		t.Fatal(err)
	}
	results, err := execute(runs, nil, keygenTimeout)
	if err != nil {
		t.Fatal(err)
	}
	for p, res := range results {
		if res.Err == nil {
			t.Fatalf("%s: keygen succeeded despite mismatched session nonces", p)
		}
		pe := protoErr(t, res.Err)
		t.Logf("%s: %v", p, pe)
		// Parties 1 and 2 share a nonce: the proofs of party 3 fail for them.
		if p != 3 && !slices.Equal(pe.Culprits, []protocol.PartyID{3}) {
			t.Fatalf("%s blames %v, want [party 3]", p, pe.Culprits)
		}
	}
}

// tamperMessage returns a tamperFunc that rewrites every message of party from whose content
// has type T, using mutate.
func tamperMessage[T proto.Message](t testing.TB, from protocol.PartyID, mutate func(T)) (tamperFunc, func() int) {
	var count int
	var mu = make(chan struct{}, 1)
	f := func(sender, _ protocol.PartyID, o protocol.Outgoing) []byte {
		if sender != from {
			return o.Payload
		}
		var a anypb.Any
		if err := proto.Unmarshal(o.Payload, &a); err != nil {
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
		mu <- struct{}{}
		count++
		<-mu
		return b
	}
	return f, func() int { mu <- struct{}{}; defer func() { <-mu }(); return count }
}

func flipLastByte(b []byte) { b[len(b)-1] ^= 0x01 }

func TestSignTamperedDecommitmentBlamesSender(t *testing.T) {
	fx := getKeygenFixture(t)
	runs, err := signRuns(fx.shares, []protocol.PartyID{1, 2}, [32]byte{1, 2, 3}, newNonce(), nil)
	if err != nil {
		t.Fatal(err)
	}
	// Party 2's round-4 message opens its round-1 commitment to Gamma_2; change the opening.
	tamper, count := tamperMessage(t, 2, func(m *signing.SignRound4Message) { flipLastByte(m.DeCommitment[0]) })
	// Party 2 itself waits for party 1 forever after that; only party 1 reports.
	results, err := execute(runs, tamper, signTimeout, 1)
	if err != nil {
		t.Fatal(err)
	}
	if count() == 0 {
		t.Fatal("no message was tampered with")
	}
	res := results[1]
	if res.Err == nil {
		t.Fatal("signing succeeded with a tampered decommitment")
	}
	pe := protoErr(t, res.Err)
	t.Logf("party 1: %v", pe)
	if pe.Task != "sign" || pe.Round != 5 || !slices.Equal(pe.Culprits, []protocol.PartyID{2}) {
		t.Fatalf("got %+v, want sign round 5 culprits [party 2]", pe)
	}
	if !slices.Equal(protocol.Culprits(res.Err), []protocol.PartyID{2}) {
		t.Fatalf("protocol.Culprits = %v", protocol.Culprits(res.Err))
	}
}

func TestKeygenTamperedDecommitmentBlamesSender(t *testing.T) {
	if testing.Short() {
		t.Skip("runs part of a keygen")
	}
	runs, err := keygenRuns(3, 2, newNonce(), nil)
	if err != nil {
		t.Fatal(err)
	}
	// Party 2's round-2 broadcast opens its commitment to its VSS polynomial; change it.
	tamper, count := tamperMessage(t, 2, func(m *keygen.KGRound2Message2) { flipLastByte(m.DeCommitment[0]) })
	results, err := execute(runs, tamper, keygenTimeout, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	if count() != 2 {
		t.Fatalf("tampered with %d messages, want 2", count())
	}
	for _, p := range []protocol.PartyID{1, 3} {
		res := results[p]
		if res.Err == nil {
			t.Fatalf("%s: keygen succeeded with a tampered decommitment", p)
		}
		pe := protoErr(t, res.Err)
		t.Logf("%s: %v", p, pe)
		if pe.Task != "keygen" || pe.Round != 3 || !slices.Equal(pe.Culprits, []protocol.PartyID{2}) {
			t.Fatalf("%s: got %+v, want keygen round 3 culprits [party 2]", p, pe)
		}
	}
}

// firstPayloads starts a sign run of party from (signers 1, 2) and returns its first
// point-to-point and broadcast payloads.
func firstPayloads(t *testing.T, fx *keygenFixture, from protocol.PartyID, digest [32]byte, nonce []byte) (p2p, bcast []byte) {
	t.Helper()
	r, err := NewSign(SignConfig{Self: from, Signers: []protocol.PartyID{1, 2}, Share: fx.shares[from], Digest: digest, SessionNonce: nonce})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Abort(nil)
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(signTimeout)
	for p2p == nil || bcast == nil {
		select {
		case o := <-r.Outgoing():
			if o.Broadcast {
				bcast = o.Payload
			} else {
				p2p = o.Payload
			}
		case <-timeout:
			t.Fatal("no outgoing payloads")
		}
	}
	return p2p, bcast
}

func TestHandleRejectsBadPayloads(t *testing.T) {
	fx := getKeygenFixture(t)
	digest, nonce := [32]byte{5}, newNonce()
	p2p, bcast := firstPayloads(t, fx, 2, digest, nonce)
	foreign, err := anypb.New(&keygen.KGRound3Message{PaillierProof: [][]byte{{1}}})
	if err != nil {
		t.Fatal(err)
	}
	foreignPayload, err := proto.Marshal(foreign)
	if err != nil {
		t.Fatal(err)
	}
	tampered, _ := tamperMessage(t, 2, func(m *signing.SignRound1Message2) { flipLastByte(m.Commitment) })
	conflicting := tampered(2, 1, protocol.Outgoing{Broadcast: true, Payload: bcast})

	type delivery struct {
		from      protocol.PartyID
		broadcast bool
		payload   []byte
	}
	for _, tc := range []struct {
		name      string
		noStart   bool
		before    []delivery // accepted first
		bad       delivery
		culprits  []protocol.PartyID
		errSubstr string
	}{
		{name: "before Start", noStart: true, bad: delivery{2, true, bcast}, errSubstr: "before Start"},
		{name: "from self", bad: delivery{1, true, bcast}, errSubstr: "this party"},
		{name: "key party not signing", bad: delivery{3, true, bcast}, errSubstr: "not a participant"},
		{name: "unknown party", bad: delivery{9, true, bcast}, errSubstr: "not a participant"},
		{name: "party 0", bad: delivery{0, true, bcast}, errSubstr: "not a participant"},
		{name: "empty", bad: delivery{2, true, nil}, culprits: []protocol.PartyID{2}, errSubstr: "empty"},
		{name: "oversized", bad: delivery{2, true, make([]byte, MaxPayloadSize+1)}, culprits: []protocol.PartyID{2}, errSubstr: "too large"},
		{name: "garbage", bad: delivery{2, true, []byte{0xff, 0xff, 0xff}}, culprits: []protocol.PartyID{2}, errSubstr: "malformed"},
		{name: "keygen message in signing", bad: delivery{2, true, foreignPayload}, culprits: []protocol.PartyID{2}, errSubstr: "unexpected type"},
		{name: "broadcast sent point-to-point", bad: delivery{2, false, bcast}, culprits: []protocol.PartyID{2}, errSubstr: "must be broadcast"},
		{name: "point-to-point sent as broadcast", bad: delivery{2, true, p2p}, culprits: []protocol.PartyID{2}, errSubstr: "must be point-to-point"},
		{name: "conflicting second message", before: []delivery{{2, true, bcast}}, bad: delivery{2, true, conflicting}, culprits: []protocol.PartyID{2}, errSubstr: "two different"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewSign(SignConfig{Self: 1, Signers: []protocol.PartyID{1, 2}, Share: fx.shares[1], Digest: digest, SessionNonce: nonce})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Abort(nil)
			if !tc.noStart {
				if err := r.Start(); err != nil {
					t.Fatal(err)
				}
			}
			for _, d := range tc.before {
				if err := r.Handle(d.from, d.broadcast, d.payload); err != nil {
					t.Fatalf("good payload rejected: %v", err)
				}
			}
			err = r.Handle(tc.bad.from, tc.bad.broadcast, tc.bad.payload)
			if err == nil {
				t.Fatal("Handle accepted a bad payload")
			}
			pe := protoErr(t, err)
			if !strings.Contains(err.Error(), tc.errSubstr) || !slices.Equal(pe.Culprits, tc.culprits) || pe.Task != "sign" {
				t.Fatalf("Handle error %v (culprits %v), want %q with culprits %v", err, pe.Culprits, tc.errSubstr, tc.culprits)
			}
			if res := awaitDone(t, r, signTimeout); res.Err != err {
				t.Fatalf("Done yields %v, Handle returned %v", res.Err, err)
			}
			if err := r.Handle(2, true, bcast); !errors.Is(err, ErrEnded) {
				t.Fatalf("Handle after the end = %v, want ErrEnded", err)
			}
		})
	}
}

func TestFailureIsDeliveredAfterQueuedPayloads(t *testing.T) {
	fx := getKeygenFixture(t)
	r, err := NewSign(SignConfig{Self: 1, Signers: []protocol.PartyID{1, 2}, Share: fx.shares[1], Digest: [32]byte{4}, SessionNonce: newNonce()})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Abort(nil)
	if err := r.Start(); err != nil { // queues two payloads for party 2
		t.Fatal(err)
	}
	herr := r.Handle(2, true, []byte{0xff})
	if herr == nil {
		t.Fatal("garbage accepted")
	}
	select {
	case res := <-r.Done():
		t.Fatalf("result %v delivered before the queued payloads were taken", res)
	case <-time.After(100 * time.Millisecond):
	}
	for i := 0; i < 2; i++ {
		select {
		case <-r.Outgoing():
		case <-time.After(signTimeout):
			t.Fatalf("queued payload %d not emitted", i)
		}
	}
	select {
	case res := <-r.Done():
		if res.Err != herr {
			t.Fatalf("Done yields %v, Handle returned %v", res.Err, herr)
		}
	case <-time.After(signTimeout):
		t.Fatal("no result after the queue was taken")
	}
	select {
	case o := <-r.Outgoing():
		t.Fatalf("payload emitted after the result: %d bytes", len(o.Payload))
	case <-time.After(50 * time.Millisecond):
	}
}

func TestHandleIgnoresIdenticalDuplicate(t *testing.T) {
	fx := getKeygenFixture(t)
	digest, nonce := [32]byte{6}, newNonce()
	_, bcast := firstPayloads(t, fx, 2, digest, nonce)
	r, err := NewSign(SignConfig{Self: 1, Signers: []protocol.PartyID{1, 2}, Share: fx.shares[1], Digest: digest, SessionNonce: nonce})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Abort(nil)
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := r.Handle(2, true, bcast); err != nil {
			t.Fatalf("delivery %d: %v", i, err)
		}
	}
	select {
	case res := <-r.Done():
		t.Fatalf("run ended: %+v", res)
	default:
	}
}

func TestAbort(t *testing.T) {
	fx := getKeygenFixture(t)
	newRun := func(t *testing.T) protocol.Run {
		r, err := NewSign(SignConfig{Self: 1, Signers: []protocol.PartyID{1, 2}, Share: fx.shares[1], Digest: [32]byte{1}, SessionNonce: newNonce()})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	cause := errors.New("operator cancelled")

	t.Run("during run", func(t *testing.T) {
		r := newRun(t)
		if err := r.Start(); err != nil {
			t.Fatal(err)
		}
		r.Abort(cause)
		r.Abort(errors.New("second abort"))
		var res protocol.Result
		select {
		case res = <-r.Done():
		case <-time.After(signTimeout):
			t.Fatal("no result after Abort")
		}
		pe := protoErr(t, res.Err)
		if !errors.Is(res.Err, cause) || pe.Task != "sign" || len(pe.Culprits) != 0 {
			t.Fatalf("Done yields %v", res.Err)
		}
		if err := r.Handle(2, true, []byte{1}); !errors.Is(err, ErrEnded) {
			t.Fatalf("Handle after Abort = %v, want ErrEnded", err)
		}
		if err := r.Start(); !errors.Is(err, ErrEnded) {
			t.Fatalf("Start after Abort = %v, want ErrEnded", err)
		}
		select {
		case res := <-r.Done():
			t.Fatalf("second result %+v", res)
		case o := <-r.Outgoing():
			t.Fatalf("payload emitted after the result: %d bytes", len(o.Payload))
		case <-time.After(100 * time.Millisecond):
		}
	})

	t.Run("before Start", func(t *testing.T) {
		r := newRun(t)
		r.Abort(nil)
		res := <-r.Done()
		if pe := protoErr(t, res.Err); !errors.Is(pe, errAborted) {
			t.Fatalf("Done yields %v", res.Err)
		}
		if err := r.Start(); !errors.Is(err, ErrEnded) {
			t.Fatalf("Start after Abort = %v, want ErrEnded", err)
		}
	})

	t.Run("keeps a protocol.Error", func(t *testing.T) {
		r := newRun(t)
		if err := r.Start(); err != nil {
			t.Fatal(err)
		}
		want := &protocol.Error{Task: "sign", Round: 2, Culprits: []protocol.PartyID{2}, Cause: errors.New("timed out")}
		r.Abort(want)
		if res := <-r.Done(); res.Err != want {
			t.Fatalf("Done yields %v, want %v", res.Err, want)
		}
	})

	t.Run("mid-protocol with traffic", func(t *testing.T) {
		runs, err := signRuns(fx.shares, []protocol.PartyID{1, 2}, [32]byte{3}, newNonce(), nil)
		if err != nil {
			t.Fatal(err)
		}
		n, err := startNet(runs, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer n.close()
		runs[2].Abort(cause)
		results, err := n.wait(signTimeout, 2)
		if err != nil {
			t.Fatal(err)
		}
		if !errors.Is(results[2].Err, cause) {
			t.Fatalf("party 2: %+v", results[2])
		}
	})
}

func TestKeygenConfigValidation(t *testing.T) {
	pp := LoadTestPreParams(t, 1)
	good := KeygenConfig{Self: 1, Parties: []protocol.PartyID{1, 2, 3}, Threshold: 2, SessionNonce: newNonce(), PreParams: pp}
	r, err := NewKeygen(good)
	if err != nil {
		t.Fatalf("valid config rejected: %v", err)
	}
	r.Abort(nil)

	for _, tc := range []struct {
		name   string
		mutate func(*KeygenConfig)
	}{
		{"no parties", func(c *KeygenConfig) { c.Parties = nil }},
		{"one party", func(c *KeygenConfig) { c.Parties = []protocol.PartyID{1}; c.Threshold = 1 }},
		{"threshold 1", func(c *KeygenConfig) { c.Threshold = 1 }},
		{"threshold 0", func(c *KeygenConfig) { c.Threshold = 0 }},
		{"threshold negative", func(c *KeygenConfig) { c.Threshold = -1 }},
		{"threshold above n", func(c *KeygenConfig) { c.Threshold = 4 }},
		{"self not a party", func(c *KeygenConfig) { c.Self = 4 }},
		{"self 0", func(c *KeygenConfig) { c.Self = 0 }},
		{"party 0", func(c *KeygenConfig) { c.Parties = []protocol.PartyID{0, 1, 2} }},
		{"duplicate party", func(c *KeygenConfig) { c.Parties = []protocol.PartyID{1, 2, 2} }},
		{"nonce missing", func(c *KeygenConfig) { c.SessionNonce = nil }},
		{"nonce short", func(c *KeygenConfig) { c.SessionNonce = c.SessionNonce[:31] }},
		{"nonce long", func(c *KeygenConfig) { c.SessionNonce = append(slices.Clone(c.SessionNonce), 1) }},
		{"nonce zero", func(c *KeygenConfig) { c.SessionNonce = make([]byte, 32) }},
		{"pre-params missing", func(c *KeygenConfig) { c.PreParams = nil }},
		{"pre-params garbage", func(c *KeygenConfig) { c.PreParams = []byte("not json") }},
		{"pre-params empty object", func(c *KeygenConfig) { c.PreParams = []byte("{}") }},
		{"pre-params truncated", func(c *KeygenConfig) { c.PreParams = c.PreParams[:len(c.PreParams)/2] }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			cfg.Parties = slices.Clone(good.Parties)
			tc.mutate(&cfg)
			r, err := noPanic(t, func() (protocol.Run, error) { return NewKeygen(cfg) })
			if err == nil {
				r.Abort(nil)
				t.Fatal("bad config accepted")
			}
			t.Log(err)
		})
	}
}

func noPanic(t *testing.T, f func() (protocol.Run, error)) (r protocol.Run, err error) {
	t.Helper()
	defer func() {
		if rec := recover(); rec != nil {
			t.Fatalf("panic: %v", rec)
		}
	}()
	return f()
}

// mutatePreParams decodes the fixture pre-params of party 1, applies f and re-encodes them.
func mutatePreParams(t *testing.T, f func(*keygen.LocalPreParams)) []byte {
	t.Helper()
	var pp keygen.LocalPreParams
	if err := json.Unmarshal(LoadTestPreParams(t, 1), &pp); err != nil {
		t.Fatal(err)
	}
	f(&pp)
	b, err := json.Marshal(&pp)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mutateJSON decodes b as a JSON object, applies f to its fields and re-encodes it.
func mutateJSON(t *testing.T, b []byte, f func(map[string]json.RawMessage)) []byte {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestValidatePreParams(t *testing.T) {
	for i := 1; i <= 3; i++ {
		if err := ValidatePreParams(LoadTestPreParams(t, i)); err != nil {
			t.Fatalf("fixture %d: %v", i, err)
		}
	}
	inc := func(v *big.Int) *big.Int { return new(big.Int).Add(v, one) }
	good := LoadTestPreParams(t, 1)
	other := LoadTestPreParams(t, 2)
	var otherPP keygen.LocalPreParams
	if err := json.Unmarshal(other, &otherPP); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"nil", nil},
		{"null", []byte("null")},
		{"empty object", []byte("{}")},
		{"garbage", []byte{0xff, 0x00}},
		{"truncated", good[:len(good)-10]},
		{"trailing data", append(slices.Clone(good), []byte(" {}")...)},
		{"unknown field", mutateJSON(t, good, func(m map[string]json.RawMessage) { m["Extra"] = json.RawMessage("1") })},
		{"field missing", mutateJSON(t, good, func(m map[string]json.RawMessage) { delete(m, "Beta") })},
		{"Paillier key null", mutateJSON(t, good, func(m map[string]json.RawMessage) { m["PaillierSK"] = json.RawMessage("null") })},
		{"number not an integer", mutateJSON(t, good, func(m map[string]json.RawMessage) { m["H1i"] = json.RawMessage("1.5") })},
		{"zero NTilde", mutatePreParams(t, func(pp *keygen.LocalPreParams) { pp.NTildei = new(big.Int) })},
		{"H2 changed", mutatePreParams(t, func(pp *keygen.LocalPreParams) { pp.H2i = inc(pp.H2i) })},
		{"H1 equals H2", mutatePreParams(t, func(pp *keygen.LocalPreParams) { pp.H2i = pp.H1i })},
		{"NTilde changed", mutatePreParams(t, func(pp *keygen.LocalPreParams) { pp.NTildei = inc(pp.NTildei) })},
		{"Paillier N changed", mutatePreParams(t, func(pp *keygen.LocalPreParams) { pp.PaillierSK.N = inc(pp.PaillierSK.N) })},
		{"Paillier key of another party", mutatePreParams(t, func(pp *keygen.LocalPreParams) { pp.PaillierSK.LambdaN = otherPP.PaillierSK.LambdaN })},
		{"Alpha changed", mutatePreParams(t, func(pp *keygen.LocalPreParams) { pp.Alpha = inc(pp.Alpha) })},
		{"Beta changed", mutatePreParams(t, func(pp *keygen.LocalPreParams) { pp.Beta = inc(pp.Beta) })},
		{"safe primes of another party", mutatePreParams(t, func(pp *keygen.LocalPreParams) { pp.P, pp.Q = otherPP.P, otherPP.Q })},
		{"too large", append(slices.Clone(good), bytes.Repeat([]byte(" "), maxPreParamsSize)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidatePreParams(tc.b)
			if err == nil {
				t.Fatal("invalid pre-params accepted")
			}
			t.Log(err)
			// tss-lib's keygen.NewLocalParty would panic on some of these; NewKeygen must not.
			_, kerr := noPanic(t, func() (protocol.Run, error) {
				return NewKeygen(KeygenConfig{Self: 1, Parties: []protocol.PartyID{1, 2}, Threshold: 2, SessionNonce: newNonce(), PreParams: tc.b})
			})
			if kerr == nil {
				t.Fatal("NewKeygen accepted invalid pre-params")
			}
		})
	}
}

func TestSignConfigValidation(t *testing.T) {
	fx := getKeygenFixture(t)
	good := SignConfig{Self: 1, Signers: []protocol.PartyID{1, 2}, Share: fx.shares[1], Digest: [32]byte{1}, SessionNonce: newNonce()}
	r, err := NewSign(good)
	if err != nil {
		t.Fatalf("valid config rejected: %v", err)
	}
	r.Abort(nil)
	var digestN [32]byte
	tss.S256().Params().N.FillBytes(digestN[:])

	for _, tc := range []struct {
		name   string
		mutate func(*SignConfig)
	}{
		{"self not a signer", func(c *SignConfig) { c.Signers = []protocol.PartyID{2, 3} }},
		{"self not the share's owner", func(c *SignConfig) { c.Self = 2 }},
		{"too few signers", func(c *SignConfig) { c.Signers = []protocol.PartyID{1} }},
		{"too many signers", func(c *SignConfig) { c.Signers = []protocol.PartyID{1, 2, 3} }},
		{"signer not a party", func(c *SignConfig) { c.Signers = []protocol.PartyID{1, 4} }},
		{"signer 0", func(c *SignConfig) { c.Signers = []protocol.PartyID{1, 0} }},
		{"duplicate signer", func(c *SignConfig) { c.Signers = []protocol.PartyID{1, 1} }},
		{"no share", func(c *SignConfig) { c.Share = nil }},
		{"share garbage", func(c *SignConfig) { c.Share = []byte("{") }},
		{"zero digest", func(c *SignConfig) { c.Digest = [32]byte{} }},
		{"digest equal to the curve order", func(c *SignConfig) { c.Digest = digestN }},
		{"nonce short", func(c *SignConfig) { c.SessionNonce = c.SessionNonce[:16] }},
		{"nonce zero", func(c *SignConfig) { c.SessionNonce = make([]byte, 32) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			tc.mutate(&cfg)
			r, err := noPanic(t, func() (protocol.Run, error) { return NewSign(cfg) })
			if err == nil {
				r.Abort(nil)
				t.Fatal("bad config accepted")
			}
			t.Log(err)
		})
	}
}

func TestDecodeShareStrict(t *testing.T) {
	fx := getKeygenFixture(t)
	good := fx.shares[1]
	s, err := DecodeShare(good)
	if err != nil {
		t.Fatal(err)
	}
	secret := s.save.Xi.String() // must never appear in an error or a print-out

	editSave := func(f func(map[string]json.RawMessage)) []byte {
		return mutateJSON(t, good, func(m map[string]json.RawMessage) {
			m["save"] = mutateJSON(t, m["save"], f)
		})
	}
	set := func(key, value string) []byte {
		return mutateJSON(t, good, func(m map[string]json.RawMessage) { m[key] = json.RawMessage(value) })
	}
	xi := new(big.Int).Add(s.save.Xi, one).String()
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"truncated", good[:len(good)/2]},
		{"truncated by one byte", good[:len(good)-1]},
		{"trailing data", append(slices.Clone(good), '{')},
		{"not an object", []byte(`[1,2,3]`)},
		{"unknown field", set("comment", `"hi"`)},
		{"unknown field in save", editSave(func(m map[string]json.RawMessage) { m["Extra"] = json.RawMessage("1") })},
		{"version 2", set("version", "2")},
		{"version missing", mutateJSON(t, good, func(m map[string]json.RawMessage) { delete(m, "version") })},
		{"other curve", set("curve", `"ed25519"`)},
		{"threshold 1", set("threshold", "1")},
		{"threshold above n", set("threshold", "4")},
		{"self not a party", set("self", "4")},
		{"parties unsorted", set("parties", "[2,1,3]")},
		{"parties duplicate", set("parties", "[1,1,3]")},
		{"party out of range", set("parties", "[1,2,70000]")},
		{"party dropped", set("parties", "[1,2]")},
		{"save missing", mutateJSON(t, good, func(m map[string]json.RawMessage) { delete(m, "save") })},
		{"save null", set("save", "null")},
		{"public key mismatch", set("public_key", `"02`+strings.Repeat("11", 32)+`"`)},
		{"public key not hex", set("public_key", `"zz"`)},
		{"secret share changed", editSave(func(m map[string]json.RawMessage) { m["Xi"] = json.RawMessage(xi) })},
		{"secret share not a number", editSave(func(m map[string]json.RawMessage) { m["Xi"] = json.RawMessage(`"` + secret + `"`) })},
		{"group key off the curve", editSave(func(m map[string]json.RawMessage) {
			m["ECDSAPub"] = json.RawMessage(`{"Curve":"secp256k1","Coords":[1,1]}`)
		})},
		{"group key of another curve", editSave(func(m map[string]json.RawMessage) {
			m["ECDSAPub"] = json.RawMessage(`{"Curve":"ed25519","Coords":[1,1]}`)
		})},
		{"pre-params missing", editSave(func(m map[string]json.RawMessage) { m["PaillierSK"] = json.RawMessage("null") })},
		{"too large", append(slices.Clone(good), bytes.Repeat([]byte(" "), maxShareSize)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			func() {
				defer func() {
					if rec := recover(); rec != nil {
						t.Fatalf("panic: %v", rec)
					}
				}()
				_, err = DecodeShare(tc.b)
			}()
			if err == nil {
				t.Fatal("bad share accepted")
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatal("error quotes the secret share")
			}
			if _, perr := PublicKeyFromShare(tc.b); perr == nil {
				t.Fatal("PublicKeyFromShare accepted a bad share")
			}
			t.Log(err)
		})
	}
}

func TestNothingPrintsSecrets(t *testing.T) {
	fx := getKeygenFixture(t)
	s, err := DecodeShare(fx.shares[1])
	if err != nil {
		t.Fatal(err)
	}
	secret := s.save.Xi.String()
	pp := LoadTestPreParams(t, 1)
	kc := KeygenConfig{Self: 1, Parties: []protocol.PartyID{1, 2}, Threshold: 2, SessionNonce: newNonce(), PreParams: pp}
	sc := SignConfig{Self: 1, Signers: []protocol.PartyID{1, 2}, Share: fx.shares[1], Digest: [32]byte{1}, SessionNonce: newNonce()}
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		for _, v := range []any{s, *s, kc, &kc, sc, &sc} {
			out := fmt.Sprintf(f, v)
			if strings.Contains(out, secret) || strings.Contains(out, "PaillierSK") || strings.Contains(out, "LambdaN") ||
				strings.Contains(out, fmt.Sprint(pp[:20])) || strings.Contains(out, string(pp[:20])) || strings.Contains(out, "Xi") {
				t.Fatalf("%s of %T prints secrets: %.200s", f, v, out)
			}
		}
	}
}
