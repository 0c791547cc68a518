package ed25519

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/mpcsigner/mpcsigner/protocol/protocoltest"
	"github.com/mpcsigner/mpcsigner/protocol/sharecache"
)

// The generic behaviour of the cache (keying, bounds, expiry, Forget, concurrency) is tested in
// package sharecache; these tests check this engine's use of it.

func sameKey(a, b *signingKey) bool {
	return a.secret.s.Equal(&b.secret.s) == 1 && a.groupKey == b.groupKey && a.self == b.self && a.threshold == b.threshold
}

func mustGetKey(t testing.TB, share []byte) *signingKey {
	t.Helper()
	k, err := signingKeys.Get(share)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// clone gives every caller a secret of its own: wiping one copy leaves the cached key and other
// copies alone.
func TestSigningKeysHandOutCopies(t *testing.T) {
	fx := getFixture(t, 3, 2)
	decoded, err := decodeSigningKey(fx.shares[1])
	if err != nil {
		t.Fatal(err)
	}
	first, again := mustGetKey(t, fx.shares[1]), mustGetKey(t, fx.shares[1])
	if !signingKeys.Cached(fx.shares[1]) {
		t.Fatal("the share was not cached")
	}
	if !sameKey(first, decoded) || !sameKey(again, decoded) || first.secret == again.secret {
		t.Fatal("the cache does not hand out independent copies of the decoded key")
	}
	first.wipe()
	if again.secret.IsZero() || !sameKey(mustGetKey(t, fx.shares[1]), decoded) {
		t.Fatal("wiping a copy wiped another copy or the cached key")
	}
}

// A share that decodes but does not check (party 1's secret under party 2's name) fails
// through the cache every time and is never cached.
func TestSigningKeysNeverCacheInvalidShares(t *testing.T) {
	fx := getFixture(t, 3, 2)
	swapped := bytes.Replace(fx.shares[1], []byte(`"self":1,`), []byte(`"self":2,`), 1)
	if bytes.Equal(swapped, fx.shares[1]) {
		t.Fatal("no party number to swap: the share's encoding has changed")
	}
	for range 2 {
		if _, err := signingKeys.Get(swapped); err == nil || !strings.Contains(err.Error(), "does not match") {
			t.Fatalf("a share with a swapped party: %v", err)
		}
	}
	if signingKeys.Cached(swapped) {
		t.Fatal("an invalid share was cached")
	}
}

// When the enclave deletes a key, sharecache.Forget drops its share from this engine's cache;
// a copy a run holds stays intact, and the share, if it is ever given again, is decoded anew
// and signs as before (checked by crypto/ed25519 in signOnce).
func TestForgottenSharesLeaveTheCache(t *testing.T) {
	fx := getFixture(t, 3, 2)
	digest := protocoltest.DigestOf("forgotten")
	signOnce(t, fx, protocoltest.IDs(1, 2), digest)
	held := mustGetKey(t, fx.shares[1])
	if !signingKeys.Cached(fx.shares[1]) {
		t.Fatal("signing did not cache the share")
	}
	sharecache.Forget(fx.shares[1])
	if signingKeys.Cached(fx.shares[1]) {
		t.Fatal("the forgotten share is still cached")
	}
	if held.secret.IsZero() {
		t.Fatal("forgetting the share wiped a copy in use")
	}
	signOnce(t, fx, protocoltest.IDs(1, 2), digest)
}

func TestSigningKeyDoesNotPrintSecret(t *testing.T) {
	fx := getFixture(t, 3, 2)
	k, err := decodeSigningKey(fx.shares[1])
	if err != nil {
		t.Fatal(err)
	}
	secret := fmt.Sprintf("%x", k.secret.s.Bytes())
	for _, s := range []string{k.String(), fmt.Sprintf("%v %+v %#v %s %v %+v", k, k, k, k, *k, *k)} {
		if strings.Contains(s, secret) {
			t.Fatalf("printing the key shows the secret: %s", s)
		}
	}
}

// FuzzSigningKeyCache checks that the cache answers exactly as decoding does, on a miss and on
// the hit that follows it.
func FuzzSigningKeyCache(f *testing.F) {
	fx := getFixture(f, 3, 2)
	for _, s := range fx.shares {
		f.Add(s)
	}
	f.Add([]byte(`{"version":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		want, wantErr := decodeSigningKey(b)
		for range 2 {
			got, err := signingKeys.Get(b)
			if (err == nil) != (wantErr == nil) {
				t.Fatalf("cache: %v, decoding: %v", err, wantErr)
			}
			if err == nil && !sameKey(got, want) {
				t.Fatal("the cache returned another key than decoding")
			}
		}
	})
}
