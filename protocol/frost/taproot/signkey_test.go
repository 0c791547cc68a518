package taproot

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/protocoltest"
	"github.com/mpcsigner/mpcsigner/protocol/sharecache"
)

// The generic behaviour of the cache (keying, bounds, expiry, Forget, concurrency) is tested in
// package sharecache; these tests check this engine's use of it.

// sameKey reports whether two tweaked keys are equal in every field.
func sameKey(a, b *tweakedKey) bool {
	if a.threshold != b.threshold || a.self != b.self || !bytes.Equal(a.outputKey, b.outputKey) ||
		!slices.Equal(a.parties, b.parties) || !a.secret.Equals(b.secret) || len(a.publicShares) != len(b.publicShares) {
		return false
	}
	for i, p := range a.publicShares {
		if !pointsEqual(p, b.publicShares[i]) {
			return false
		}
	}
	return true
}

// mustTweak decodes share b without the cache.
func mustTweak(t testing.TB, b []byte) *tweakedKey {
	t.Helper()
	k, err := decodeTweakedKey(b)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// clone gives every caller a secret of its own: wiping one copy leaves the cached key and other
// copies alone.
func TestTweakedKeysHandOutCopies(t *testing.T) {
	fx := getFixture(t, 3, 2)
	decoded := mustTweak(t, fx.shares[1])
	first, again := mustGetTweaked(t, fx.shares[1]), mustGetTweaked(t, fx.shares[1])
	if !tweakedKeys.Cached(fx.shares[1]) {
		t.Fatal("the share was not cached")
	}
	if !sameKey(first, decoded) || !sameKey(again, decoded) || first.secret == again.secret {
		t.Fatal("the cache does not hand out independent copies of the decoded key")
	}
	first.wipe()
	if again.secret.IsZero() || !sameKey(mustGetTweaked(t, fx.shares[1]), decoded) {
		t.Fatal("wiping a copy wiped another copy or the cached key")
	}
}

func mustGetTweaked(t testing.TB, share []byte) *tweakedKey {
	t.Helper()
	k, err := tweakedKeys.Get(share)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Shares that do not decode give decoding's error through the cache, every time, and are
// never cached.
func TestTweakedKeysNeverCacheInvalidShares(t *testing.T) {
	fx := getFixture(t, 3, 2)
	var m map[string]any
	if err := json.Unmarshal(fx.shares[1], &m); err != nil {
		t.Fatal(err)
	}
	m["self"] = 2 // party 1's secret under party 2's name
	swapped, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"another party's name", swapped, "does not match"},
		{"empty", nil, "empty"},
		{"oversized", make([]byte, maxShareSize+1), "too large"},
		{"truncated", fx.shares[1][:len(fx.shares[1])-1], "truncated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range 2 {
				if _, err := tweakedKeys.Get(tc.b); err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("Get = %v, want an error containing %q", err, tc.want)
				}
			}
			if tweakedKeys.Cached(tc.b) {
				t.Fatal("an invalid share was cached")
			}
		})
	}
}

// TestSignRunsUseCopies checks that a signing run takes its key from the package's cache, as a
// copy of its own that it wipes when it ends, leaving the cached key whole for the next run; a
// signature made from a cache hit verifies with btcec.
func TestSignRunsUseCopies(t *testing.T) {
	fx := getFixture(t, 3, 2)
	digest := protocoltest.DigestOf("cached")
	btcecVerify(t, fx.publicKey, digest, signOnce(t, fx, protocoltest.IDs(1, 3), digest)) // fills the cache
	if !tweakedKeys.Cached(fx.shares[1]) {
		t.Fatal("signing did not cache the key")
	}
	runs := signRuns(t, fx.shares, protocoltest.IDs(1, 3), digest, newNonce(t))
	r := runs[1].(*signRun)
	other := mustGetTweaked(t, fx.shares[1])
	if r.key.secret == other.secret || !sameKey(r.key, other) {
		t.Fatal("the run does not hold its own copy of the cached key")
	}
	for p, res := range execute(t, runs, nil) {
		if res.Err != nil {
			t.Fatalf("%s: %v", p, res.Err)
		}
		btcecVerify(t, fx.publicKey, digest, res.Signature.Encoded)
	}
	if !r.key.secret.IsZero() || other.secret.IsZero() || !sameKey(mustGetTweaked(t, fx.shares[1]), mustTweak(t, fx.shares[1])) {
		t.Fatal("the run's end wiped the cached key or another copy, or not its own")
	}
}

// When the enclave deletes a key, sharecache.Forget drops its share from this engine's cache;
// a copy a run holds stays intact, and the share, if it is ever given again, is decoded anew
// and signs as before.
func TestForgottenSharesLeaveTheCache(t *testing.T) {
	fx := getFixture(t, 3, 2)
	digest := protocoltest.DigestOf("forgotten")
	btcecVerify(t, fx.publicKey, digest, signOnce(t, fx, protocoltest.IDs(1, 2), digest))
	held := mustGetTweaked(t, fx.shares[1])
	sharecache.Forget(fx.shares[1])
	if tweakedKeys.Cached(fx.shares[1]) {
		t.Fatal("the forgotten share is still cached")
	}
	if held.secret.IsZero() {
		t.Fatal("forgetting the share wiped a copy in use")
	}
	btcecVerify(t, fx.publicKey, digest, signOnce(t, fx, protocoltest.IDs(1, 2), digest))
}

func TestTweakedKeyDoesNotPrintSecret(t *testing.T) {
	fx := getFixture(t, 3, 2)
	k := mustTweak(t, fx.shares[1])
	b := k.secret.Bytes()
	secret := fmt.Sprintf("%x", b[:])
	for _, s := range []string{k.String(), fmt.Sprintf("%v %+v %#v %s %v %+v", k, k, k, k, *k, *k)} {
		if strings.Contains(s, secret) {
			t.Fatalf("printing the key shows the secret: %s", s)
		}
	}
}

// FuzzTweakedKeyCache checks that the cache answers exactly as decoding does, on a miss and on
// the hit that follows it.
func FuzzTweakedKeyCache(f *testing.F) {
	fx := getFixture(f, 3, 2)
	for _, s := range fx.shares {
		f.Add(s)
	}
	f.Add([]byte(`{"version":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		want, wantErr := decodeTweakedKey(b)
		for range 2 {
			got, err := tweakedKeys.Get(b)
			if (err == nil) != (wantErr == nil) {
				t.Fatalf("cache: %v, decoding: %v", err, wantErr)
			}
			if err == nil && !sameKey(got, want) {
				t.Fatal("the cache returned another key than decoding")
			}
		}
	})
}

// TestTweakedPublicShares checks that every holder's tweaked public share Q_m is derived as its
// secret share q_m = ±(x_m + t) is: q_m·G = Q_m for every party's own key, and any threshold of
// the Q_m interpolate to the output key with its even y (lift_x of the reported key, computed by
// btcec's BIP340 parser), which is what the shortcut in finishLocked and every share check
// rely on.
func TestTweakedPublicShares(t *testing.T) {
	for _, tc := range []struct{ n, threshold int }{{3, 2}, {5, 3}} {
		fx := getFixture(t, tc.n, tc.threshold)
		keys := make(map[protocol.PartyID]*tweakedKey, tc.n)
		for p, enc := range fx.shares {
			k := mustTweak(t, enc)
			defer k.wipe()
			keys[p] = k
			if !pointsEqual(mulBase(k.secret), k.publicShare(p)) {
				t.Fatalf("%d-of-%d: %s: q·G is not the tweaked public share", tc.threshold, tc.n, p)
			}
		}
		pk, err := schnorr.ParsePubKey(fx.publicKey)
		if err != nil {
			t.Fatal(err)
		}
		var want btcec.JacobianPoint
		pk.AsJacobian(&want)
		for _, signers := range combinations(tc.n, tc.threshold) {
			points := make([]*btcec.JacobianPoint, len(signers))
			for i, p := range signers {
				points[i] = keys[1].publicShare(p) // party 1's view of every share
				if !pointsEqual(points[i], keys[p].publicShare(p)) {
					t.Fatalf("parties 1 and %s disagree on the tweaked public share of %s", p, p)
				}
			}
			got, err := interpolate(signers, points, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !pointsEqual(got, &want) {
				t.Fatalf("%d-of-%d: the tweaked public shares of %v do not interpolate to the output key", tc.threshold, tc.n, signers)
			}
		}
	}
}
