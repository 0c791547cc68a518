package ecdsa

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/mpcsigner/mpcsigner/protocol"
)

const (
	keygenTimeout = 5 * time.Minute // generous: -race on a shared 2-core machine
	signTimeout   = 2 * time.Minute
)

// LoadTestPreParams returns the fixture pre-params of test party party (1..6). They are public
// test data: never use them for a real key.
func LoadTestPreParams(t testing.TB, party int) []byte {
	t.Helper()
	b, err := loadPreParams(party)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func loadPreParams(party int) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join("testdata", "preparams", fmt.Sprintf("party-%d.json", party)))
	if err != nil {
		return nil, fmt.Errorf("test pre-params of party %d: %w", party, err)
	}
	return b, nil
}

func newNonce() []byte {
	b := make([]byte, sessionNonceSize)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}

// tamperFunc may replace the payload of o on its way from one party to another.
type tamperFunc func(from, to protocol.PartyID, o protocol.Outgoing) []byte

// testNet routes payloads between in-process runs: every Outgoing goes to each recipient's
// Handle (a broadcast to every other participant), each delivery on its own goroutine, so
// Handle is exercised concurrently.
type testNet struct {
	runs   map[protocol.PartyID]protocol.Run
	ids    []protocol.PartyID
	tamper tamperFunc
	stop   chan struct{}
	wg     sync.WaitGroup
	once   sync.Once
}

// startNet starts every run (concurrently: keygen's first round is CPU work), then routes.
func startNet(runs map[protocol.PartyID]protocol.Run, tamper tamperFunc) (*testNet, error) {
	n := &testNet{runs: runs, tamper: tamper, stop: make(chan struct{})}
	for p := range runs {
		n.ids = append(n.ids, p)
	}
	slices.Sort(n.ids)
	errs := make([]error, len(n.ids))
	var wg sync.WaitGroup
	for i, p := range n.ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := runs[p].Start(); err != nil {
				errs[i] = fmt.Errorf("start %s: %w", p, err)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		n.close()
		return nil, err
	}
	for _, p := range n.ids {
		n.wg.Add(1)
		go n.route(p)
	}
	return n, nil
}

func (n *testNet) route(from protocol.PartyID) {
	defer n.wg.Done()
	run := n.runs[from]
	for {
		select {
		case <-n.stop:
			return
		case o := <-run.Outgoing():
			to := o.To
			if o.Broadcast {
				to = slices.DeleteFunc(slices.Clone(n.ids), func(p protocol.PartyID) bool { return p == from })
			}
			for _, q := range to {
				payload := o.Payload
				if n.tamper != nil {
					payload = n.tamper(from, q, o)
				}
				target, ok := n.runs[q]
				if !ok {
					continue
				}
				n.wg.Add(1)
				go func() {
					defer n.wg.Done()
					_ = target.Handle(from, o.Broadcast, payload) // failures show on Done
				}()
			}
		}
	}
}

// wait collects the results of parties (all runs if none given) or fails after timeout.
func (n *testNet) wait(timeout time.Duration, parties ...protocol.PartyID) (map[protocol.PartyID]protocol.Result, error) {
	if len(parties) == 0 {
		parties = n.ids
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	out := make(map[protocol.PartyID]protocol.Result, len(parties))
	for _, p := range parties {
		select {
		case res := <-n.runs[p].Done():
			out[p] = res
		case <-deadline.C:
			return out, fmt.Errorf("timed out after %v waiting for %s", timeout, p)
		}
	}
	return out, nil
}

// close stops routing and aborts every run (a no-op for runs that have ended).
func (n *testNet) close() {
	n.once.Do(func() {
		close(n.stop)
		for _, r := range n.runs {
			r.Abort(errors.New("test network closed"))
		}
		n.wg.Wait()
	})
}

// execute runs runs to completion over a testNet and returns the results of waitFor (all if
// empty).
func execute(runs map[protocol.PartyID]protocol.Run, tamper tamperFunc, timeout time.Duration, waitFor ...protocol.PartyID) (map[protocol.PartyID]protocol.Result, error) {
	n, err := startNet(runs, tamper)
	if err != nil {
		return nil, err
	}
	defer n.close()
	return n.wait(timeout, waitFor...)
}

// keygenRuns makes keygen runs for parties 1..n with threshold t and the fixture pre-params.
// nonces gives a party's session nonce; parties not in it use common.
func keygenRuns(n, t int, common []byte, nonces map[protocol.PartyID][]byte) (map[protocol.PartyID]protocol.Run, error) {
	parties := make([]protocol.PartyID, n)
	for i := range parties {
		parties[i] = protocol.PartyID(i + 1)
	}
	runs := make(map[protocol.PartyID]protocol.Run, n)
	for _, p := range parties {
		pp, err := loadPreParams(int(p))
		if err != nil {
			return nil, err
		}
		nonce := common
		if b, ok := nonces[p]; ok {
			nonce = b
		}
		r, err := NewKeygen(KeygenConfig{Self: p, Parties: parties, Threshold: t, SessionNonce: nonce, PreParams: pp})
		if err != nil {
			return nil, err
		}
		runs[p] = r
	}
	return runs, nil
}

// signRuns makes sign runs for signers over the shares; nonces as in keygenRuns.
func signRuns(shares map[protocol.PartyID][]byte, signers []protocol.PartyID, digest [32]byte, common []byte, nonces map[protocol.PartyID][]byte) (map[protocol.PartyID]protocol.Run, error) {
	runs := make(map[protocol.PartyID]protocol.Run, len(signers))
	for _, p := range signers {
		nonce := common
		if b, ok := nonces[p]; ok {
			nonce = b
		}
		r, err := NewSign(SignConfig{Self: p, Signers: signers, Share: shares[p], Digest: digest, SessionNonce: nonce})
		if err != nil {
			for _, r := range runs {
				r.Abort(err)
			}
			return nil, err
		}
		runs[p] = r
	}
	return runs, nil
}

// keygenFixture is one 2-of-3 key, made once per test binary.
type keygenFixture struct {
	pub    []byte
	shares map[protocol.PartyID][]byte
}

var (
	fixtureOnce sync.Once
	fixture     *keygenFixture
	fixtureErr  error
)

func getKeygenFixture(tb testing.TB) *keygenFixture {
	tb.Helper()
	fixtureOnce.Do(func() { fixture, fixtureErr = makeKeygenFixture() })
	if fixtureErr != nil {
		tb.Fatalf("keygen fixture: %v", fixtureErr)
	}
	return fixture
}

func makeKeygenFixture() (*keygenFixture, error) {
	runs, err := keygenRuns(3, 2, newNonce(), nil)
	if err != nil {
		return nil, err
	}
	results, err := execute(runs, nil, keygenTimeout)
	if err != nil {
		return nil, err
	}
	fx := &keygenFixture{shares: make(map[protocol.PartyID][]byte)}
	for p, res := range results {
		if res.Err != nil || res.Keygen == nil {
			return nil, fmt.Errorf("%s: keygen failed: %v", p, res.Err)
		}
		if fx.pub == nil {
			fx.pub = res.Keygen.PublicKey
		} else if !bytes.Equal(fx.pub, res.Keygen.PublicKey) {
			return nil, fmt.Errorf("%s: public key %x differs from %x", p, res.Keygen.PublicKey, fx.pub)
		}
		fx.shares[p] = res.Keygen.Share
	}
	return fx, nil
}

// signOnce runs one signing among signers of the fixture key and returns the common
// signature, failing the test on any error or disagreement.
func signOnce(tb testing.TB, fx *keygenFixture, signers []protocol.PartyID, digest [32]byte) *protocol.Signature {
	tb.Helper()
	runs, err := signRuns(fx.shares, signers, digest, newNonce(), nil)
	if err != nil {
		tb.Fatal(err)
	}
	results, err := execute(runs, nil, signTimeout)
	if err != nil {
		tb.Fatal(err)
	}
	var sig *protocol.Signature
	for _, p := range signers {
		res := results[p]
		if res.Err != nil || res.Signature == nil || res.Keygen != nil {
			tb.Fatalf("%s: sign result %+v", p, res)
		}
		if sig == nil {
			sig = res.Signature
		} else if !bytes.Equal(sig.Bytes(), res.Signature.Bytes()) || sig.RecoveryID != res.Signature.RecoveryID {
			tb.Fatalf("%s: signature %x/%d differs from %x/%d", p, res.Signature.Bytes(), res.Signature.RecoveryID, sig.Bytes(), sig.RecoveryID)
		}
	}
	return sig
}

// verifyWithEthereum checks sig with go-ethereum's secp256k1 code, which shares nothing with
// tss-lib or this package: signature validity against the compressed key, low S, and recovery
// of the same key from r||s||v.
func verifyWithEthereum(t testing.TB, pub []byte, digest [32]byte, sig *protocol.Signature) {
	t.Helper()
	if !crypto.VerifySignature(pub, digest[:], sig.Bytes()) {
		t.Fatalf("go-ethereum: signature %x does not verify under %x", sig.Bytes(), pub)
	}
	r, s := new(big.Int).SetBytes(sig.R[:]), new(big.Int).SetBytes(sig.S[:])
	halfN := new(big.Int).Rsh(crypto.S256().Params().N, 1)
	if s.Cmp(halfN) > 0 {
		t.Fatalf("S is high: %x", sig.S)
	}
	if !crypto.ValidateSignatureValues(sig.RecoveryID, r, s, true) {
		t.Fatalf("go-ethereum rejects the signature values (v=%d)", sig.RecoveryID)
	}
	rsv := append(sig.Bytes(), sig.RecoveryID)
	want, err := crypto.DecompressPubkey(pub)
	if err != nil {
		t.Fatal(err)
	}
	got, err := crypto.Ecrecover(digest[:], rsv)
	if err != nil {
		t.Fatalf("go-ethereum Ecrecover: %v", err)
	}
	if !bytes.Equal(got, crypto.FromECDSAPub(want)) {
		t.Fatalf("Ecrecover recovered %x, want %x", got, crypto.FromECDSAPub(want))
	}
	pk, err := crypto.SigToPub(digest[:], rsv)
	if err != nil {
		t.Fatalf("go-ethereum SigToPub: %v", err)
	}
	if !bytes.Equal(crypto.CompressPubkey(pk), pub) {
		t.Fatalf("SigToPub recovered %x, want %x", crypto.CompressPubkey(pk), pub)
	}
}

// awaitDone waits for r's result, taking (and dropping) its payloads meanwhile.
func awaitDone(t testing.TB, r protocol.Run, timeout time.Duration) protocol.Result {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		select {
		case res := <-r.Done():
			return res
		case <-r.Outgoing():
		case <-deadline.C:
			t.Fatalf("no result within %v", timeout)
		}
	}
}

// protoErr returns err as a *protocol.Error or fails the test.
func protoErr(t testing.TB, err error) *protocol.Error {
	t.Helper()
	var pe *protocol.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *protocol.Error", err, err)
	}
	return pe
}
