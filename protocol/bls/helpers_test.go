package bls

import (
	"crypto/rand"
	"sync"
	"testing"

	blst "github.com/supranational/blst/bindings/go"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/protocoltest"
)

const testTimeout = protocoltest.Timeout

type tamperFunc = protocoltest.Tamper

func execute(t testing.TB, runs map[protocol.PartyID]protocol.Run, tamper tamperFunc) map[protocol.PartyID]protocol.Result {
	t.Helper()
	return protocoltest.Execute(t, runs, tamper)
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
	publicKey    []byte
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

// reconstructSecret interpolates the secret key at 0 from the shares of parties (test only:
// the engine never does this). It returns the 32-byte big-endian secret.
func reconstructSecret(t testing.TB, fx *keygenFixture, parties []protocol.PartyID) []byte {
	t.Helper()
	lambdas, err := lagrangeAt(parties, nil)
	if err != nil {
		t.Fatal(err)
	}
	var sk *blst.Scalar
	for i, p := range parties {
		s, err := decodeShare(fx.shares[p])
		if err != nil {
			t.Fatal(err)
		}
		term := mul(lambdas[i], s.secret)
		if sk == nil {
			sk = term
		} else {
			sk = add(sk, term)
		}
	}
	return sk.Serialize()
}
