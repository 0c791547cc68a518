package derive

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/protocoltest"
)

func newNonce(t testing.TB) []byte {
	t.Helper()
	b := make([]byte, nonceSize)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// contribution is party p's fixed test contribution.
func contribution(p protocol.PartyID) []byte {
	c := sha256.Sum256([]byte{'c', byte(p)})
	return c[:]
}

// chainCodeRuns makes runs for parties, each drawing contribution(p) when fixed is set, else
// real randomness.
func chainCodeRuns(t testing.TB, parties []protocol.PartyID, nonce []byte, fixed bool) map[protocol.PartyID]protocol.Run {
	t.Helper()
	runs := make(map[protocol.PartyID]protocol.Run, len(parties))
	for _, p := range parties {
		var (
			r   protocol.Run
			err error
		)
		if fixed {
			r, err = newChainCodeRun(p, parties, nonce, bytes.NewReader(contribution(p)))
		} else {
			r, err = NewChainCodeRun(p, parties, nonce)
		}
		if err != nil {
			t.Fatal(err)
		}
		runs[p] = r
	}
	return runs
}

// agreedChainCode checks that every run succeeded with the same 32-byte chain code and no
// public key, and returns it.
func agreedChainCode(t testing.TB, results map[protocol.PartyID]protocol.Result) []byte {
	t.Helper()
	var cc []byte
	for p, res := range results {
		if res.Err != nil || res.Keygen == nil || res.Signature != nil {
			t.Fatalf("%s: result %+v", p, res)
		}
		if res.Keygen.PublicKey != nil || len(res.Keygen.Share) != ChainCodeSize {
			t.Fatalf("%s: public key %x, chain code of %d bytes", p, res.Keygen.PublicKey, len(res.Keygen.Share))
		}
		if cc == nil {
			cc = res.Keygen.Share
		} else if !bytes.Equal(cc, res.Keygen.Share) {
			t.Fatalf("%s: chain code differs from another party's", p)
		}
	}
	return cc
}

func TestChainCodeAllPartiesAgree(t *testing.T) {
	parties := protocoltest.IDs(1, 2, 3)
	nonce := newNonce(t)
	cc := agreedChainCode(t, protocoltest.Execute(t, chainCodeRuns(t, parties, nonce, true), nil))

	// The chain code is the documented hash of the contributions, recomputed here.
	h := sha256.New()
	h.Write([]byte("mpcsigner/derive/chaincode/v1/chaincode"))
	h.Write(nonce)
	for _, p := range parties {
		h.Write(binary.BigEndian.AppendUint16(nil, uint16(p)))
		h.Write(contribution(p))
	}
	if !bytes.Equal(cc, h.Sum(nil)) {
		t.Fatal("the chain code is not SHA-256(tag | nonce | party | contribution ...)")
	}
}

func TestChainCodeTwoRunsDiffer(t *testing.T) {
	parties := protocoltest.IDs(2, 5, 7, 9)
	first := agreedChainCode(t, protocoltest.Execute(t, chainCodeRuns(t, parties, newNonce(t), false), nil))
	second := agreedChainCode(t, protocoltest.Execute(t, chainCodeRuns(t, parties, newNonce(t), false), nil))
	if bytes.Equal(first, second) {
		t.Fatal("two runs gave the same chain code")
	}
	// The same contributions in another session give another chain code.
	a := agreedChainCode(t, protocoltest.Execute(t, chainCodeRuns(t, parties, newNonce(t), true), nil))
	b := agreedChainCode(t, protocoltest.Execute(t, chainCodeRuns(t, parties, newNonce(t), true), nil))
	if bytes.Equal(a, b) {
		t.Fatal("the chain code does not depend on the session nonce")
	}
}

// rewrite returns a Tamper that applies f to payloads of kind from sender (to every recipient
// when to is 0).
func rewrite(kind byte, sender, to protocol.PartyID, f func([]byte)) protocoltest.Tamper {
	return func(from, dst protocol.PartyID, _ bool, payload []byte) []byte {
		if from == sender && (to == 0 || dst == to) && len(payload) > 1 && payload[1] == kind {
			f(payload)
		}
		return payload
	}
}

func TestChainCodeRevealNotMatchingCommitmentBlamesSender(t *testing.T) {
	parties := protocoltest.IDs(1, 2, 3)
	runs := chainCodeRuns(t, parties, newNonce(t), false)
	tamper := rewrite(kindReveal, 2, 0, func(b []byte) { b[headerSize] ^= 1 })
	results := protocoltest.ExecuteFor(t, runs, tamper, protocoltest.IDs(1, 3))
	for _, p := range protocoltest.IDs(1, 3) {
		pe := protocoltest.WantCulprits(t, results[p], 2)
		if pe.Task != "chaincode" || pe.Round != 2 || !strings.Contains(pe.Error(), "does not match its commitment") {
			t.Fatalf("%s: %v", p, pe)
		}
	}
}

func TestChainCodeCommitmentEquivocationDetected(t *testing.T) {
	// Party 3's commitment reaches party 1 altered: party 1 blames 3 (its reveal does not match
	// what 1 holds), and party 2 learns from party 1's view that the parties hold different
	// commitments.
	parties := protocoltest.IDs(1, 2, 3)
	runs := chainCodeRuns(t, parties, newNonce(t), false)
	tamper := rewrite(kindCommit, 3, 1, func(b []byte) { b[headerSize] ^= 1 })
	results := protocoltest.ExecuteFor(t, runs, tamper, protocoltest.IDs(1, 2))
	protocoltest.WantCulprits(t, results[1], 3)
	pe := protocoltest.WantCulprits(t, results[2])
	if !strings.Contains(pe.Error(), "saw other commitments") {
		t.Fatalf("party 2: %v", pe)
	}
}

func TestChainCodeViewMismatchFails(t *testing.T) {
	parties := protocoltest.IDs(1, 2)
	runs := chainCodeRuns(t, parties, newNonce(t), false)
	tamper := rewrite(kindReveal, 1, 2, func(b []byte) { b[len(b)-1] ^= 1 })
	results := protocoltest.ExecuteFor(t, runs, tamper, protocoltest.IDs(2))
	pe := protocoltest.WantCulprits(t, results[2])
	if !strings.Contains(pe.Error(), "party 1] saw other commitments than party 2") {
		t.Fatalf("party 2: %v", pe)
	}
}

// started returns a started run of party 1 among 1, 2, 3 and the first payload it emitted.
func started(t *testing.T, nonce []byte) (protocol.Run, []byte) {
	t.Helper()
	r, err := NewChainCodeRun(1, protocoltest.IDs(1, 2, 3), nonce)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	o := <-r.Outgoing()
	if !o.Broadcast || len(o.Payload) != commitSize {
		t.Fatalf("first payload %+v", o)
	}
	return r, o.Payload
}

func TestChainCodeHandleRejectsBadPayloads(t *testing.T) {
	nonce := newNonce(t)
	commit := func(from protocol.PartyID, n []byte) []byte {
		m := &message{kind: kindCommit, from: from, value: [32]byte{1}}
		copy(m.nonce[:], n)
		return encodePayload(m)
	}
	for _, tc := range []struct {
		name      string
		from      protocol.PartyID
		broadcast bool
		payload   []byte
		culprits  []protocol.PartyID
		want      string
	}{
		{"malformed", 2, true, []byte{1, 2, 3}, protocoltest.IDs(2), "malformed"},
		{"truncated", 2, true, commit(2, nonce)[:commitSize-1], protocoltest.IDs(2), "malformed"},
		{"another session", 2, true, commit(2, newNonce(t)), protocoltest.IDs(2), "another session"},
		{"names another sender", 2, true, commit(3, nonce), protocoltest.IDs(2), "names party 3"},
		{"point-to-point", 3, false, commit(3, nonce), protocoltest.IDs(3), "must be broadcast"},
		{"not a participant", 4, true, commit(4, nonce), nil, "not a participant"},
		{"from self", 1, true, commit(1, nonce), nil, "this party"},
		{"too large", 2, true, make([]byte, MaxPayloadSize+1), protocoltest.IDs(2), "too large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := started(t, nonce)
			err := r.Handle(tc.from, tc.broadcast, tc.payload)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Handle: %v; want it to say %q", err, tc.want)
			}
			pe := protocoltest.WantCulprits(t, protocoltest.AwaitDone(t, r), tc.culprits...)
			if pe.Task != "chaincode" {
				t.Fatalf("task %q", pe.Task)
			}
			if err := r.Handle(2, true, commit(2, nonce)); !errors.Is(err, ErrEnded) {
				t.Fatalf("Handle after the end: %v", err)
			}
		})
	}
}

func TestChainCodeDuplicates(t *testing.T) {
	nonce := newNonce(t)
	m := &message{kind: kindCommit, from: 2, value: [32]byte{1}}
	copy(m.nonce[:], nonce)
	p := encodePayload(m)

	r, _ := started(t, nonce)
	if err := r.Handle(2, true, p); err != nil {
		t.Fatal(err)
	}
	if err := r.Handle(2, true, bytes.Clone(p)); err != nil {
		t.Fatalf("an identical replay must be ignored: %v", err)
	}
	m.value[0] = 2
	if err := r.Handle(2, true, encodePayload(m)); err == nil || !strings.Contains(err.Error(), "two different commitment") {
		t.Fatalf("a conflicting commitment: %v", err)
	}
	protocoltest.WantCulprits(t, protocoltest.AwaitDone(t, r), 2)
}

func TestChainCodeAbort(t *testing.T) {
	r, _ := started(t, newNonce(t))
	r.Abort(nil)
	protocoltest.CheckAbortedOnce(t, r, "chaincode")
	if err := r.Start(); !errors.Is(err, ErrEnded) {
		t.Fatalf("Start after Abort: %v", err)
	}
}

func TestChainCodeStartTwice(t *testing.T) {
	r, _ := started(t, newNonce(t))
	defer r.Abort(nil)
	if err := r.Start(); err == nil {
		t.Fatal("a second Start succeeded")
	}
}

func TestNewChainCodeRunValidation(t *testing.T) {
	nonce := newNonce(t)
	for _, tc := range []struct {
		name    string
		self    protocol.PartyID
		parties []protocol.PartyID
		nonce   []byte
		want    string
	}{
		{"one party", 1, protocoltest.IDs(1), nonce, "1 parties"},
		{"self missing", 4, protocoltest.IDs(1, 2, 3), nonce, "self (party 4) is not one of the parties"},
		{"duplicate", 1, protocoltest.IDs(1, 2, 2), nonce, "listed twice"},
		{"party 0", 1, protocoltest.IDs(0, 1, 2), nonce, "party 0"},
		{"short nonce", 1, protocoltest.IDs(1, 2), nonce[:31], "exactly 32 bytes"},
		{"zero nonce", 1, protocoltest.IDs(1, 2), make([]byte, 32), "all zero"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewChainCodeRun(tc.self, tc.parties, tc.nonce); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v; want it to say %q", err, tc.want)
			}
		})
	}
}

// A failed draw of randomness fails the run at Start, without a commitment.
func TestChainCodeRandomnessFailure(t *testing.T) {
	r, err := newChainCodeRun(1, protocoltest.IDs(1, 2), newNonce(t), bytes.NewReader(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(); err == nil || !strings.Contains(err.Error(), "drawing the contribution") {
		t.Fatalf("Start: %v", err)
	}
	if res := protocoltest.AwaitDone(t, r); res.Err == nil {
		t.Fatal("the run succeeded")
	}
}
