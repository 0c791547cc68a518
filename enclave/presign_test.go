package enclave

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2/schnorr"

	"github.com/mpcsigner/mpcsigner/enclave/store"
	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

// presign runs a presign session for key among signers and returns its id.
func (c *testCluster) presign(t testing.TB, key *wire.KeyInfo, signers ...protocol.PartyID) string {
	t.Helper()
	id := newID()
	res, err := c.run(wire.PrepareArgs{Session: id, Kind: wire.KindPresign, Scheme: key.Scheme, Parties: signers, KeyID: key.ID, Epoch: key.Epoch})
	if err != nil {
		t.Fatalf("presign: %v", err)
	}
	for p, r := range res {
		if !r.Presigned || r.Signature != "" {
			t.Fatalf("%s: presign result %+v", p, r)
		}
	}
	return id
}

func signArgs(key *wire.KeyInfo, digest []byte, presig string, signers ...protocol.PartyID) wire.PrepareArgs {
	return wire.PrepareArgs{Session: newID(), Kind: wire.KindSign, Scheme: key.Scheme, Parties: signers, KeyID: key.ID, Epoch: key.Epoch, Digest: hex.EncodeToString(digest), Presignature: presig}
}

// signResult returns the signature every signer agreed on.
func signResult(t testing.TB, res map[protocol.PartyID]*wire.SessionResult) ([]byte, int) {
	t.Helper()
	var first *wire.SessionResult
	for p, r := range res {
		if r.Signature == "" || r.RecoveryID == nil {
			t.Fatalf("%s: no signature in %+v", p, r)
		}
		if first != nil && (r.Signature != first.Signature || *r.RecoveryID != *first.RecoveryID) {
			t.Fatalf("%s returned a different signature", p)
		}
		first = r
	}
	sig, err := hex.DecodeString(first.Signature)
	if err != nil {
		t.Fatal(err)
	}
	return sig, *first.RecoveryID
}

// A presignature parks at each signer, signs one digest (go-ethereum verifies it), leaves a
// durable binding record at each signer, and cannot sign again.
func TestPresignedSigning(t *testing.T) {
	c, key := clusterWithKey(t)
	signers := []protocol.PartyID{1, 3}
	// The cluster is shared with other tests, some of which leave presignatures parked (a
	// refused batch is never sent to the parties after the one that refused it): count what
	// this test adds.
	before, before2 := c.enclaves[0].presigs.count(), c.enclaves[1].presigs.count()
	id := c.presign(t, key, signers...)
	if got := c.enclaves[0].status().Presignatures; got != before+1 {
		t.Fatalf("party 1 reports %d parked presignatures, want %d", got, before+1)
	}
	if got := c.enclaves[1].presigs.count(); got != before2 {
		t.Fatalf("party 2, not a signer, parked %d presignatures (had %d)", got, before2)
	}
	digest := randomDigest()
	res, err := c.run(signArgs(key, digest, id, signers...))
	if err != nil {
		t.Fatalf("signing with the presignature: %v", err)
	}
	sig, rid := signResult(t, res)
	verifyWithGeth(t, key.PublicKey, digest, sig, rid)
	for _, p := range signers {
		names, err := c.stores[p-1].List(prefixPresignUsed)
		if err != nil {
			t.Fatal(err)
		}
		if !slicesContainsSuffix(names, "/"+id) {
			t.Fatalf("%s has no durable binding record for presignature %s (records: %v)", p, id, names)
		}
	}
	_, err = c.call(1, wire.MethodPrepare, signArgs(key, randomDigest(), id, signers...))
	assertCode(t, err, wire.CodeNotFound)

	// A presign the host abandons (another signer failed) is discarded where it parked.
	id = c.presign(t, key, signers...)
	parked := c.enclaves[0].presigs.count()
	if _, err := c.call(1, wire.MethodAbort, wire.SessionRef{Session: id, Reason: "another participant failed"}); err != nil {
		t.Fatal(err)
	}
	if got := c.enclaves[0].presigs.count(); got != parked-1 {
		t.Fatalf("an abandoned presignature is still parked (%d, was %d)", got, parked)
	}
	_, err = c.call(1, wire.MethodPrepare, signArgs(key, randomDigest(), id, signers...))
	assertCode(t, err, wire.CodeNotFound)
}

func slicesContainsSuffix(names []string, suffix string) bool {
	for _, n := range names {
		if strings.HasSuffix(n, suffix) {
			return true
		}
	}
	return false
}

// Many signings racing for one presignature at one party: exactly one claims it.
func TestPresignatureClaimedOnceUnderConcurrency(t *testing.T) {
	c, key := clusterWithKey(t)
	signers := []protocol.PartyID{1, 2}
	id := c.presign(t, key, signers...)
	var won atomic.Int32
	var sessions sync.Map
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			args := signArgs(key, randomDigest(), id, signers...)
			_, err := c.call(1, wire.MethodPrepare, args)
			var re *wire.RemoteError
			switch {
			case err == nil:
				won.Add(1)
				sessions.Store(args.Session, true)
			case errors.As(err, &re) && re.Code == wire.CodeNotFound:
			default:
				t.Errorf("prepare: %v", err)
			}
		}()
	}
	wg.Wait()
	if got := won.Load(); got != 1 {
		t.Fatalf("%d signings claimed one presignature, want exactly 1", got)
	}
	sessions.Range(func(k, _ any) bool {
		_, _ = c.call(1, wire.MethodAbort, wire.SessionRef{Session: k.(string), Reason: "test"})
		return true
	})
	// Party 2's half is still parked; abandoned by the host, it cannot be completed with party
	// 1's, which the aborted session burned.
	_, err := c.run(signArgs(key, randomDigest(), id, signers...))
	if err == nil {
		t.Fatal("a signing completed with a presignature already claimed at party 1")
	}
}

// A signing that names a presignature made for other signers is refused, and the refusal
// burns the presignature at that party.
func TestPresignatureBoundToItsSigners(t *testing.T) {
	c, key := clusterWithKey(t)
	id := c.presign(t, key, 2, 3)
	_, err := c.call(2, wire.MethodPrepare, signArgs(key, randomDigest(), id, 1, 2))
	assertCode(t, err, wire.CodeBadRequest)
	_, err = c.call(2, wire.MethodPrepare, signArgs(key, randomDigest(), id, 2, 3))
	assertCode(t, err, wire.CodeNotFound)
	_, err = c.call(3, wire.MethodPrepare, wire.PrepareArgs{Session: newID(), Kind: wire.KindPresign, Scheme: key.Scheme, Parties: []protocol.PartyID{2, 3}, KeyID: key.ID, Digest: hex.EncodeToString(randomDigest())})
	assertCode(t, err, wire.CodeBadRequest)
}

// The table: a full table refuses, a key's change drops its presignatures, expired ones are
// not handed out, and a new process clears the binding records of the last one (whose
// presignatures died with it) while keeping everything else.
func TestPresigTable(t *testing.T) {
	st := store.NewMem()
	if err := st.Put(bindingRecord(time.Now(), newID()), []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := st.Put("key/other", []byte("kept")); err != nil {
		t.Fatal(err)
	}
	tab, err := newPresigTable(st, 2, time.Hour, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if names, _ := st.List(prefixPresignUsed); len(names) != 0 {
		t.Fatalf("binding records of an earlier process survived a start: %v", names)
	}
	if _, err := st.Get("key/other"); err != nil {
		t.Fatalf("clearing binding records touched another record: %v", err)
	}
	ids := []wire.SessionID{{1}, {2}, {3}}
	fakes := []*fakePresig{{}, {}, {}}
	for i := range 2 {
		if err := tab.park(ids[i], wire.PrepareArgs{KeyID: "k" + string(rune('a'+i))}, fakes[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := tab.park(ids[2], wire.PrepareArgs{KeyID: "kc"}, fakes[2]); !errors.Is(err, errNotReady) || !fakes[2].discarded {
		t.Fatalf("a full table parked a third presignature (err %v, discarded %v)", err, fakes[2].discarded)
	}
	tab.dropKey(wire.KeyInfo{ID: "ka"})
	if !fakes[0].discarded || fakes[1].discarded || tab.count() != 1 {
		t.Fatalf("dropKey: discarded %v %v, %d left", fakes[0].discarded, fakes[1].discarded, tab.count())
	}
	if _, err := tab.claim(ids[0].String()); !errors.Is(err, errNotFound) {
		t.Fatalf("a dropped presignature was claimed: %v", err)
	}
	tab.parked[ids[1]].created = time.Now().Add(-2 * time.Hour)
	if _, err := tab.claim(ids[1].String()); !errors.Is(err, errNotFound) || !fakes[1].discarded {
		t.Fatalf("an expired presignature was handed out: %v", err)
	}
	old := &claimedPresig{ref: ids[1].String(), p: &parked{created: time.Now().Add(-2 * time.Hour)}}
	recent := &claimedPresig{ref: ids[2].String(), p: &parked{created: time.Now()}}
	if err := tab.recordBindings([]*claimedPresig{old, recent}); err != nil {
		t.Fatal(err)
	}
	if err := tab.pruneBindings(time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	names, _ := st.List(prefixPresignUsed)
	if len(names) != 1 || !strings.HasSuffix(names[0], ids[2].String()) {
		t.Fatalf("after pruning records older than an hour: %v", names)
	}
}

type fakePresig struct{ discarded bool }

func (f *fakePresig) Sign(protocol.SignInput) (protocol.Run, error) { return nil, errors.New("fake") }
func (f *fakePresig) Discard()                                      { f.discarded = true }

// FROST Ed25519 nonce commitments made ahead of time go through the same parking: a presign
// session parks them, a signing that names them binds a message (recorded durably first) and
// runs the one remaining round; crypto/ed25519 verifies; they cannot be used twice.
func TestPresignedEd25519(t *testing.T) {
	c, _ := clusterWithKey(t)
	res, err := c.run(wire.PrepareArgs{Session: newID(), Kind: wire.KindKeygen, Scheme: protocol.SchemeEd25519, Parties: []protocol.PartyID{1, 2, 3}, Threshold: 2, KeyID: newID(), Label: "ed-presign"})
	if err != nil {
		t.Fatal(err)
	}
	key := res[1].Key
	signers := []protocol.PartyID{2, 3}
	id := c.presign(t, key, signers...)
	msg := []byte("a message bound after its nonces were committed")
	args := wire.PrepareArgs{Session: newID(), Kind: wire.KindSign, Scheme: key.Scheme, Parties: signers, KeyID: key.ID, Message: hex.EncodeToString(msg), Presignature: id}
	out, err := c.run(args)
	if err != nil {
		t.Fatalf("signing with presigned nonces: %v", err)
	}
	pub, _ := hex.DecodeString(key.PublicKey)
	for p, r := range out {
		sig, _ := hex.DecodeString(r.Signature)
		if !ed25519.Verify(pub, msg, sig) {
			t.Fatalf("%s: crypto/ed25519 rejects the signature", p)
		}
	}
	for _, p := range signers {
		names, _ := c.stores[p-1].List(prefixPresignUsed)
		if !slicesContainsSuffix(names, "/"+id) {
			t.Fatalf("%s recorded no binding for %s", p, id)
		}
	}
	args.Session = newID()
	_, err = c.call(2, wire.MethodPrepare, args)
	assertCode(t, err, wire.CodeNotFound)
}

// A BIP340 (taproot) presignature parks at each signer, signs one digest bound after its nonces
// were committed (btcec's BIP340 verifier accepts the signature under the key's output key),
// leaves a durable binding record at each signer, and cannot sign again.
func TestPresignedBIP340(t *testing.T) {
	c := newTestCluster(t)
	res, err := c.run(wire.PrepareArgs{Session: newID(), Kind: wire.KindKeygen, Scheme: protocol.SchemeBIP340, Parties: []protocol.PartyID{1, 2, 3}, Threshold: 2, KeyID: newID(), Label: "taproot-presign"})
	if err != nil {
		t.Fatal(err)
	}
	key := res[1].Key
	signers := []protocol.PartyID{1, 3}
	id := c.presign(t, key, signers...)
	digest := randomDigest()
	args := signArgs(key, digest, id, signers...)
	out, err := c.run(args)
	if err != nil {
		t.Fatalf("signing with presigned nonces: %v", err)
	}
	pubBytes, err := hex.DecodeString(key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := schnorr.ParsePubKey(pubBytes)
	if err != nil {
		t.Fatalf("the key's public key %s is not an x-only BIP340 key: %v", key.PublicKey, err)
	}
	if len(out) != len(signers) {
		t.Fatalf("%d results for %d signers", len(out), len(signers))
	}
	for p, r := range out {
		raw, err := hex.DecodeString(r.Signature)
		if err != nil {
			t.Fatalf("%s: signature %q: %v", p, r.Signature, err)
		}
		sig, err := schnorr.ParseSignature(raw)
		if err != nil || !sig.Verify(digest, pub) {
			t.Fatalf("%s: btcec's BIP340 verifier rejects the signature (%v)", p, err)
		}
	}
	for _, p := range signers {
		names, _ := c.stores[p-1].List(prefixPresignUsed)
		if !slicesContainsSuffix(names, "/"+id) {
			t.Fatalf("%s recorded no binding for %s", p, id)
		}
	}
	args.Session = newID()
	_, err = c.call(1, wire.MethodPrepare, args)
	assertCode(t, err, wire.CodeNotFound)
}
