package taproot

import (
	"crypto/rand"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/protocoltest"
)

const testTimeout = protocoltest.Timeout

type tamperFunc = protocoltest.Tamper

func execute(t testing.TB, runs map[protocol.PartyID]protocol.Run, tamper tamperFunc) map[protocol.PartyID]protocol.Result {
	t.Helper()
	return protocoltest.Execute(t, runs, tamper)
}

func executeUntil(t testing.TB, runs map[protocol.PartyID]protocol.Run, tamper tamperFunc, wait []protocol.PartyID) map[protocol.PartyID]protocol.Result {
	t.Helper()
	return protocoltest.ExecuteFor(t, runs, tamper, wait)
}

func newNonce(t testing.TB) []byte {
	b := make([]byte, nonceSize)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func keygenRuns(t testing.TB, n, threshold int, nonce []byte) map[protocol.PartyID]protocol.Run {
	t.Helper()
	parties := make([]protocol.PartyID, n)
	for i := range parties {
		parties[i] = protocol.PartyID(i + 1)
	}
	runs := make(map[protocol.PartyID]protocol.Run, n)
	for _, p := range parties {
		r, err := Engine{}.Keygen(protocol.KeygenParams{Self: p, Parties: parties, Threshold: threshold, SessionNonce: nonce})
		if err != nil {
			t.Fatalf("Keygen(%s): %v", p, err)
		}
		runs[p] = r
	}
	return runs
}

func signRuns(t testing.TB, shares map[protocol.PartyID][]byte, signers []protocol.PartyID, digest [32]byte, nonce []byte) map[protocol.PartyID]protocol.Run {
	t.Helper()
	runs := make(map[protocol.PartyID]protocol.Run, len(signers))
	for _, p := range signers {
		r, err := Engine{}.Sign(protocol.SignParams{Self: p, Signers: signers, Share: shares[p], Digest: digest, SessionNonce: nonce})
		if err != nil {
			t.Fatalf("Sign(%s): %v", p, err)
		}
		runs[p] = r
	}
	return runs
}

// keygenFixture is the outcome of one successful keygen.
type keygenFixture struct {
	n, threshold int
	publicKey    []byte // the output key, as keygen reported it
	shares       map[protocol.PartyID][]byte
}

var (
	fixtureMu sync.Mutex
	fixtures  = map[[2]int]*keygenFixture{}
)

// getFixture runs a t-of-n keygen once per test binary.
func getFixture(t testing.TB, n, threshold int) *keygenFixture {
	t.Helper()
	fixtureMu.Lock()
	defer fixtureMu.Unlock()
	if fx, ok := fixtures[[2]int{n, threshold}]; ok {
		return fx
	}
	fx := runKeygen(t, n, threshold)
	fixtures[[2]int{n, threshold}] = fx
	return fx
}

func runKeygen(t testing.TB, n, threshold int) *keygenFixture {
	t.Helper()
	results := execute(t, keygenRuns(t, n, threshold, newNonce(t)), nil)
	fx := &keygenFixture{n: n, threshold: threshold, shares: make(map[protocol.PartyID][]byte)}
	for p, res := range results {
		if res.Err != nil || res.Keygen == nil {
			t.Fatalf("keygen %d-of-%d: %s: %+v", threshold, n, p, res)
		}
		if fx.publicKey == nil {
			fx.publicKey = res.Keygen.PublicKey
		}
		if string(fx.publicKey) != string(res.Keygen.PublicKey) {
			t.Fatalf("keygen %d-of-%d: parties disagree on the group key", threshold, n)
		}
		fx.shares[p] = res.Keygen.Share
	}
	if len(fx.publicKey) != PublicKeySize {
		t.Fatalf("keygen reported a %d-byte public key", len(fx.publicKey))
	}
	return fx
}

// signOnce signs digest with signers and returns the one signature they all produced.
func signOnce(t testing.TB, fx *keygenFixture, signers []protocol.PartyID, digest [32]byte) []byte {
	t.Helper()
	results := execute(t, signRuns(t, fx.shares, signers, digest, newNonce(t)), nil)
	var sig []byte
	for p, res := range results {
		if res.Err != nil || res.Signature == nil {
			t.Fatalf("sign with %v: %s: %+v", signers, p, res)
		}
		if sig == nil {
			sig = res.Signature.Encoded
		}
		if string(sig) != string(res.Signature.Encoded) {
			t.Fatalf("sign with %v: signers produced different signatures", signers)
		}
	}
	return sig
}

// btcecVerify checks sig with btcec's BIP340 verifier alone (not with the package's helper).
func btcecVerify(t testing.TB, publicKey []byte, digest [32]byte, sig []byte) {
	t.Helper()
	pk, err := schnorr.ParsePubKey(publicKey)
	if err != nil {
		t.Fatalf("output key %x: %v", publicKey, err)
	}
	s, err := schnorr.ParseSignature(sig)
	if err != nil {
		t.Fatalf("signature %x: %v", sig, err)
	}
	if !s.Verify(digest[:], pk) {
		t.Fatalf("signature %x does not verify under %x with btcec", sig, publicKey)
	}
}

// bip86ByHand computes the BIP86 output key of an x-only internal key from BIP341's formula,
// Q = lift_x(P) + int(hash_TapTweak(P))·G, with btcec and chainhash only (test code kept
// independent of the package's tapTweak).
func bip86ByHand(t testing.TB, internal []byte) []byte {
	t.Helper()
	var compressed [33]byte
	compressed[0] = 0x02 // lift_x: the even-y point
	copy(compressed[1:], internal)
	p, err := btcec.ParsePubKey(compressed[:])
	if err != nil {
		t.Fatalf("internal key %x: %v", internal, err)
	}
	h := chainhash.TaggedHash([]byte("TapTweak"), internal)
	var tweak btcec.ModNScalar
	if tweak.SetByteSlice(h[:]) {
		t.Fatal("tweak overflows")
	}
	var P, tG, Q btcec.JacobianPoint
	p.AsJacobian(&P)
	btcec.ScalarBaseMultNonConst(&tweak, &tG)
	btcec.AddNonConst(&P, &tG, &Q)
	Q.ToAffine()
	return schnorr.SerializePubKey(btcec.NewPublicKey(&Q.X, &Q.Y))
}

// reconstructSecret interpolates, at 0, the secret key from the shares of parties (test only:
// the engine never does this).
func reconstructSecret(t testing.TB, fx *keygenFixture, parties []protocol.PartyID) *btcec.ModNScalar {
	t.Helper()
	lambdas, err := lagrangeAt(parties, nil)
	if err != nil {
		t.Fatal(err)
	}
	sk := new(btcec.ModNScalar)
	for i, p := range parties {
		s, err := decodeShare(fx.shares[p])
		if err != nil {
			t.Fatal(err)
		}
		sk.Add(new(btcec.ModNScalar).Mul2(lambdas[i], s.secret))
	}
	return sk
}

// nextPayload returns the next payload r emits.
func nextPayload(t testing.TB, r protocol.Run) protocol.Outgoing {
	t.Helper()
	select {
	case o := <-r.Outgoing():
		return o
	case <-time.After(testTimeout):
		t.Fatalf("%v emitted nothing within %v", r, testTimeout)
	}
	return protocol.Outgoing{}
}

// mustDecode decodes a payload the test knows to be valid.
func mustDecode(t testing.TB, b []byte) *message {
	t.Helper()
	m, err := decodePayload(b)
	if err != nil {
		t.Fatalf("decoding a payload: %v", err)
	}
	return m
}

// pointOf returns k·G, compressed.
func pointOf(k uint32) []byte {
	return encodePoint(mulBase(new(btcec.ModNScalar).SetInt(k)))
}

// scalarOf returns k as 32 big-endian bytes.
func scalarOf(k uint32) []byte {
	b := new(btcec.ModNScalar).SetInt(k).Bytes()
	return b[:]
}
