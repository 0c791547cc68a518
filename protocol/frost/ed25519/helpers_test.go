package ed25519

import (
	"crypto/ed25519"
	"crypto/rand"
	"sync"
	"testing"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/protocoltest"
)

const testTimeout = protocoltest.Timeout

type tamperFunc = protocoltest.Tamper

func execute(t testing.TB, runs map[protocol.PartyID]protocol.Run, tamper tamperFunc) map[protocol.PartyID]protocol.Result {
	t.Helper()
	return protocoltest.Execute(t, runs, tamper)
}

func executeFor(t testing.TB, runs map[protocol.PartyID]protocol.Run, tamper tamperFunc, wait []protocol.PartyID) map[protocol.PartyID]protocol.Result {
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

func partiesUpTo(n int) []protocol.PartyID {
	out := make([]protocol.PartyID, n)
	for i := range out {
		out[i] = protocol.PartyID(i + 1)
	}
	return out
}

func keygenRuns(t testing.TB, parties []protocol.PartyID, threshold int, nonce []byte) map[protocol.PartyID]protocol.Run {
	t.Helper()
	runs := make(map[protocol.PartyID]protocol.Run, len(parties))
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
	parties   []protocol.PartyID
	threshold int
	publicKey []byte
	shares    map[protocol.PartyID][]byte
}

var (
	fixtureMu sync.Mutex
	fixtures  = map[[2]int]*keygenFixture{}
)

// getFixture runs a t-of-n keygen (parties 1..n) once per test binary.
func getFixture(t testing.TB, n, threshold int) *keygenFixture {
	t.Helper()
	fixtureMu.Lock()
	defer fixtureMu.Unlock()
	if fx, ok := fixtures[[2]int{n, threshold}]; ok {
		return fx
	}
	fx := runKeygen(t, partiesUpTo(n), threshold)
	fixtures[[2]int{n, threshold}] = fx
	return fx
}

func runKeygen(t testing.TB, parties []protocol.PartyID, threshold int) *keygenFixture {
	t.Helper()
	results := execute(t, keygenRuns(t, parties, threshold, newNonce(t)), nil)
	fx := &keygenFixture{parties: parties, threshold: threshold, shares: make(map[protocol.PartyID][]byte)}
	for p, res := range results {
		if res.Err != nil || res.Keygen == nil {
			t.Fatalf("keygen %d-of-%v: %s: %+v", threshold, parties, p, res)
		}
		if fx.publicKey == nil {
			fx.publicKey = res.Keygen.PublicKey
		}
		if string(fx.publicKey) != string(res.Keygen.PublicKey) {
			t.Fatalf("keygen %d-of-%v: parties disagree on the group key", threshold, parties)
		}
		fx.shares[p] = res.Keygen.Share
	}
	if len(fx.publicKey) != PublicKeySize {
		t.Fatalf("group key of %d bytes", len(fx.publicKey))
	}
	return fx
}

// signOnce signs digest with signers, checks that they all produced the same signature and
// that crypto/ed25519 accepts it, and returns it.
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
	if len(sig) != SignatureSize || !ed25519.Verify(fx.publicKey, digest[:], sig) {
		t.Fatalf("sign with %v: crypto/ed25519 refuses the signature", signers)
	}
	return sig
}

// combinations returns every k-subset of ps, in lexicographic order.
func combinations(ps []protocol.PartyID, k int) [][]protocol.PartyID {
	if k == 0 {
		return [][]protocol.PartyID{nil}
	}
	var out [][]protocol.PartyID
	for i := 0; i+k <= len(ps); i++ {
		for _, rest := range combinations(ps[i+1:], k-1) {
			out = append(out, append([]protocol.PartyID{ps[i]}, rest...))
		}
	}
	return out
}
