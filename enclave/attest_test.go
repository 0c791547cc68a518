package enclave

import (
	"bytes"
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mpcsigner/mpcsigner/attestation"
	"github.com/mpcsigner/mpcsigner/attestation/sim"
	"github.com/mpcsigner/mpcsigner/enclave/store"
	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

// The host cannot obtain an attestation over a key or data of its choosing: the one method
// that returns a document takes no arguments, and the document always covers the enclave's
// own static key and its own binding.
func TestHostCannotChooseWhatIsAttested(t *testing.T) {
	c, _ := clusterWithKey(t)
	for name, call := range map[string]func() error{
		"identity with a chosen key": func() error {
			_, err := c.call(1, wire.MethodIdentity, map[string]any{"public_key": bytes.Repeat([]byte{7}, 32)})
			return err
		},
		"identity with chosen user data": func() error {
			_, err := c.call(1, wire.MethodIdentity, map[string]any{"user_data": "aGVsbG8="})
			return err
		},
		"a general attest method": func() error {
			_, err := c.call(1, "attest", map[string]any{"public_key": "x", "user_data": "y"})
			return err
		},
	} {
		err := call()
		var re *wire.RemoteError
		if !errors.As(err, &re) || re.Code != wire.CodeBadRequest {
			t.Errorf("%s: got %v, want a bad_request refusal", name, err)
		}
	}
	body, err := c.call(1, wire.MethodIdentity, nil)
	if err != nil {
		t.Fatal(err)
	}
	var id wire.IdentityReply
	if err := wire.DecodeJSON(body, &id); err != nil {
		t.Fatal(err)
	}
	e := c.enclaves[0]
	d, err := e.cfg.Verifier.Verify(id.Document, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(d.PublicKey, e.cfg.Identity.Static.Public) || !bytes.Equal(d.UserData, e.cfg.Roster.IdentityUserData(1)) {
		t.Fatal("the identity document covers something other than the enclave's own key and binding")
	}
}

// A genuine document is only good for the key and the party it was made for.
func TestIdentityDocumentIsBoundToKeyAndParty(t *testing.T) {
	c, _ := clusterWithKey(t)
	body, err := c.call(2, wire.MethodIdentity, nil)
	if err != nil {
		t.Fatal(err)
	}
	var id wire.IdentityReply
	if err := wire.DecodeJSON(body, &id); err != nil {
		t.Fatal(err)
	}
	ident := c.enclaves[0].identity
	otherKey, err := generateStatic()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ident.check(2, id.Document, otherKey.Public); !errors.Is(err, attestation.ErrBinding) {
		t.Errorf("party 2's document with another static key: %v, want ErrBinding", err)
	}
	if _, err := ident.check(3, id.Document, nil); !errors.Is(err, attestation.ErrBinding) {
		t.Errorf("party 2's document presented as party 3's: %v, want ErrBinding", err)
	}
	if _, err := c.call(1, wire.MethodPeerLearn, wire.PeerDocument{Party: 3, Document: id.Document}); err == nil {
		t.Error("party 1 learned party 2's document as party 3's identity")
	}
	flipped := bytes.Clone(id.Document)
	flipped[len(flipped)/2] ^= 1
	if _, err := c.call(1, wire.MethodPeerLearn, wire.PeerDocument{Party: 2, Document: flipped}); err == nil {
		t.Error("party 1 learned a tampered document")
	}
	// Another cluster's document (same CA and measurements, other roster) does not fit.
	other := testRoster()
	foreign := &attestedIdentity{self: 2, static: c.enclaves[1].cfg.Identity.Static.Public, roster: other,
		attester: c.enclaves[1].cfg.Attester, verifier: c.enclaves[1].cfg.Verifier, refresh: time.Minute, now: time.Now, peers: map[protocol.PartyID]learnedPeer{}}
	doc, err := foreign.own(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ident.check(2, doc, nil); !errors.Is(err, attestation.ErrBinding) {
		t.Errorf("a document bound to another cluster: %v, want ErrBinding", err)
	}
}

// A party whose measurement is not in the policy is refused: its identity is not learned, and
// its handshakes are turned away.
func TestPeerWithUnallowedMeasurementIsRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping enclaves in -short mode")
	}
	att := newTestAttestation(t)
	roster := testRoster()
	rogue := &sim.Attester{CA: att.ca, PCRs: sim.MeasurementOf([]byte("some other image")), ModuleID: "rogue"}
	mk := func(p protocol.PartyID, a attestation.Attester) *Enclave {
		id, err := LoadIdentity(store.NewMem(), p)
		if err != nil {
			t.Fatal(err)
		}
		e, err := New(Config{Identity: id, Roster: roster, Store: store.NewMem(), Engines: []protocol.Engine{nopEngine{}}, Attester: a, Verifier: att.verifier})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	good, bad := mk(1, att.attester), mk(3, rogue)
	doc, err := bad.identity.own(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	err = good.learnPeer(wire.PeerDocument{Party: 3, Document: doc})
	if !errors.Is(err, attestation.ErrMeasurement) {
		t.Fatalf("learning a rogue identity: %v, want ErrMeasurement", err)
	}
	if good.identity.key(3) != nil {
		t.Fatal("the rogue party's key was learned")
	}
	// The rogue party knows party 1's genuine key and starts a handshake: party 1 refuses it.
	gdoc, err := good.identity.own(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	d, err := att.verifier.Verify(gdoc, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	bad.identity.learn(1, d)
	var initFrame []byte
	bad.channels.send = func(to protocol.PartyID, data []byte) error {
		initFrame = bytes.Clone(data)
		return nil
	}
	if err := bad.channels.Send(1, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if initFrame == nil {
		t.Fatal("no handshake was started")
	}
	good.channels.send = func(protocol.PartyID, []byte) error { t.Error("party 1 answered a rogue handshake"); return nil }
	if err := good.channels.Receive(3, initFrame); !errors.Is(err, attestation.ErrMeasurement) {
		t.Fatalf("rogue handshake: %v, want ErrMeasurement", err)
	}
}

// nopEngine is an engine that is never asked to run (tests of identity need an enclave, and
// an enclave needs an engine).
type nopEngine struct{ protocol.Engine }

func (nopEngine) Scheme() protocol.Scheme { return "nop" }
func (nopEngine) NeedsPreParams() bool    { return false }

// A relay that flips a byte of a handshake gets it refused; the initiator tries again and the
// signing still completes.
func TestTamperedHandshakeIsRefusedAndRetried(t *testing.T) {
	c, key := clusterWithKey(t)
	// Make every channel start anew, then spoil the first handshake that goes through.
	for _, e := range c.enclaves {
		for p := protocol.PartyID(1); p <= 3; p++ {
			e.channels.reset(p, nil)
		}
	}
	// The relay goroutines of all three enclaves call the tamper hook.
	var spoiled atomic.Bool
	c.mu.Lock()
	c.notices = nil
	c.tamper = func(r *wire.Relay) []byte {
		if r.Data[0] == chanInit && spoiled.CompareAndSwap(false, true) {
			d := bytes.Clone(r.Data)
			d[len(d)-20] ^= 0x40
			return d
		}
		return r.Data
	}
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.tamper = nil
		c.mu.Unlock()
	}()
	digest := randomDigest()
	sig, rid, err := c.sign(key, digest, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	verifyWithGeth(t, key.PublicKey, digest, sig, rid)
	c.mu.Lock()
	defer c.mu.Unlock()
	if !spoiled.Load() {
		t.Fatal("no handshake was tampered with")
	}
	if len(c.notices) == 0 {
		t.Fatal("the tampered handshake was not refused")
	}
}
