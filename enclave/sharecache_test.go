package enclave

import (
	"crypto/rand"
	"errors"
	"testing"

	"github.com/mpcsigner/mpcsigner/enclave/store"
	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/frost/ed25519"
	"github.com/mpcsigner/mpcsigner/protocol/frost/taproot"
	"github.com/mpcsigner/mpcsigner/protocol/protocoltest"
	"github.com/mpcsigner/mpcsigner/protocol/sharecache"
)

// A signing leaves the key's decoded share in its engine's cache; keys.delete removes it at
// once instead of leaving it to idle out.
func TestKeyDeletionForgetsCachedShares(t *testing.T) {
	for _, eng := range []protocol.Engine{ed25519.Engine{}, taproot.Engine{}} {
		t.Run(string(eng.Scheme()), func(t *testing.T) {
			k := &keyring{st: store.NewMem()}
			rec := testRecord("cached", eng.Scheme())
			rec.Share = frostShare(t, eng)
			if err := k.save(rec); err != nil {
				t.Fatal(err)
			}
			run, err := eng.Sign(protocol.SignParams{Self: 1, Signers: protocoltest.IDs(1, 2), Share: rec.Share,
				Digest: protocoltest.DigestOf("cache me"), SessionNonce: randomBytes(32)})
			if err != nil {
				t.Fatal(err)
			}
			run.Abort(errors.New("the test needs only the decoded share"))
			if !sharecache.Cached(rec.Share) {
				t.Fatal("starting a signing did not cache the share: this test would show nothing")
			}
			if deleted, err := k.delete(rec.Info.ID); err != nil || !deleted {
				t.Fatalf("delete: %v, %v", deleted, err)
			}
			if sharecache.Cached(rec.Share) {
				t.Fatal("the deleted key's share is still cached")
			}
		})
	}
}

// frostShare runs a 2-of-3 key generation of eng and returns party 1's share.
func frostShare(t *testing.T, eng protocol.Engine) []byte {
	t.Helper()
	parties, nonce := protocoltest.IDs(1, 2, 3), randomBytes(32)
	runs := map[protocol.PartyID]protocol.Run{}
	for _, p := range parties {
		r, err := eng.Keygen(protocol.KeygenParams{Self: p, Parties: parties, Threshold: 2, SessionNonce: nonce})
		if err != nil {
			t.Fatal(err)
		}
		runs[p] = r
	}
	res := protocoltest.Execute(t, runs, nil)[1]
	if res.Err != nil || res.Keygen == nil {
		t.Fatalf("keygen: %+v", res)
	}
	return res.Keygen.Share
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}
