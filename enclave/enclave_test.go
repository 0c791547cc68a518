package enclave

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mpcsigner/mpcsigner/enclave/store"
	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/ecdsa"
	"github.com/mpcsigner/mpcsigner/protocol/protocoltest"
	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

var (
	sharedOnce sync.Once
	shared     *testCluster
	sharedKey  *wire.KeyInfo
	sharedErr  error
)

// clusterWithKey returns a cluster (shared by the tests of this package, since a keygen takes
// seconds) and a key made on it.
func clusterWithKey(t *testing.T) (*testCluster, *wire.KeyInfo) {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping the in-process cluster (a key generation takes seconds) in -short mode")
	}
	sharedOnce.Do(func() {
		shared = newTestCluster(&onceTB{TB: t})
		sharedKey, sharedErr = shared.keygen("shared")
	})
	if sharedErr != nil {
		t.Fatalf("keygen: %v", sharedErr)
	}
	shared.t = t
	return shared, sharedKey
}

// onceTB lets the shared cluster outlive the test that built it.
type onceTB struct{ testing.TB }

func (o *onceTB) Cleanup(func()) {}

func TestSignWithEveryPairOfSigners(t *testing.T) {
	c, key := clusterWithKey(t)
	for _, signers := range [][]protocol.PartyID{{1, 2}, {1, 3}, {2, 3}} {
		t.Run(fmt.Sprint(signers), func(t *testing.T) {
			digest := randomDigest()
			sig, rid, err := c.sign(key, digest, signers...)
			if err != nil {
				t.Fatal(err)
			}
			verifyWithGeth(t, key.PublicKey, digest, sig, rid)
		})
	}
}

func TestKeyIsStoredAtEveryParty(t *testing.T) {
	c, key := clusterWithKey(t)
	for p := 1; p <= 3; p++ {
		for _, ref := range []string{key.ID, key.Label} {
			body, err := c.call(p, wire.MethodKeyGet, wire.KeyRef{Key: ref})
			if err != nil {
				t.Fatalf("party %d, %s: %v", p, ref, err)
			}
			var info wire.KeyInfo
			if err := wire.DecodeJSON(body, &info); err != nil {
				t.Fatal(err)
			}
			if info.PublicKey != key.PublicKey || info.Threshold != 2 {
				t.Errorf("party %d describes the key as %+v, want %+v", p, info, key)
			}
		}
	}
}

// What a host relays is only Noise traffic: no protocol payload an engine emitted and no part
// of any share appears in it, or in any request or response body the host carried.
func TestHostSeesOnlyCiphertext(t *testing.T) {
	c, key := clusterWithKey(t)
	if _, _, err := c.sign(key, randomDigest(), 1, 3); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	relayed := bytes.Join(c.relayed, []byte{0})
	frames := len(c.relayed)
	kinds := map[byte]int{}
	for _, r := range c.relayed {
		kinds[r[0]]++
	}
	c.mu.Unlock()
	if frames == 0 {
		t.Fatal("nothing was relayed")
	}
	for kind := range kinds {
		if kind < chanInit || kind > chanReset {
			t.Errorf("relayed a frame of kind %d, which is not Noise channel traffic", kind)
		}
	}
	if kinds[chanData] == 0 || kinds[chanInit] == 0 {
		t.Errorf("expected handshakes and data frames, saw %v", kinds)
	}
	payloads := c.recorder.Payloads()
	if len(payloads) == 0 {
		t.Fatal("the engines emitted no payloads")
	}
	for i, p := range payloads {
		for _, w := range protocoltest.Windows(p, 24) {
			if bytes.Contains(relayed, w) {
				t.Fatalf("protocol payload %d appears in plaintext in relayed data", i)
			}
		}
	}
	for p, st := range c.stores {
		raw, err := st.Get(prefixKey + key.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range protocoltest.Windows(raw, 24) {
			if bytes.Contains(relayed, w) {
				t.Fatalf("part of party %d's share record appears in relayed data", p+1)
			}
		}
	}
}

// Garbage sent to an enclave while it signs is refused with an error, and the signing run
// still completes with a valid signature.
func TestBadInputDoesNotDisturbSigning(t *testing.T) {
	c, key := clusterWithKey(t)
	digest := randomDigest()
	type outcome struct {
		sig []byte
		rid int
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		sig, rid, err := c.sign(key, digest, 2, 3)
		done <- outcome{sig, rid, err}
	}()

	target := c.enclaves[1] // party 2, a signer
	addr := fmt.Sprintf("enclave-%d", 2)
	rawFrames := map[string][]byte{
		"truncated frame":   {0, 0, 0, 50, byte(wire.FrameRelay), 1, 2, 3},
		"oversized frame":   {0x7f, 0xff, 0xff, 0xff, byte(wire.FrameRelay)},
		"unknown frame":     {0, 0, 0, 2, 0xee, 0},
		"zero-length frame": {0, 0, 0, 0},
	}
	for name, raw := range rawFrames {
		conn := c.dialRaw(t, addr)
		if _, err := conn.Write(raw); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		conn.Close()
	}
	relays := map[string]*wire.Relay{
		"garbage channel data":     {From: 3, To: 2, Data: []byte{0x03, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9}},
		"unknown channel kind":     {From: 3, To: 2, Data: bytes.Repeat([]byte{0x09}, 40)},
		"forged handshake":         {From: 3, To: 2, Data: append([]byte{0x01, 1, 2, 3, 4, 5, 6, 7, 8}, bytes.Repeat([]byte{7}, 96)...)},
		"sender that is ourselves": {From: 2, To: 2, Data: []byte{0x03, 1, 2, 3, 4, 5, 6, 7, 8}},
		"addressed to another":     {From: 3, To: 1, Data: []byte{0x03, 1, 2, 3, 4, 5, 6, 7, 8}},
		"unknown party":            {From: 9, To: 2, Data: []byte{0x03, 1, 2, 3, 4, 5, 6, 7, 8}},
	}
	fc := c.dialFrames(t, addr)
	for name, r := range relays {
		if err := fc.Write(wire.Frame{Type: wire.FrameRelay, Body: r.Encode()}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if notice := readNotice(t, fc); notice.Code != wire.CodeRejected {
			t.Errorf("%s: notice code %q, want %q", name, notice.Code, wire.CodeRejected)
		}
	}
	fc.Close()

	// Authenticated plaintexts that are not valid for any live session: the channel layer
	// hands them to the session table, which must refuse them without touching the run.
	var unknown wire.SessionID
	copy(unknown[:], bytes.Repeat([]byte{0xab}, 16))
	good := &wire.Envelope{Kind: wire.KindProtocol, Session: unknown, Round: 1, From: 3, To: 2, Payload: []byte("x")}
	goodBytes, err := good.Encode()
	if err != nil {
		t.Fatal(err)
	}
	for name, pt := range map[string][]byte{
		"malformed envelope":    {1, 2, 3},
		"truncated envelope":    goodBytes[:len(goodBytes)-1],
		"unknown session id":    goodBytes,
		"envelope not for us":   mutateEnvelope(t, good, func(e *wire.Envelope) { e.To = 1 }),
		"envelope from another": mutateEnvelope(t, good, func(e *wire.Envelope) { e.From = 1 }),
	} {
		before := target.sessions.count()
		if err := target.sessions.deliver(3, pt); err == nil {
			t.Errorf("%s was accepted", name)
		}
		if after := target.sessions.count(); after != before {
			t.Errorf("%s changed the number of sessions from %d to %d", name, before, after)
		}
	}

	select {
	case o := <-done:
		if o.err != nil {
			t.Fatalf("the signing run was disturbed: %v", o.err)
		}
		verifyWithGeth(t, key.PublicKey, digest, o.sig, o.rid)
	case <-time.After(90 * time.Second):
		t.Fatal("the signing run did not finish")
	}
}

func mutateEnvelope(t *testing.T, e *wire.Envelope, f func(*wire.Envelope)) []byte {
	cp := *e
	f(&cp)
	b, err := cp.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSessionIDCannotBeReused(t *testing.T) {
	c, key := clusterWithKey(t)
	args := wire.PrepareArgs{Session: newID(), Kind: wire.KindSign, Scheme: key.Scheme, Parties: []protocol.PartyID{1, 2}, KeyID: key.ID, Digest: hex.EncodeToString(randomDigest())}
	if _, err := c.call(1, wire.MethodPrepare, args); err != nil {
		t.Fatal(err)
	}
	_, err := c.call(1, wire.MethodPrepare, args)
	assertCode(t, err, wire.CodeConflict)
	if _, err := c.call(1, wire.MethodAbort, wire.SessionRef{Session: args.Session}); err != nil {
		t.Fatal(err)
	}
	_, err = c.call(1, wire.MethodPrepare, args)
	assertCode(t, err, wire.CodeConflict)
}

func TestPrepareRefusesBadRequests(t *testing.T) {
	c, key := clusterWithKey(t)
	sign := func(f func(*wire.PrepareArgs)) wire.PrepareArgs {
		a := wire.PrepareArgs{Session: newID(), Kind: wire.KindSign, Scheme: key.Scheme, Parties: []protocol.PartyID{1, 2}, KeyID: key.ID, Digest: hex.EncodeToString(randomDigest())}
		f(&a)
		return a
	}
	keygen := func(f func(*wire.PrepareArgs)) wire.PrepareArgs {
		a := wire.PrepareArgs{Session: newID(), Kind: wire.KindKeygen, Scheme: protocol.SchemeECDSASecp256k1, Parties: []protocol.PartyID{1, 2, 3}, Threshold: 2, KeyID: newID(), Label: "fresh"}
		f(&a)
		return a
	}
	reshare := func(f func(*wire.PrepareArgs)) wire.PrepareArgs {
		a := wire.PrepareArgs{Session: newID(), Kind: wire.KindReshare, Scheme: key.Scheme, Parties: []protocol.PartyID{1, 2, 3}, KeyID: key.ID, Label: key.Label,
			Reshare: &wire.ReshareArgs{OldParties: []protocol.PartyID{1, 2}, NewParties: []protocol.PartyID{1, 2, 3}, NewThreshold: 2, PublicKey: key.PublicKey, Created: key.Created}}
		f(&a)
		return a
	}
	cases := []struct {
		name string
		args wire.PrepareArgs
		code string
	}{
		{"reshare without its arguments", reshare(func(a *wire.PrepareArgs) { a.Reshare = nil }), wire.CodeBadRequest},
		{"reshare whose parties are not old and new", reshare(func(a *wire.PrepareArgs) { a.Parties = []protocol.PartyID{1, 2} }), wire.CodeBadRequest},
		{"reshare to a threshold of 1", reshare(func(a *wire.PrepareArgs) { a.Reshare.NewThreshold = 1 }), wire.CodeBadRequest},
		{"reshare at another epoch", reshare(func(a *wire.PrepareArgs) { a.Reshare.Epoch = 4 }), wire.CodeConflict},
		{"reshare of another public key", reshare(func(a *wire.PrepareArgs) { a.Reshare.PublicKey = "02" + strings.Repeat("11", 32) }), wire.CodeConflict},
		{"reshare dealt by too many", reshare(func(a *wire.PrepareArgs) { a.Reshare.OldParties = []protocol.PartyID{1, 2, 3} }), wire.CodeBadRequest},
		{"reshare with a digest", reshare(func(a *wire.PrepareArgs) { a.Digest = hex.EncodeToString(randomDigest()) }), wire.CodeBadRequest},
		{"derived signing with a hardened path", sign(func(a *wire.PrepareArgs) { a.Path = "m/0'/1" }), wire.CodeBadRequest},
		{"chain code drawn by a subset", wire.PrepareArgs{Session: newID(), Kind: wire.KindChainCode, Scheme: key.Scheme, Parties: []protocol.PartyID{1, 2}, KeyID: key.ID}, wire.CodeBadRequest},
		{"malformed session id", sign(func(a *wire.PrepareArgs) { a.Session = "xyz" }), wire.CodeBadRequest},
		{"unknown scheme", sign(func(a *wire.PrepareArgs) { a.Scheme = "rsa" }), wire.CodeBadRequest},
		{"unknown kind", sign(func(a *wire.PrepareArgs) { a.Kind = "steal" }), wire.CodeBadRequest},
		{"unknown key", sign(func(a *wire.PrepareArgs) { a.KeyID = newID() }), wire.CodeNotFound},
		{"short digest", sign(func(a *wire.PrepareArgs) { a.Digest = "abcd" }), wire.CodeBadRequest},
		{"too few signers", sign(func(a *wire.PrepareArgs) { a.Parties = []protocol.PartyID{1} }), wire.CodeBadRequest},
		{"too many signers", sign(func(a *wire.PrepareArgs) { a.Parties = []protocol.PartyID{1, 2, 3} }), wire.CodeBadRequest},
		{"unsorted signers", sign(func(a *wire.PrepareArgs) { a.Parties = []protocol.PartyID{2, 1} }), wire.CodeBadRequest},
		{"duplicate signers", sign(func(a *wire.PrepareArgs) { a.Parties = []protocol.PartyID{1, 1} }), wire.CodeBadRequest},
		{"signers without us", sign(func(a *wire.PrepareArgs) { a.Parties = []protocol.PartyID{2, 3} }), wire.CodeBadRequest},
		{"party outside the cluster", sign(func(a *wire.PrepareArgs) { a.Parties = []protocol.PartyID{1, 4} }), wire.CodeBadRequest},
		{"keygen with one party", keygen(func(a *wire.PrepareArgs) { a.Parties = []protocol.PartyID{1} }), wire.CodeBadRequest},
		{"keygen with a threshold above its parties", keygen(func(a *wire.PrepareArgs) { a.Parties, a.Threshold = []protocol.PartyID{1, 2}, 3 }), wire.CodeBadRequest},
		{"keygen with a threshold of 1", keygen(func(a *wire.PrepareArgs) { a.Threshold = 1 }), wire.CodeBadRequest},
		{"sign at another epoch", sign(func(a *wire.PrepareArgs) { a.Epoch = 1 }), wire.CodeStaleKey},
		{"keygen with a bad label", keygen(func(a *wire.PrepareArgs) { a.Label = "no spaces allowed" }), wire.CodeBadRequest},
		{"keygen with a label in use", keygen(func(a *wire.PrepareArgs) { a.Label = key.Label }), wire.CodeConflict},
		{"keygen with an id in use", keygen(func(a *wire.PrepareArgs) { a.KeyID = key.ID }), wire.CodeConflict},
		{"keygen with a digest", keygen(func(a *wire.PrepareArgs) { a.Digest = hex.EncodeToString(randomDigest()) }), wire.CodeBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.call(1, wire.MethodPrepare, tc.args)
			assertCode(t, err, tc.code)
		})
	}
	_, err := c.call(1, wire.MethodPrepare, map[string]any{"session": newID(), "surprise": 1})
	assertCode(t, err, wire.CodeBadRequest)
	_, err = c.call(1, "no.such.method", nil)
	assertCode(t, err, wire.CodeBadRequest)
}

func TestStartOfUnknownSessionIsNotFound(t *testing.T) {
	c, _ := clusterWithKey(t)
	_, err := c.call(2, wire.MethodStart, wire.SessionRef{Session: newID()})
	assertCode(t, err, wire.CodeNotFound)
}

func assertCode(t *testing.T, err error, code string) {
	t.Helper()
	var re *wire.RemoteError
	if !errors.As(err, &re) {
		t.Fatalf("want a %q error, got %v", code, err)
	}
	if re.Code != code {
		t.Fatalf("want code %q, got %q (%s)", code, re.Code, re.Message)
	}
	if strings.TrimSpace(re.Message) == "" {
		t.Fatalf("error %q has no message", code)
	}
}

// A keygen that is prepared but never started gives its pre-parameters back, whether the host
// aborts it or it expires; otherwise every retry against a cluster still filling its pools
// would burn the sets the ready parties had.
func TestUnstartedKeygenReturnsPreParams(t *testing.T) {
	id, err := LoadIdentity(store.NewMem(), 1)
	if err != nil {
		t.Fatal(err)
	}
	att := newTestAttestation(t)
	e, err := New(Config{
		Identity: id, Roster: testRoster(), Store: store.NewMem(), Engines: []protocol.Engine{ecdsa.Engine{}},
		Attester: att.attester, Verifier: att.verifier,
		PreParamsFixtures: preParamsFixture(t, 1), PrepareTimeout: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	keygen := func() wire.PrepareArgs {
		return wire.PrepareArgs{Session: newID(), Kind: wire.KindKeygen, Scheme: protocol.SchemeECDSASecp256k1, Parties: []protocol.PartyID{1, 2, 3}, Threshold: 2, KeyID: newID(), Label: "k"}
	}
	args := keygen()
	if err := e.sessions.prepare(&args); err != nil {
		t.Fatal(err)
	}
	if n := e.pool.ready(); n != 0 {
		t.Fatalf("%d sets ready after a claim, want 0", n)
	}
	e.sessions.abort(args.Session, errors.New("test"))
	if n := e.pool.ready(); n != 1 {
		t.Fatalf("%d sets ready after the abort, want the claimed one back", n)
	}
	// Expiry: a prepared session nobody starts.
	args = keygen()
	if err := e.sessions.prepare(&args); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.sessions.expire(ctx)
	deadline := time.Now().Add(10 * time.Second)
	for e.pool.ready() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("an expired keygen kept its pre-parameters")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
