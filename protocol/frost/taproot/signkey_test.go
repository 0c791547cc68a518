package taproot

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/protocoltest"
)

// cached returns the key the cache holds for share b (not a copy), or nil.
func (c *keyCache) cached(b []byte) *tweakedKey {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[sha256.Sum256(b)]; e != nil {
		return e.Value.(*cachedKey).key
	}
	return nil
}

// wiped reports whether k's secret is zero, read under the cache's lock: the cache wipes
// the keys it drops under it, from its timer's goroutine too.
func (c *keyCache) wiped(k *tweakedKey) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return k.secret.IsZero()
}

// sameKey reports whether two tweaked keys are equal in every field.
func sameKey(a, b *tweakedKey) bool {
	if a.threshold != b.threshold || a.self != b.self || !bytes.Equal(a.outputKey, b.outputKey) ||
		!slices.Equal(a.parties, b.parties) || !a.secret.Equals(b.secret) || len(a.publicShares) != len(b.publicShares) {
		return false
	}
	for id, p := range a.publicShares {
		q, ok := b.publicShares[id]
		if !ok {
			return false
		}
		pb, _ := p.MarshalBinary()
		qb, _ := q.MarshalBinary()
		if !bytes.Equal(pb, qb) {
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

func TestKeyCache(t *testing.T) {
	fx := getFixture(t, 3, 2)
	c := newKeyCache(2, time.Minute)

	first, err := c.get(fx.shares[1])
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.get(fx.shares[1])
	if err != nil || c.len() != 1 {
		t.Fatalf("second get: %v, %d entries", err, c.len())
	}
	decoded := mustTweak(t, fx.shares[1])
	held := c.cached(fx.shares[1])
	if !sameKey(first, decoded) || !sameKey(again, decoded) || first == again || first.secret == again.secret || first.secret == held.secret || again.secret == held.secret {
		t.Fatal("the cache does not hand out independent copies of the decoded key")
	}
	first.wipe() // a run wiping its copy leaves the cache and other runs alone
	if again.secret.IsZero() || held.secret.IsZero() || !sameKey(held, decoded) {
		t.Fatal("wiping a copy wiped the cached key")
	}
}

// TestKeyCacheKeyedByEveryByte changes each byte of a share in turn: the cache must answer
// exactly as decoding the changed bytes does, keep every valid variant as an entry of its
// own, and leave the original entry alone. Flipping 0x20 turns some JSON keys into other
// spellings that encoding/json matches case-insensitively: shares that decode to the very
// same key from other bytes, which must still be other entries.
func TestKeyCacheKeyedByEveryByte(t *testing.T) {
	fx := getFixture(t, 3, 2)
	c := newKeyCache(4096, time.Hour)
	orig := fx.shares[1]
	if _, err := c.get(orig); err != nil {
		t.Fatal(err)
	}
	held := c.cached(orig)
	want := mustTweak(t, orig)
	sameContent := 0
	for i := range orig {
		for _, bit := range []byte{0x01, 0x20} {
			b := bytes.Clone(orig)
			b[i] ^= bit
			dec, decErr := decodeTweakedKey(b)
			got, err := c.get(b)
			switch {
			case (err == nil) != (decErr == nil):
				t.Fatalf("byte %d ^ %#x: cache %v, decoding %v", i, bit, err, decErr)
			case err != nil:
				if err.Error() != decErr.Error() || c.cached(b) != nil {
					t.Fatalf("byte %d ^ %#x: cache %v, decoding %v (cached: %t)", i, bit, err, decErr, c.cached(b) != nil)
				}
			case !sameKey(got, dec) || c.cached(b) == nil || c.cached(b) == held:
				t.Fatalf("byte %d ^ %#x: the variant is not an entry of its own", i, bit)
			case sameKey(got, want):
				sameContent++
			}
		}
	}
	if c.cached(orig) != held || !sameKey(held, want) {
		t.Fatal("the original entry changed")
	}
	if sameContent == 0 {
		t.Fatal("no variant decoded to the same key: the test does not exercise byte keying")
	}
	t.Logf("%d variants decode to the same key under other bytes", sameContent)
}

func TestKeyCacheNeverCachesInvalidShares(t *testing.T) {
	fx := getFixture(t, 3, 2)
	c := newKeyCache(8, time.Minute)
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
				if _, err := c.get(tc.b); err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("get = %v, want an error containing %q", err, tc.want)
				}
			}
			if c.len() != 0 {
				t.Fatal("an invalid share was cached")
			}
		})
	}
}

func TestKeyCacheEvictionWipes(t *testing.T) {
	fx := getFixture(t, 3, 2)
	c := newKeyCache(2, time.Minute)
	copies := map[protocol.PartyID]*tweakedKey{}
	for _, p := range protocoltest.IDs(1, 2) {
		k, err := c.get(fx.shares[p])
		if err != nil {
			t.Fatal(err)
		}
		copies[p] = k
	}
	// Party 1's share was used least recently: use it again, so that party 3's evicts party 2's.
	kept, evicted := c.cached(fx.shares[1]), c.cached(fx.shares[2])
	if _, err := c.get(fx.shares[1]); err != nil {
		t.Fatal(err)
	}
	if _, err := c.get(fx.shares[3]); err != nil {
		t.Fatal(err)
	}
	if c.len() != 2 || c.cached(fx.shares[2]) != nil || !evicted.secret.IsZero() {
		t.Fatalf("the least recently used key was not evicted and wiped (%d entries)", c.len())
	}
	if kept.secret.IsZero() || c.cached(fx.shares[1]) != kept {
		t.Fatal("a recently used key was evicted")
	}
	if copies[2].secret.IsZero() || !sameKey(copies[2], mustTweak(t, fx.shares[2])) {
		t.Fatal("evicting a key wiped a copy a run holds")
	}
}

// TestKeyCacheIdleExpiry checks that keys unused for the idle time are dropped and wiped by
// the cache's timer, with no further use of the cache, and that a use postpones it.
func TestKeyCacheIdleExpiry(t *testing.T) {
	fx := getFixture(t, 3, 2)
	synctest.Test(t, func(t *testing.T) {
		c := newKeyCache(8, time.Minute)
		for _, p := range protocoltest.IDs(1, 2) {
			if _, err := c.get(fx.shares[p]); err != nil {
				t.Fatal(err)
			}
		}
		one, two := c.cached(fx.shares[1]), c.cached(fx.shares[2])
		time.Sleep(40 * time.Second)
		if _, err := c.get(fx.shares[2]); err != nil { // party 2's key is used again
			t.Fatal(err)
		}
		time.Sleep(21 * time.Second) // 61 s after party 1's key was last used
		synctest.Wait()
		if c.cached(fx.shares[1]) != nil || !c.wiped(one) {
			t.Fatal("a key idle for the idle time was kept")
		}
		if c.cached(fx.shares[2]) != two || c.wiped(two) {
			t.Fatal("a key used within the idle time was dropped")
		}
		time.Sleep(40 * time.Second) // 61 s after party 2's key was last used
		synctest.Wait()
		if c.len() != 0 || !c.wiped(two) {
			t.Fatal("the last key outlived its idle time")
		}
	})
}

// TestKeyCacheConcurrentUse has many goroutines get keys from a cache too small for them, so
// that evictions run while other goroutines hold and use copies (run it with -race).
func TestKeyCacheConcurrentUse(t *testing.T) {
	fx := getFixture(t, 3, 2)
	want := map[protocol.PartyID]*tweakedKey{}
	for _, p := range protocoltest.IDs(1, 2, 3) {
		want[p] = mustTweak(t, fx.shares[p])
	}
	c := newKeyCache(2, time.Minute)
	var wg sync.WaitGroup
	errs := make(chan error, 96)
	for i := range 96 {
		wg.Go(func() {
			p := protocol.PartyID(i%3 + 1)
			k, err := c.get(fx.shares[p])
			if err != nil {
				errs <- err
				return
			}
			if !sameKey(k, want[p]) {
				errs <- fmt.Errorf("got %v for party %s", k, p)
			}
			k.wipe()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if c.len() > 2 {
		t.Fatalf("%d entries in a cache of 2", c.len())
	}
}

// TestSignRunsUseCopies checks that a signing run takes its key from the package's cache, as a
// copy of its own: the run wipes its copy when it ends, the cached key stays, and a signature
// made from a cache hit verifies with btcec.
func TestSignRunsUseCopies(t *testing.T) {
	fx := getFixture(t, 3, 2)
	digest := protocoltest.DigestOf("cached")
	btcecVerify(t, fx.publicKey, digest, signOnce(t, fx, protocoltest.IDs(1, 3), digest)) // fills the cache
	held := tweakedKeys.cached(fx.shares[1])
	if held == nil {
		t.Fatal("signing did not cache the key")
	}
	runs := signRuns(t, fx.shares, protocoltest.IDs(1, 3), digest, newNonce(t))
	r := runs[1].(*signRun)
	if r.key.secret == held.secret || !sameKey(r.key, held) {
		t.Fatal("the run does not hold its own copy of the cached key")
	}
	for p, res := range execute(t, runs, nil) {
		if res.Err != nil {
			t.Fatalf("%s: %v", p, res.Err)
		}
		btcecVerify(t, fx.publicKey, digest, res.Signature.Encoded)
	}
	if !r.key.secret.IsZero() || tweakedKeys.wiped(held) || tweakedKeys.cached(fx.shares[1]) != held {
		t.Fatal("the run's end wiped the cached key, or not its own")
	}
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
	c := newKeyCache(4, time.Hour)
	f.Fuzz(func(t *testing.T, b []byte) {
		want, wantErr := decodeTweakedKey(b)
		for range 2 {
			got, err := c.get(b)
			if (err == nil) != (wantErr == nil) {
				t.Fatalf("cache: %v, decoding: %v", err, wantErr)
			}
			if err == nil && !sameKey(got, want) {
				t.Fatal("the cache returned another key than decoding")
			}
		}
	})
}
