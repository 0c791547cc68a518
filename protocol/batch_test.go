package protocol_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mpcsigner/mpcsigner/protocol"
	frosted "github.com/mpcsigner/mpcsigner/protocol/frost/ed25519"
	"github.com/mpcsigner/mpcsigner/protocol/protocoltest"
)

// The batch tests sign with the real FROST Ed25519 engine and check every signature with
// crypto/ed25519. The bundle codec is checked through a batch of echo doubles against the
// reference encoding below, written from the format's description, not from the code.

// refEncode encodes a bundle as the package comment of batch.go describes it.
func refEncode(version byte, count int, parts ...[]byte) []byte {
	var b bytes.Buffer
	b.WriteByte(version)
	_ = binary.Write(&b, binary.BigEndian, uint16(count))
	for _, p := range parts {
		_ = binary.Write(&b, binary.BigEndian, uint32(len(p)))
		b.Write(p)
	}
	return b.Bytes()
}

// refDecode decodes a well-formed bundle, or reports that it is not one.
func refDecode(b []byte) ([][]byte, bool) {
	if len(b) < 3 || b[0] != 1 {
		return nil, false
	}
	n := int(b[1])<<8 | int(b[2])
	b = b[3:]
	var parts [][]byte
	for range n {
		if len(b) < 4 {
			return nil, false
		}
		l := int(binary.BigEndian.Uint32(b))
		b = b[4:]
		if l == 0 || l > len(b) {
			return nil, false
		}
		parts = append(parts, b[:l])
		b = b[l:]
	}
	return parts, len(b) == 0
}

// --- signing with the real engine ---

type keyFixture struct {
	publicKey []byte
	shares    map[protocol.PartyID][]byte
}

var (
	keysMu sync.Mutex
	keys   = map[[2]int]*keyFixture{}
)

// key makes a t-of-n Ed25519 key among parties 1..n by running the engine's DKG, once per
// test binary.
func key(t testing.TB, n, threshold int) *keyFixture {
	t.Helper()
	keysMu.Lock()
	defer keysMu.Unlock()
	if fx, ok := keys[[2]int{n, threshold}]; ok {
		return fx
	}
	parties := make([]protocol.PartyID, n)
	for i := range parties {
		parties[i] = protocol.PartyID(i + 1)
	}
	nonce := randomNonce(t)
	runs := make(map[protocol.PartyID]protocol.Run, n)
	for _, p := range parties {
		r, err := frosted.Engine{}.Keygen(protocol.KeygenParams{Self: p, Parties: parties, Threshold: threshold, SessionNonce: nonce})
		if err != nil {
			t.Fatalf("Keygen(%s): %v", p, err)
		}
		runs[p] = r
	}
	fx := &keyFixture{shares: make(map[protocol.PartyID][]byte, n)}
	for p, res := range protocoltest.Execute(t, runs, nil) {
		if res.Err != nil || res.Keygen == nil {
			t.Fatalf("keygen %d-of-%d: %s: %+v", threshold, n, p, res)
		}
		if fx.publicKey != nil && !bytes.Equal(fx.publicKey, res.Keygen.PublicKey) {
			t.Fatalf("keygen %d-of-%d: parties disagree on the group key", threshold, n)
		}
		fx.publicKey = res.Keygen.PublicKey
		fx.shares[p] = res.Keygen.Share
	}
	if len(fx.publicKey) != ed25519.PublicKeySize {
		t.Fatalf("group key of %d bytes", len(fx.publicKey))
	}
	keys[[2]int{n, threshold}] = fx
	return fx
}

func randomNonce(t testing.TB) []byte {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// request is one signing request of a batch: the same at every signer.
type request struct {
	digest [32]byte
	nonce  []byte
}

func requests(t testing.TB, k int) []request {
	out := make([]request, k)
	for i := range out {
		out[i] = request{digest: protocoltest.DigestOf(fmt.Sprintf("batch digest %d", i)), nonce: randomNonce(t)}
	}
	return out
}

// signRuns builds, for one signer, one engine sign run per request.
func signRuns(t testing.TB, fx *keyFixture, self protocol.PartyID, signers []protocol.PartyID, reqs []request) []protocol.Run {
	t.Helper()
	runs := make([]protocol.Run, len(reqs))
	for i, rq := range reqs {
		r, err := frosted.Engine{}.Sign(protocol.SignParams{Self: self, Signers: signers, Share: fx.shares[self], Digest: rq.digest, SessionNonce: rq.nonce})
		if err != nil {
			t.Fatalf("Sign(%s, request %d): %v", self, i, err)
		}
		runs[i] = r
	}
	return runs
}

// batches builds every signer's batch of reqs.
func batches(t testing.TB, fx *keyFixture, signers []protocol.PartyID, reqs []request) map[protocol.PartyID]protocol.Run {
	t.Helper()
	out := make(map[protocol.PartyID]protocol.Run, len(signers))
	for _, p := range signers {
		b, err := protocol.NewBatch(signRuns(t, fx, p, signers, reqs))
		if err != nil {
			t.Fatalf("NewBatch(%s): %v", p, err)
		}
		out[p] = b
	}
	return out
}

// checkSignatures checks that every signer ended with one signature per request, that the
// signers agree, and that signature i verifies for digest i and for no other digest.
func checkSignatures(t *testing.T, fx *keyFixture, reqs []request, results map[protocol.PartyID]protocol.Result) {
	t.Helper()
	var first []*protocol.Signature
	for p, res := range results {
		if res.Err != nil || len(res.Signatures) != len(reqs) || res.Signature != nil {
			t.Fatalf("%s: result %+v, want %d signatures", p, res, len(reqs))
		}
		if first == nil {
			first = res.Signatures
		}
		for i, sig := range res.Signatures {
			if sig == nil || !bytes.Equal(sig.Encoded, first[i].Encoded) {
				t.Fatalf("%s: signature %d differs from another signer's", p, i)
			}
		}
	}
	for i, sig := range first {
		for j, rq := range reqs {
			ok := ed25519.Verify(fx.publicKey, rq.digest[:], sig.Encoded)
			if ok != (i == j) {
				t.Errorf("signature %d verifies for digest %d: %v, want %v", i, j, ok, i == j)
			}
		}
	}
}

func TestBatchGivesEachRequestItsOwnSignature(t *testing.T) {
	for _, tc := range []struct {
		n, threshold int
		signers      []protocol.PartyID
		k            int
	}{
		{3, 2, protocoltest.IDs(1, 3), 5},
		{3, 2, protocoltest.IDs(2, 3), 1},
		{5, 3, protocoltest.IDs(1, 2, 4), 4},
	} {
		t.Run(fmt.Sprintf("%d-of-%d/%v/batch of %d", tc.threshold, tc.n, tc.signers, tc.k), func(t *testing.T) {
			fx := key(t, tc.n, tc.threshold)
			reqs := requests(t, tc.k)
			results := protocoltest.Execute(t, batches(t, fx, tc.signers, reqs), nil)
			if len(results) != len(tc.signers) {
				t.Fatalf("%d results for %d signers", len(results), len(tc.signers))
			}
			checkSignatures(t, fx, reqs, results)
		})
	}
}

func TestNewBatchRefuses(t *testing.T) {
	fx := key(t, 3, 2)
	signers := protocoltest.IDs(1, 2)
	for _, tc := range []struct {
		name string
		runs func() []protocol.Run
		want string
	}{
		{"nil", func() []protocol.Run { return nil }, "at least one"},
		{"empty", func() []protocol.Run { return []protocol.Run{} }, "at least one"},
		{"65 runs", func() []protocol.Run { return signRuns(t, fx, 1, signers, requests(t, protocol.MaxBatch+1)) }, "at most 64"},
		{"nil entry", func() []protocol.Run {
			return append(signRuns(t, fx, 1, signers, requests(t, 2)), nil)
		}, "run 2 of the batch is nil"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := protocol.NewBatch(tc.runs())
			if err == nil || b != nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewBatch = %v, %v; want an error containing %q", b, err, tc.want)
			}
		})
	}
	b, err := protocol.NewBatch(signRuns(t, fx, 1, signers, requests(t, protocol.MaxBatch)))
	if err != nil || b == nil {
		t.Fatalf("NewBatch of MaxBatch runs: %v", err)
	}
	b.Abort(nil)
}

// TestBatchBlamesTamperedBundles has party 1's bundles to party 2 rewritten on the way; party
// 2's batch must fail blaming party 1.
func TestBatchBlamesTamperedBundles(t *testing.T) {
	fx := key(t, 3, 2)
	signers := protocoltest.IDs(1, 2)
	const k = 3
	for _, tc := range []struct {
		name   string
		tamper func(parts [][]byte, raw []byte) []byte
		want   string
	}{
		{"one part too few", func(parts [][]byte, _ []byte) []byte { return refEncode(1, k-1, parts[:k-1]...) }, "holds 2 parts, want 3"},
		{"one part too many", func(parts [][]byte, _ []byte) []byte {
			return refEncode(1, k+1, append(parts, parts[0])...)
		}, "holds 4 parts, want 3"},
		{"truncated", func(_ [][]byte, raw []byte) []byte { return raw[:len(raw)-1] }, "only"},
		{"trailing byte", func(_ [][]byte, raw []byte) []byte { return append(raw, 0) }, "trailing"},
		// Parts delivered to the wrong sub-runs carry another session's nonce: the engine
		// refuses them, and the batch keeps the engine's culprit.
		{"parts swapped", func(parts [][]byte, _ []byte) []byte {
			parts[0], parts[1] = parts[1], parts[0]
			return refEncode(1, k, parts...)
		}, "another session"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tamper := func(from, to protocol.PartyID, _ bool, payload []byte) []byte {
				if from != 1 {
					return payload
				}
				parts, ok := refDecode(payload)
				if !ok || len(parts) != k {
					t.Errorf("party 1 sent a bundle the reference decoder refuses (%d parts)", len(parts))
					return payload
				}
				return tc.tamper(parts, payload)
			}
			results := protocoltest.ExecuteFor(t, batches(t, fx, signers, requests(t, k)), tamper, protocoltest.IDs(2))
			pe := protocoltest.WantCulprits(t, results[2], 1)
			if pe.Task != "sign" || !strings.Contains(pe.Error(), tc.want) {
				t.Fatalf("error %q (task %q), want task sign and %q", pe, pe.Task, tc.want)
			}
		})
	}
}

func TestBatchAbortEndsAtOnce(t *testing.T) {
	fx := key(t, 3, 2)
	b, err := protocol.NewBatch(signRuns(t, fx, 1, protocoltest.IDs(1, 2), requests(t, 4)))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	// The first round's bundle is waiting on Outgoing, which nobody reads: Abort drops it.
	time.Sleep(20 * time.Millisecond)
	b.Abort(errors.New("caller gave up"))
	b.Abort(errors.New("again"))
	res := protocoltest.CheckAbortedOnce(t, b, "sign")
	if !strings.Contains(res.Err.Error(), "caller gave up") {
		t.Fatalf("error %v, want the first Abort's", res.Err)
	}
	if err := b.Start(); !errors.Is(err, protocol.ErrBatchEnded) {
		t.Fatalf("Start after the end: %v", err)
	}
	if err := b.Handle(2, true, refEncode(1, 4, []byte{1}, []byte{2}, []byte{3}, []byte{4})); !errors.Is(err, protocol.ErrBatchEnded) {
		t.Fatalf("Handle after the end: %v", err)
	}
}

func TestBatchAbortBeforeStart(t *testing.T) {
	fx := key(t, 3, 2)
	b, err := protocol.NewBatch(signRuns(t, fx, 1, protocoltest.IDs(1, 2), requests(t, 2)))
	if err != nil {
		t.Fatal(err)
	}
	b.Abort(nil)
	protocoltest.CheckAbortedOnce(t, b, "sign")
	if err := b.Start(); !errors.Is(err, protocol.ErrBatchEnded) {
		t.Fatalf("Start after Abort: %v", err)
	}
}

// --- the batch's rules, with doubles ---

// fakeRun is a Run double: it emits script on Start, and, when echo is set, re-emits every
// payload it is handed. The test ends it with end.
type fakeRun struct {
	script []protocol.Outgoing
	echo   bool
	// handleErr, when set, is what Handle returns (without ending the run).
	handleErr error

	out  chan protocol.Outgoing
	done chan protocol.Result

	mu    sync.Mutex
	got   [][]byte
	ended bool
}

func newFake(echo bool, script ...protocol.Outgoing) *fakeRun {
	return &fakeRun{script: script, echo: echo, out: make(chan protocol.Outgoing, 64), done: make(chan protocol.Result, 1)}
}

func (f *fakeRun) Start() error {
	for _, o := range f.script {
		f.out <- o
	}
	return nil
}

func (f *fakeRun) Handle(_ protocol.PartyID, broadcast bool, payload []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ended {
		return errors.New("fake: ended")
	}
	if f.handleErr != nil {
		return f.handleErr
	}
	f.got = append(f.got, slices.Clone(payload))
	if f.echo {
		f.out <- protocol.Outgoing{Broadcast: broadcast, Payload: slices.Clone(payload)}
	}
	return nil
}

func (f *fakeRun) Outgoing() <-chan protocol.Outgoing { return f.out }
func (f *fakeRun) Done() <-chan protocol.Result       { return f.done }

func (f *fakeRun) Abort(err error) {
	f.end(protocol.Result{Err: &protocol.Error{Task: "sign", Cause: err}}, false)
}

// end delivers res once; with wait, only after every payload emitted has been taken, as the
// Run contract requires.
func (f *fakeRun) end(res protocol.Result, wait bool) {
	for wait && len(f.out) > 0 {
		time.Sleep(time.Millisecond)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.ended {
		f.ended = true
		f.done <- res
	}
}

// waitEnded waits until f has ended: the batch aborts its runs just after it ends.
func waitEnded(t testing.TB, f *fakeRun) {
	t.Helper()
	deadline := time.Now().Add(protocoltest.Timeout)
	for {
		f.mu.Lock()
		ended := f.ended
		f.mu.Unlock()
		if ended {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("a run of the failed batch was never aborted")
		}
		time.Sleep(time.Millisecond)
	}
}

func (f *fakeRun) received() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.got)
}

func fakeBatch(t testing.TB, fakes ...*fakeRun) protocol.Run {
	t.Helper()
	runs := make([]protocol.Run, len(fakes))
	for i, f := range fakes {
		runs[i] = f
	}
	b, err := protocol.NewBatch(runs)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	return b
}

func nextOutgoing(t testing.TB, r protocol.Run) protocol.Outgoing {
	t.Helper()
	select {
	case o := <-r.Outgoing():
		return o
	case res := <-r.Done():
		t.Fatalf("batch ended instead of emitting: %+v", res)
	case <-time.After(protocoltest.Timeout):
		t.Fatal("batch emitted nothing")
	}
	return protocol.Outgoing{}
}

func TestBatchBundlesInLockstepAndKeepsOrder(t *testing.T) {
	a := newFake(false, protocol.Outgoing{Broadcast: true, Payload: []byte("a0")}, protocol.Outgoing{To: protocoltest.IDs(3, 2), Payload: []byte("a1")})
	b := newFake(false, protocol.Outgoing{Broadcast: true, Payload: []byte("b0")})
	r := fakeBatch(t, a, b)
	o := nextOutgoing(t, r)
	if parts, ok := refDecode(o.Payload); !ok || !o.Broadcast || len(o.To) != 0 || !slices.EqualFunc(parts, [][]byte{[]byte("a0"), []byte("b0")}, bytes.Equal) {
		t.Fatalf("first bundle %+v, parts %q", o, parts)
	}
	// a's second payload waits for b's.
	select {
	case o := <-r.Outgoing():
		t.Fatalf("bundle %+v before every run emitted its part", o)
	case <-time.After(30 * time.Millisecond):
	}
	b.out <- protocol.Outgoing{To: protocoltest.IDs(2, 3), Payload: []byte("b1")}
	o = nextOutgoing(t, r)
	if parts, ok := refDecode(o.Payload); !ok || o.Broadcast || !slices.Equal(o.To, protocoltest.IDs(3, 2)) || !slices.EqualFunc(parts, [][]byte{[]byte("a1"), []byte("b1")}, bytes.Equal) {
		t.Fatalf("second bundle %+v, parts %q", o, parts)
	}
	sigA, sigB := &protocol.Signature{Encoded: []byte("A")}, &protocol.Signature{Encoded: []byte("B")}
	b.end(protocol.Result{Signature: sigB}, true)
	a.end(protocol.Result{Signature: sigA}, true)
	res := protocoltest.AwaitDone(t, r)
	if res.Err != nil || len(res.Signatures) != 2 || res.Signatures[0] != sigA || res.Signatures[1] != sigB {
		t.Fatalf("result %+v, want run 0's then run 1's signature", res)
	}
}

func TestBatchDeliversResultAfterLastBundle(t *testing.T) {
	a, b := newFake(false), newFake(false)
	r := fakeBatch(t, a, b)
	a.out <- protocol.Outgoing{Broadcast: true, Payload: []byte("last a")}
	b.out <- protocol.Outgoing{Broadcast: true, Payload: []byte("last b")}
	a.end(protocol.Result{Signature: &protocol.Signature{Encoded: []byte("A")}}, true)
	b.end(protocol.Result{Signature: &protocol.Signature{Encoded: []byte("B")}}, true)
	select {
	case res := <-r.Done():
		t.Fatalf("result %+v before the last bundle was taken", res)
	case <-time.After(30 * time.Millisecond):
	}
	o := nextOutgoing(t, r)
	if parts, ok := refDecode(o.Payload); !ok || len(parts) != 2 || string(parts[1]) != "last b" {
		t.Fatalf("last bundle %q", o.Payload)
	}
	if res := protocoltest.AwaitDone(t, r); res.Err != nil || len(res.Signatures) != 2 {
		t.Fatalf("result %+v", res)
	}
}

func TestBatchFailsWhenRunsDiffer(t *testing.T) {
	sig := protocol.Result{Signature: &protocol.Signature{Encoded: []byte("S")}}
	for _, tc := range []struct {
		name string
		run  func(a, b *fakeRun)
		want string
	}{
		{"different recipients", func(a, b *fakeRun) {
			a.out <- protocol.Outgoing{To: protocoltest.IDs(2), Payload: []byte("x")}
			b.out <- protocol.Outgoing{To: protocoltest.IDs(3), Payload: []byte("y")}
		}, "payload 0 of run 1 goes to [party 3]"},
		{"broadcast and point-to-point", func(a, b *fakeRun) {
			a.out <- protocol.Outgoing{Broadcast: true, Payload: []byte("x")}
			b.out <- protocol.Outgoing{To: protocoltest.IDs(2), Payload: []byte("y")}
		}, "goes to [party 2], but run 0's goes to everyone"},
		{"one run ended, the other emits more", func(a, b *fakeRun) {
			a.end(sig, true)
			b.out <- protocol.Outgoing{Broadcast: true, Payload: []byte("y")}
		}, "run 1 of the batch emitted more payloads than run 0, which has ended"},
		{"empty payload", func(a, b *fakeRun) {
			a.out <- protocol.Outgoing{Broadcast: true, Payload: []byte("x")}
			b.out <- protocol.Outgoing{Broadcast: true}
		}, "run 1 of the batch emitted an empty payload"},
		{"a result that is not a signature", func(a, b *fakeRun) {
			a.end(protocol.Result{Keygen: &protocol.KeygenOutput{}}, true)
		}, "run 0 of the batch ended without a signature"},
		{"a run fails", func(a, b *fakeRun) {
			a.end(sig, true)
			b.end(protocol.Result{Err: &protocol.Error{Task: "sign", Round: 2, Culprits: protocoltest.IDs(3), Cause: errors.New("bad share")}}, true)
		}, "sign failed in round 2 (culprits: party 3): run 1 of 2 in the batch: bad share"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := newFake(false), newFake(false)
			r := fakeBatch(t, a, b)
			tc.run(a, b)
			res := protocoltest.AwaitDone(t, r)
			if res.Err == nil || res.Signatures != nil {
				t.Fatalf("result %+v, want a failure", res)
			}
			pe := protocoltest.ProtoErr(t, res.Err)
			if pe.Task != "sign" || !strings.Contains(pe.Error(), tc.want) {
				t.Fatalf("error %q, want %q", pe, tc.want)
			}
			// Whatever had not ended was aborted.
			waitEnded(t, a)
			waitEnded(t, b)
		})
	}
}

// TestBatchHandleErrors checks what the batch makes of an error from a run's Handle: a
// failure of the run fails the batch at once with its culprits; a plain error (the run has
// already ended, the payload came late) is returned but fails nothing.
func TestBatchHandleErrors(t *testing.T) {
	bundle := refEncode(1, 2, []byte("a"), []byte("b"))

	a, b := newFake(false), newFake(false)
	b.handleErr = &protocol.Error{Task: "sign", Round: 1, Culprits: protocoltest.IDs(2), Cause: errors.New("bad commitment")}
	r := fakeBatch(t, a, b)
	err := r.Handle(2, true, bundle)
	if !slices.Equal(protocol.Culprits(err), protocoltest.IDs(2)) || !strings.Contains(err.Error(), "run 1 of 2 in the batch: bad commitment") {
		t.Fatalf("Handle: %v", err)
	}
	protocoltest.WantCulprits(t, protocoltest.AwaitDone(t, r), 2)
	waitEnded(t, a)

	a, b = newFake(false), newFake(false)
	b.handleErr = errors.New("fake: run has ended")
	r = fakeBatch(t, a, b)
	defer r.Abort(nil)
	if err := r.Handle(2, true, bundle); err == nil || protocol.Culprits(err) != nil {
		t.Fatalf("Handle: %v, want the run's plain error", err)
	}
	select {
	case res := <-r.Done():
		t.Fatalf("a late payload ended the batch: %+v", res)
	case <-time.After(30 * time.Millisecond):
	}
	if err := r.Handle(2, true, bundle); errors.Is(err, protocol.ErrBatchEnded) {
		t.Fatal("the batch ended on a late payload")
	}
}

// TestBundleDecoding hands bundles to a batch of two echo doubles, as party 3 sent them.
func TestBundleDecoding(t *testing.T) {
	valid := refEncode(1, 2, []byte("first"), []byte("second"))
	for _, tc := range []struct {
		name    string
		payload []byte
		want    string // "" for a bundle that must be accepted
	}{
		{"valid", valid, ""},
		{"large parts", refEncode(1, 2, bytes.Repeat([]byte{1}, 70000), []byte{2}), ""},
		{"empty", nil, "shorter than its 3-byte header"},
		{"header cut", []byte{1, 0}, "shorter than its 3-byte header"},
		{"version 2", refEncode(2, 2, []byte("first"), []byte("second")), "version 0x02, want 0x01"},
		{"version 0", refEncode(0, 2, []byte("first"), []byte("second")), "version 0x00"},
		{"no parts", refEncode(1, 0), "holds 0 parts, want 2"},
		{"one part", refEncode(1, 1, []byte("first")), "holds 1 parts, want 2"},
		{"three parts", refEncode(1, 3, []byte("a"), []byte("b"), []byte("c")), "holds 3 parts, want 2"},
		{"count says 2, one part", refEncode(1, 2, []byte("first")), "ends in the length of part 1"},
		{"empty part", refEncode(1, 2, []byte("first"), nil), "part 1 of the bundle is empty"},
		{"truncated", valid[:len(valid)-1], "part 1 of the bundle claims 6 bytes, but only 5 remain"},
		{"length cut", valid[:3+4+5+2], "ends in the length of part 1"},
		{"huge length", append(refEncode(1, 2, []byte("first")), 0xff, 0xff, 0xff, 0xff, 'x'), "claims 4294967295 bytes"},
		{"trailing byte", append(slices.Clone(valid), 0), "1 trailing bytes after the bundle's 2 parts"},
		{"over 16 MiB", refEncode(1, 2, make([]byte, 8<<20), make([]byte, 8<<20)), "exceeds the 16777216-byte limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := newFake(true), newFake(true)
			r := fakeBatch(t, a, b)
			defer r.Abort(nil)
			err := r.Handle(3, true, tc.payload)
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("Handle: %v, want an error containing %q", err, tc.want)
				}
				if pe := protocoltest.WantCulprits(t, protocoltest.AwaitDone(t, r), 3); pe.Task != "sign" {
					t.Fatalf("task %q", pe.Task)
				}
				if len(a.received()) != 0 || len(b.received()) != 0 {
					t.Fatal("a run was handed part of a malformed bundle")
				}
				return
			}
			if err != nil {
				t.Fatalf("Handle: %v", err)
			}
			want, _ := refDecode(tc.payload)
			for i, f := range []*fakeRun{a, b} {
				if got := f.received(); len(got) != 1 || !bytes.Equal(got[0], want[i]) {
					t.Fatalf("run %d was handed %q, want %q", i, got, want[i])
				}
			}
			// The echoes come back as one bundle: the encoder gives back the same bytes.
			if o := nextOutgoing(t, r); !bytes.Equal(o.Payload, tc.payload) || !o.Broadcast {
				t.Fatalf("re-encoded bundle differs from the one decoded")
			}
		})
	}
}

// FuzzDecodeBundle hands arbitrary bytes to a batch of k echo doubles: the batch must not
// panic, must blame the sender for anything it refuses, and must re-encode anything it
// accepts to the same bytes, having handed part i to run i.
func FuzzDecodeBundle(f *testing.F) {
	f.Add(refEncode(1, 2, []byte("first"), []byte("second")), uint8(1))
	f.Add(refEncode(1, 1, []byte{0}), uint8(0))
	f.Add(refEncode(1, 3, []byte("a"), []byte("bb"), []byte("ccc")), uint8(2))
	f.Add(refEncode(1, 2, []byte("first")), uint8(1))
	f.Add([]byte{1, 0}, uint8(0))
	f.Add([]byte{}, uint8(63))
	f.Fuzz(func(t *testing.T, payload []byte, k uint8) {
		fakes := make([]*fakeRun, int(k)%protocol.MaxBatch+1)
		for i := range fakes {
			fakes[i] = newFake(true)
		}
		r := fakeBatch(t, fakes...)
		defer r.Abort(nil)
		if err := r.Handle(2, false, payload); err != nil {
			if got := protocol.Culprits(err); !slices.Equal(got, protocoltest.IDs(2)) {
				t.Fatalf("refused with culprits %v: %v", got, err)
			}
			if parts, ok := refDecode(payload); ok && len(parts) == len(fakes) && len(payload) <= 16<<20 {
				t.Fatalf("refused a well-formed bundle of %d parts: %v", len(parts), err)
			}
			return
		}
		parts, ok := refDecode(payload)
		if !ok || len(parts) != len(fakes) {
			t.Fatalf("accepted a bundle the reference decoder refuses")
		}
		for i, f := range fakes {
			if got := f.received(); len(got) != 1 || !bytes.Equal(got[0], parts[i]) {
				t.Fatalf("run %d was handed %q, want %q", i, got, parts[i])
			}
		}
		if o := nextOutgoing(t, r); !bytes.Equal(o.Payload, payload) {
			t.Fatalf("re-encoded bundle differs from the one decoded")
		}
	})
}

// BenchmarkBatchSign2of3Ed25519 signs 32 digests per operation with a 2-of-3 key, both signers
// in one process: as one batch, and as 32 separate runs for comparison. Both report ns/sig.
func BenchmarkBatchSign2of3Ed25519(b *testing.B) {
	const k = 32
	fx := key(b, 3, 2)
	signers := protocoltest.IDs(1, 2)
	b.Run("batch", func(b *testing.B) {
		var last map[protocol.PartyID]protocol.Result
		reqs := requests(b, k)
		b.ReportAllocs()
		for b.Loop() {
			last = exchange(b, batches(b, fx, signers, reqs), signers)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*k), "ns/sig")
		verifyBench(b, fx, reqs, last[1].Signatures)
	})
	b.Run("separate", func(b *testing.B) {
		var last []*protocol.Signature
		reqs := requests(b, k)
		b.ReportAllocs()
		for b.Loop() {
			last = last[:0]
			for i := range reqs {
				runs := make(map[protocol.PartyID]protocol.Run, 2)
				for _, p := range signers {
					runs[p] = signRuns(b, fx, p, signers, reqs[i:i+1])[0]
				}
				last = append(last, exchange(b, runs, signers)[1].Signature)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*k), "ns/sig")
		verifyBench(b, fx, reqs, last)
	})
}

// exchange runs a two-round, two-signer protocol in the calling goroutine: each round, every
// run's payload goes to the other.
func exchange(b *testing.B, runs map[protocol.PartyID]protocol.Run, signers []protocol.PartyID) map[protocol.PartyID]protocol.Result {
	for _, r := range runs {
		if err := r.Start(); err != nil {
			b.Fatal(err)
		}
	}
	for range 2 { // commitments, then signature shares
		out := make(map[protocol.PartyID]protocol.Outgoing, 2)
		for p, r := range runs {
			out[p] = <-r.Outgoing()
		}
		for p, r := range runs {
			other := signers[0]
			if p == other {
				other = signers[1]
			}
			if err := r.Handle(other, out[other].Broadcast, out[other].Payload); err != nil {
				b.Fatal(err)
			}
		}
	}
	results := make(map[protocol.PartyID]protocol.Result, 2)
	for p, r := range runs {
		if results[p] = <-r.Done(); results[p].Err != nil {
			b.Fatal(results[p].Err)
		}
	}
	return results
}

func verifyBench(b *testing.B, fx *keyFixture, reqs []request, sigs []*protocol.Signature) {
	if len(sigs) != len(reqs) {
		b.Fatalf("%d signatures for %d requests", len(sigs), len(reqs))
	}
	for i, rq := range reqs {
		if !ed25519.Verify(fx.publicKey, rq.digest[:], sigs[i].Encoded) {
			b.Fatalf("signature %d does not verify", i)
		}
	}
}
