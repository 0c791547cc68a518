package backup

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"golang.org/x/crypto/ssh"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/bls"
	"github.com/mpcsigner/mpcsigner/protocol/ecdsa"
	frosted "github.com/mpcsigner/mpcsigner/protocol/frost/ed25519"
	"github.com/mpcsigner/mpcsigner/protocol/frost/taproot"
	"github.com/mpcsigner/mpcsigner/protocol/protocoltest"
)

// keygenTimeout is generous: tss-lib ECDSA keygen takes seconds, more under -race on a busy
// 2-core machine.
const keygenTimeout = 5 * time.Minute

// testKey is the outcome of one keygen run by the engines' public Keygen.
type testKey struct {
	scheme    protocol.Scheme
	publicKey []byte
	threshold int
	parties   []protocol.PartyID
	shares    map[protocol.PartyID][]byte
}

func (k *testKey) meta(p protocol.PartyID) EntryMeta {
	return EntryMeta{KeyID: "0123456789abcdef0123456789abcdef", Scheme: k.scheme, PublicKey: k.publicKey, Threshold: k.threshold, Parties: k.parties, Party: p}
}

func (k *testKey) bundleMeta(recipients []string) BundleMeta {
	return BundleMeta{
		KeyID: "0123456789abcdef0123456789abcdef", KeyLabel: "treasury ünïcode", Scheme: k.scheme, PublicKey: k.publicKey,
		Threshold: k.threshold, Parties: k.parties, Recipients: recipients, Created: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
	}
}

func engineFor(s protocol.Scheme) protocol.Engine {
	switch s {
	case protocol.SchemeECDSASecp256k1:
		return ecdsa.Engine{Curve: ecdsa.CurveSecp256k1}
	case protocol.SchemeECDSAP256:
		return ecdsa.Engine{Curve: ecdsa.CurveP256}
	case protocol.SchemeBLS12381:
		return bls.Engine{}
	case protocol.SchemeEd25519:
		return frosted.Engine{}
	case protocol.SchemeBIP340:
		return taproot.Engine{}
	}
	panic("unknown scheme " + s)
}

// skipSlowKeygen skips a test that needs an ECDSA key in -short mode: tss-lib's keygen takes
// seconds even with fixture pre-params, and minutes on a busy machine.
func skipSlowKeygen(t *testing.T, scheme protocol.Scheme) {
	if testing.Short() && (scheme == protocol.SchemeECDSASecp256k1 || scheme == protocol.SchemeECDSAP256) {
		t.Skipf("-short: no %s keygen", scheme)
	}
}

// ecdsaPreParams returns the ECDSA engine's fixture pre-params of a test party (public test
// data, never for a real key).
func ecdsaPreParams(t testing.TB, p protocol.PartyID) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "protocol", "ecdsa", "testdata", "preparams", fmt.Sprintf("party-%d.json", p)))
	if err != nil {
		t.Fatalf("ECDSA test pre-params: %v", err)
	}
	return b
}

var (
	keysMu sync.Mutex
	keys   = map[protocol.Scheme]*testKey{}
)

// keyOf returns a 2-of-3 key of scheme, made once per test binary.
func keyOf(t testing.TB, scheme protocol.Scheme) *testKey {
	t.Helper()
	keysMu.Lock()
	defer keysMu.Unlock()
	if k, ok := keys[scheme]; ok {
		return k
	}
	k := keygen(t, scheme, protocoltest.IDs(1, 2, 3), 2, nil)
	keys[scheme] = k
	return k
}

// keygen runs one keygen (an import when imp is set) of parties with the engine of scheme.
func keygen(t testing.TB, scheme protocol.Scheme, parties []protocol.PartyID, threshold int, imp func(protocol.PartyID) *protocol.ImportParams) *testKey {
	t.Helper()
	eng := engineFor(scheme)
	nonce := make([]byte, 32)
	rand.Read(nonce)
	runs := make(map[protocol.PartyID]protocol.Run, len(parties))
	for _, p := range parties {
		params := protocol.KeygenParams{Self: p, Parties: parties, Threshold: threshold, SessionNonce: nonce}
		if eng.NeedsPreParams() {
			params.PreParams = ecdsaPreParams(t, p)
		}
		if imp != nil {
			params.Import = imp(p)
		}
		r, err := eng.Keygen(params)
		if err != nil {
			t.Fatalf("%s keygen of %s: %v", scheme, p, err)
		}
		runs[p] = r
	}
	k := &testKey{scheme: scheme, threshold: threshold, parties: parties, shares: map[protocol.PartyID][]byte{}}
	for p, res := range executeRuns(t, runs) {
		if res.Err != nil || res.Keygen == nil {
			t.Fatalf("%s keygen: %s: %+v", scheme, p, res)
		}
		if k.publicKey != nil && !bytes.Equal(k.publicKey, res.Keygen.PublicKey) {
			t.Fatalf("%s keygen: parties disagree on the public key", scheme)
		}
		k.publicKey = res.Keygen.PublicKey
		k.shares[p] = res.Keygen.Share
	}
	return k
}

// executeRuns starts every run, delivers every payload to its recipients (each delivery on
// its own goroutine) and returns the results once every run has ended.
func executeRuns(t testing.TB, runs map[protocol.PartyID]protocol.Run) map[protocol.PartyID]protocol.Result {
	t.Helper()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer func() {
		close(stop)
		for _, r := range runs {
			r.Abort(errors.New("test over"))
		}
		wg.Wait()
	}()
	for p, r := range runs {
		if err := r.Start(); err != nil {
			t.Fatalf("%s: Start: %v", p, err)
		}
	}
	type result struct {
		p   protocol.PartyID
		res protocol.Result
	}
	done := make(chan result, len(runs))
	for p, r := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case o := <-r.Outgoing():
					deliver(&wg, runs, p, o)
				case res := <-r.Done():
					done <- result{p, res}
					return
				case <-stop:
					return
				}
			}
		}()
	}
	out := make(map[protocol.PartyID]protocol.Result, len(runs))
	deadline := time.After(keygenTimeout)
	for len(out) < len(runs) {
		select {
		case r := <-done:
			out[r.p] = r.res
		case <-deadline:
			t.Fatalf("runs did not end within %v", keygenTimeout)
		}
	}
	return out
}

func deliver(wg *sync.WaitGroup, runs map[protocol.PartyID]protocol.Run, from protocol.PartyID, o protocol.Outgoing) {
	to := o.To
	if o.Broadcast {
		to = nil
		for p := range runs {
			if p != from {
				to = append(to, p)
			}
		}
	}
	for _, p := range to {
		payload := bytes.Clone(o.Payload)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = runs[p].Handle(from, o.Broadcast, payload) // failures show on Done
		}()
	}
}

// operator is one holder of a recovery key: an age X25519 identity or an ssh-ed25519 key.
type operator struct {
	recipient string
	identity  age.Identity
}

func newX25519Operator(t testing.TB) operator {
	t.Helper()
	id := NewRecoveryIdentity()
	return operator{recipient: id.Recipient().String(), identity: id}
}

// newSSHOperator makes an ssh-ed25519 key pair, as ssh-keygen -t ed25519 would, and returns
// its authorized_keys line (with a comment) and its age identity.
func newSSHOperator(t testing.TB) operator {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	id, err := agessh.NewEd25519Identity(priv)
	if err != nil {
		t.Fatal(err)
	}
	line := string(bytes.TrimSpace(ssh.MarshalAuthorizedKey(sshPub))) + " alice@laptop"
	return operator{recipient: line, identity: id}
}

func recipientsOf(ops ...operator) []string {
	out := make([]string, len(ops))
	for i, o := range ops {
		out[i] = o.recipient
	}
	return out
}

// sealAll seals every share of k to ops and returns the entries.
func sealAll(t testing.TB, k *testKey, chainCode []byte, ops ...operator) []Entry {
	t.Helper()
	var entries []Entry
	for _, p := range k.parties {
		m := k.meta(p)
		m.ChainCode = chainCode
		e, err := SealShare(k.shares[p], m, recipientsOf(ops...))
		if err != nil {
			t.Fatalf("SealShare(%s): %v", p, err)
		}
		entries = append(entries, e)
	}
	return entries
}

// wantErr fails unless err is an error whose message contains every one of parts.
func wantErr(t testing.TB, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one mentioning %q", parts)
	}
	for _, p := range parts {
		if !bytes.Contains([]byte(err.Error()), []byte(p)) {
			t.Fatalf("error %q does not mention %q", err, p)
		}
	}
}
