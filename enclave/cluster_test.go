package enclave

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/mpcsigner/mpcsigner/attestation"
	"github.com/mpcsigner/mpcsigner/attestation/nitro"
	"github.com/mpcsigner/mpcsigner/attestation/sim"
	"github.com/mpcsigner/mpcsigner/enclave/store"
	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/bls"
	"github.com/mpcsigner/mpcsigner/protocol/ecdsa"
	frosted "github.com/mpcsigner/mpcsigner/protocol/frost/ed25519"
	"github.com/mpcsigner/mpcsigner/protocol/frost/taproot"
	"github.com/mpcsigner/mpcsigner/protocol/protocoltest"
	"github.com/mpcsigner/mpcsigner/protocol/transport"
	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

// testCluster runs three real enclaves in this process over the in-memory transport. The test
// itself plays the three hosts: it relays every frame an enclave emits to its recipient, and
// records what it relays.
type testCluster struct {
	t        testing.TB
	mem      *transport.Mem
	enclaves []*Enclave
	stores   []store.Store
	conns    []*transport.FrameConn
	recorder *protocoltest.Recorder

	mu      sync.Mutex
	pending map[uint64]chan *wire.Response
	nextID  atomic.Uint64
	relayed [][]byte
	notices []*wire.RemoteError
	// tamper, when set, may rewrite relay data in flight (a malicious host).
	tamper func(r *wire.Relay) []byte
}

func preParamsFixture(t testing.TB, party int) [][]byte {
	b, err := os.ReadFile(filepath.Join("..", "protocol", "ecdsa", "testdata", "preparams", fmt.Sprintf("party-%d.json", party)))
	if err != nil {
		t.Fatalf("reading pre-parameter fixture: %v", err)
	}
	return [][]byte{b}
}

func newTestCluster(t testing.TB) *testCluster {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	c := &testCluster{t: t, mem: transport.NewMem(), recorder: &protocoltest.Recorder{}, pending: map[uint64]chan *wire.Response{}}
	roster := testRoster()
	att := newTestAttestation(t)
	var ids []*Identity
	for p := 1; p <= 3; p++ {
		st := store.NewMem()
		id, err := LoadIdentity(st, protocol.PartyID(p))
		if err != nil {
			t.Fatal(err)
		}
		c.stores = append(c.stores, st)
		ids = append(ids, id)
	}
	for i, id := range ids {
		e, err := New(Config{
			Identity: id, Roster: roster, Store: c.stores[i],
			Attester: att.attester, Verifier: att.verifier,
			Engines:           []protocol.Engine{c.recorder.Engine(ecdsa.Engine{}), bls.Engine{}, frosted.Engine{}, taproot.Engine{}},
			PreParamsFixtures: preParamsFixture(t, i+1),
			RunTimeout:        3 * time.Minute, // a bound for hung runs: an ECDSA keygen under -race on a loaded machine nears a minute
			Logger:            slog.New(slog.DiscardHandler),
		})
		if err != nil {
			t.Fatal(err)
		}
		addr := transport.Addr{Scheme: transport.SchemeMem, Host: fmt.Sprintf("enclave-%d", i+1)}
		l, err := c.mem.Listen(addr)
		if err != nil {
			t.Fatal(err)
		}
		go e.Serve(ctx, l)
		c.enclaves = append(c.enclaves, e)
		conn, err := c.mem.Dial(ctx, addr)
		if err != nil {
			t.Fatal(err)
		}
		fc := transport.NewFrameConn(conn)
		c.conns = append(c.conns, fc)
		go c.readLoop(fc)
	}
	for p := 1; p <= 3; p++ {
		if _, err := c.call(p, wire.MethodHello, nil); err != nil {
			t.Fatal(err)
		}
	}
	c.exchangeIdentities(t)
	return c
}

// exchangeIdentities does what hosts do: fetch every enclave's attested identity and hand it
// to the others, which verify it before using the key.
func (c *testCluster) exchangeIdentities(t testing.TB) {
	t.Helper()
	for p := 1; p <= 3; p++ {
		body, err := c.call(p, wire.MethodIdentity, nil)
		if err != nil {
			t.Fatal(err)
		}
		var id wire.IdentityReply
		if err := wire.DecodeJSON(body, &id); err != nil {
			t.Fatal(err)
		}
		for q := 1; q <= 3; q++ {
			if q == p {
				continue
			}
			if _, err := c.call(q, wire.MethodPeerLearn, wire.PeerDocument{Party: protocol.PartyID(p), Document: id.Document}); err != nil {
				t.Fatalf("party %d refused party %d's identity: %v", q, p, err)
			}
		}
	}
}

func testRoster() *Roster {
	return &Roster{Version: 1, ClusterID: "test-" + randomHex(4), Threshold: 2, Epoch: 1, Parties: []protocol.PartyID{1, 2, 3}}
}

// testAttestation is a simulated CA, an attester measuring a fixed test image, and the
// production Nitro verifier trusting only that CA's root.
type testAttestation struct {
	ca       *sim.CA
	pcrs     map[int][]byte
	attester *sim.Attester
	verifier attestation.Verifier
}

func newTestAttestation(t testing.TB) *testAttestation {
	t.Helper()
	ca, err := sim.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	pcrs := sim.MeasurementOf([]byte("enclave test image"))
	v, err := nitro.NewVerifier([]*x509.Certificate{ca.Root()}, attestation.Policy{Measurements: pcrs, MaxAge: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return &testAttestation{ca: ca, pcrs: pcrs, attester: &sim.Attester{CA: ca, PCRs: pcrs, ModuleID: "test"}, verifier: v}
}

// readLoop plays the host: responses go to their callers, relays to their recipients.
func (c *testCluster) readLoop(fc *transport.FrameConn) {
	for {
		f, err := fc.Read()
		if err != nil {
			return
		}
		switch f.Type {
		case wire.FrameResponse:
			resp, err := wire.DecodeResponse(f.Body)
			if err != nil {
				c.t.Errorf("enclave sent an undecodable response: %v", err)
				return
			}
			c.mu.Lock()
			if resp.ID == 0 {
				c.notices = append(c.notices, resp.Err)
			}
			ch := c.pending[resp.ID]
			delete(c.pending, resp.ID)
			c.mu.Unlock()
			if ch != nil {
				ch <- resp
			}
		case wire.FrameRelay:
			r, err := wire.DecodeRelay(f.Body)
			if err != nil {
				c.t.Errorf("enclave sent an undecodable relay: %v", err)
				return
			}
			c.mu.Lock()
			c.relayed = append(c.relayed, append([]byte(nil), r.Data...))
			tamper := c.tamper
			c.mu.Unlock()
			if tamper != nil {
				r.Data = tamper(r)
			}
			if int(r.To) >= 1 && int(r.To) <= len(c.conns) {
				_ = c.conns[r.To-1].Write(wire.Frame{Type: wire.FrameRelay, Body: r.Encode()})
			}
		}
	}
}

func (c *testCluster) call(party int, method string, args any) ([]byte, error) {
	id := c.nextID.Add(1)
	ch := make(chan *wire.Response, 1)
	c.mu.Lock()
	c.pending[id] = ch
	c.mu.Unlock()
	var body []byte
	if args != nil {
		body = wire.EncodeJSON(args)
	}
	req := &wire.Request{ID: id, Method: method, Body: body}
	if err := c.conns[party-1].Write(wire.Frame{Type: wire.FrameRequest, Body: req.Encode()}); err != nil {
		return nil, err
	}
	select {
	case resp := <-ch:
		if resp.Err != nil {
			return nil, resp.Err
		}
		return resp.Body, nil
	case <-time.After(90 * time.Second):
		return nil, fmt.Errorf("party %d: no answer to %s", party, method)
	}
}

// run prepares a session on every participant, starts it everywhere, and returns the results.
func (c *testCluster) run(args wire.PrepareArgs) (map[protocol.PartyID]*wire.SessionResult, error) {
	for _, p := range args.Parties {
		if _, err := c.call(int(p), wire.MethodPrepare, args); err != nil {
			return nil, err
		}
	}
	type result struct {
		p   protocol.PartyID
		r   *wire.SessionResult
		err error
	}
	ch := make(chan result, len(args.Parties))
	for _, p := range args.Parties {
		go func() {
			body, err := c.call(int(p), wire.MethodStart, wire.SessionRef{Session: args.Session})
			var r wire.SessionResult
			if err == nil {
				err = wire.DecodeJSON(body, &r)
			}
			ch <- result{p, &r, err}
		}()
	}
	out := map[protocol.PartyID]*wire.SessionResult{}
	var errs []error
	for range args.Parties {
		r := <-ch
		if r.err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.p, r.err))
			continue
		}
		out[r.p] = r.r
	}
	return out, errors.Join(errs...)
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (c *testCluster) keygen(label string) (*wire.KeyInfo, error) {
	res, err := c.run(wire.PrepareArgs{
		Session: newID(), Kind: wire.KindKeygen, Scheme: protocol.SchemeECDSASecp256k1,
		Parties: []protocol.PartyID{1, 2, 3}, Threshold: 2, KeyID: newID(), Label: label,
	})
	if err != nil {
		return nil, err
	}
	k := res[1].Key
	for p, r := range res {
		if r.Key == nil || r.Key.PublicKey != k.PublicKey {
			return nil, fmt.Errorf("%s disagrees on the key: %+v vs %+v", p, r.Key, k)
		}
	}
	return k, nil
}

func (c *testCluster) sign(key *wire.KeyInfo, digest []byte, signers ...protocol.PartyID) ([]byte, int, error) {
	res, err := c.run(wire.PrepareArgs{
		Session: newID(), Kind: wire.KindSign, Scheme: key.Scheme, Parties: signers,
		KeyID: key.ID, Digest: hex.EncodeToString(digest),
	})
	if err != nil {
		return nil, 0, err
	}
	first := res[signers[0]]
	for p, r := range res {
		if r.Signature != first.Signature || *r.RecoveryID != *first.RecoveryID {
			return nil, 0, fmt.Errorf("%s returned a different signature", p)
		}
	}
	sig, err := hex.DecodeString(first.Signature)
	return sig, *first.RecoveryID, err
}

// verifyWithGeth checks a signature with go-ethereum's libsecp256k1 binding, which shares no
// code with tss-lib or btcec.
func verifyWithGeth(t testing.TB, pubHex string, digest, sig []byte, recoveryID int) {
	t.Helper()
	pub, err := hex.DecodeString(pubHex)
	if err != nil || len(pub) != 33 {
		t.Fatalf("public key %q is not 33 bytes of hex", pubHex)
	}
	if len(sig) != 64 {
		t.Fatalf("signature is %d bytes, want 64", len(sig))
	}
	if !crypto.VerifySignature(pub, digest, sig) {
		t.Fatalf("go-ethereum does not verify the signature %x over %x under %s", sig, digest, pubHex)
	}
	recovered, err := crypto.Ecrecover(digest, append(append([]byte(nil), sig...), byte(recoveryID)))
	if err != nil {
		t.Fatalf("go-ethereum cannot recover a key from the signature: %v", err)
	}
	want, err := crypto.DecompressPubkey(pub)
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(recovered) != hex.EncodeToString(crypto.FromECDSAPub(want)) {
		t.Fatalf("recovery id %d recovers another key", recoveryID)
	}
}

func randomDigest() []byte {
	d := make([]byte, 32)
	_, _ = rand.Read(d)
	return d
}

// dialRaw opens an extra connection to an enclave, as a confused or hostile host would.
func (c *testCluster) dialRaw(t testing.TB, name string) net.Conn {
	t.Helper()
	conn, err := c.mem.Dial(context.Background(), transport.Addr{Scheme: transport.SchemeMem, Host: name})
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

func (c *testCluster) dialFrames(t testing.TB, name string) *transport.FrameConn {
	return transport.NewFrameConn(c.dialRaw(t, name))
}

// readNotice reads the next frame and expects it to be a refusal notice (response id 0).
func readNotice(t testing.TB, fc *transport.FrameConn) *wire.RemoteError {
	t.Helper()
	type res struct {
		f   wire.Frame
		err error
	}
	ch := make(chan res, 1)
	go func() {
		f, err := fc.Read()
		ch <- res{f, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("reading a notice: %v", r.err)
		}
		resp, err := wire.DecodeResponse(r.f.Body)
		if err != nil || r.f.Type != wire.FrameResponse || resp.ID != 0 || resp.Err == nil {
			t.Fatalf("want a refusal notice, got %s frame %+v (%v)", r.f.Type, resp, err)
		}
		return resp.Err
	case <-time.After(10 * time.Second):
		t.Fatal("no notice")
	}
	return nil
}
