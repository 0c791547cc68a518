package ed25519

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable time source for keyCache.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// cached returns the key the cache holds for share b (not a copy), or nil.
func (c *keyCache) cached(b []byte) *signingKey {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[sha256.Sum256(b)]; e != nil {
		return e.Value.(*cachedKey).key
	}
	return nil
}

func sameKey(a, b *signingKey) bool {
	return a.secret.s.Equal(&b.secret.s) == 1 && a.groupKey == b.groupKey && a.self == b.self && a.threshold == b.threshold
}

func TestKeyCache(t *testing.T) {
	fx := getFixture(t, 3, 2)
	clock := &fakeClock{t: time.Unix(1e9, 0)}
	c := newKeyCache(2, time.Minute, clock.now)

	first, err := c.get(fx.shares[1])
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.get(fx.shares[1])
	if err != nil || c.len() != 1 {
		t.Fatalf("second get: %v, %d entries", err, c.len())
	}
	decoded, err := decodeSigningKey(fx.shares[1])
	if err != nil {
		t.Fatal(err)
	}
	if !sameKey(first, decoded) || !sameKey(again, decoded) || first == again || first.secret == again.secret || first.secret == c.cached(fx.shares[1]).secret {
		t.Fatal("the cache does not hand out independent copies of the decoded key")
	}
	first.wipe() // a run wiping its copy leaves the cache and other runs alone
	if again.secret.IsZero() || c.cached(fx.shares[1]).secret.IsZero() {
		t.Fatal("wiping a copy wiped the cached key")
	}

	t.Run("keyed by every byte", func(t *testing.T) {
		// Another party's share, and the same share with different bytes, are other entries.
		other, err := c.get(fx.shares[2])
		if err != nil || other.self != 2 {
			t.Fatalf("party 2's share gave %v, %v", other, err)
		}
		spaced := append(bytes.Clone(fx.shares[1]), ' ')
		if k, err := c.get(spaced); err != nil || !sameKey(k, decoded) || c.cached(spaced) == nil {
			t.Fatalf("a share with trailing space: %v", err)
		}
	})

	t.Run("invalid shares are never cached", func(t *testing.T) {
		var m map[string]any
		if err := json.Unmarshal(fx.shares[1], &m); err != nil {
			t.Fatal(err)
		}
		m["self"] = 2 // party 1's secret under party 2's name
		swapped, _ := json.Marshal(m)
		for range 2 {
			if _, err := c.get(swapped); err == nil || !strings.Contains(err.Error(), "does not match") {
				t.Fatalf("a share with a swapped party: %v", err)
			}
		}
		if c.cached(swapped) != nil {
			t.Fatal("an invalid share was cached")
		}
		if _, err := c.get(make([]byte, maxShareSize+1)); err == nil {
			t.Fatal("an oversized share decoded")
		}
	})

	t.Run("eviction wipes", func(t *testing.T) {
		c := newKeyCache(2, time.Minute, clock.now)
		for _, p := range fx.parties {
			if _, err := c.get(fx.shares[p]); err != nil {
				t.Fatal(err)
			}
		}
		// Party 1's share was used least recently: get party 2's again, then add party 1's.
		held := c.cached(fx.shares[2])
		evictedNext := c.cached(fx.shares[3])
		if _, err := c.get(fx.shares[2]); err != nil {
			t.Fatal(err)
		}
		if _, err := c.get(fx.shares[1]); err != nil {
			t.Fatal(err)
		}
		if c.len() != 2 || c.cached(fx.shares[3]) != nil || !evictedNext.secret.IsZero() {
			t.Fatalf("the least recently used key was not evicted and wiped (%d entries)", c.len())
		}
		if held.secret.IsZero() || c.cached(fx.shares[2]) != held {
			t.Fatal("a recently used key was evicted")
		}
	})

	t.Run("idle keys expire", func(t *testing.T) {
		c := newKeyCache(8, time.Minute, clock.now)
		if _, err := c.get(fx.shares[1]); err != nil {
			t.Fatal(err)
		}
		idle := c.cached(fx.shares[1])
		clock.advance(time.Minute + time.Second)
		if _, err := c.get(fx.shares[2]); err != nil { // any use of the cache expires idle keys
			t.Fatal(err)
		}
		if c.cached(fx.shares[1]) != nil || !idle.secret.IsZero() || c.len() != 1 {
			t.Fatal("an idle key was kept")
		}
	})

	t.Run("concurrent use", func(t *testing.T) {
		c := newKeyCache(2, time.Minute, clock.now)
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for i := range 64 {
			wg.Go(func() {
				p := fx.parties[i%len(fx.parties)]
				k, err := c.get(fx.shares[p])
				switch {
				case err != nil:
					errs <- err
				case k.self != p || k.secret.IsZero():
					errs <- fmt.Errorf("got %v for party %s", k, p)
				}
				k.wipe()
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	})
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
	c := newKeyCache(4, time.Hour, time.Now)
	f.Fuzz(func(t *testing.T, b []byte) {
		want, wantErr := decodeSigningKey(b)
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
